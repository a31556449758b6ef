"""Turn catalog rows into the text a ranker reads."""

from __future__ import annotations

from typing import Any, Mapping

from shoprank.core.data.schema import parse_attributes

DESCRIPTION_CHARS = 200
FIELD_SEPARATOR = " | "


def product_text(product: Mapping[str, Any], price_note: str | None = None, description: bool = True) -> str:
    """One line per product: title | brand | category | price | attributes | start of description.

    Title first, since a cross-encoder truncates from the end. Fields that are null or blank are
    left out (brand, category, price, attributes and description are nullable). price_note: a
    price verdict written in brackets after the price (core/text/price_fit.py); description=False
    leaves the description out (the product's fields alone, e.g. to count their tokens).
    """
    parts = [str(product["title"]).strip()]
    if is_present(product.get("brand")):
        parts.append(f"brand: {product['brand']}")
    if is_present(product.get("category")):
        parts.append(f"category: {product['category']}")
    if is_present(product.get("price")):
        parts.append(f"price: ${float(product['price']):.2f}" + (f" ({price_note})" if price_note else ""))
    attributes = parse_attributes(product.get("attributes"))
    if attributes:
        parts.append(", ".join(f"{k}: {v}" for k, v in sorted(attributes.items())))
    if description and is_present(product.get("description")):
        parts.append(str(product["description"])[:DESCRIPTION_CHARS])
    return FIELD_SEPARATOR.join(parts)


def is_present(value: Any) -> bool:
    """False for None, NaN, pandas' NA and blank strings: a nullable field with nothing in it."""
    if value is None:
        return False
    try:
        if value != value:  # pandas.NA compares as NA, numpy NaN as False
            return False
    except TypeError:  # pandas.NA cannot be a truth value
        return False
    return str(value).strip() != ""
