"""Turn catalog rows into the text a ranker reads."""

from __future__ import annotations

from typing import Any, Mapping

from .schema import parse_attributes

DESCRIPTION_CHARS = 200
# How product_text writes these fields; price_fit and query_spelling find them by these.
PRICE_FIELD = "price: $"
CATEGORY_FIELD = "category: "
BRAND_FIELD = "brand: "
FIELD_SEPARATOR = " | "


def product_text(product: Mapping[str, Any]) -> str:
    """One line per product: title | brand | category | attributes | start of description.

    Title first, since a cross-encoder truncates from the end.
    """
    parts = [str(product["title"]).strip()]
    if _present(product.get("brand")):
        parts.append(f"{BRAND_FIELD}{product['brand']}")
    if _present(product.get("category")):
        parts.append(f"{CATEGORY_FIELD}{product['category']}")
    if _present(product.get("price")):
        parts.append(f"{PRICE_FIELD}{float(product['price']):.2f}")
    attributes = parse_attributes(product.get("attributes"))
    if attributes:
        parts.append(", ".join(f"{k}: {v}" for k, v in sorted(attributes.items())))
    if _present(product.get("description")):
        parts.append(str(product["description"])[:DESCRIPTION_CHARS])
    return FIELD_SEPARATOR.join(parts)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and value != value) and str(value).strip() != ""
