"""Turn catalog rows into the text a ranker reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from shoprank.core.data.schema import parse_attributes

DESCRIPTION_CHARS = 200
# How product_text writes these fields; read_product_text finds them by these.
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


_PRICE_DIGITS = re.compile(r"\d+(?:\.\d+)?")
# A labelled part ("brand: Acme", "color: navy, size: M") starts with a short key and ": ".
_LABELLED_PART = re.compile(r"[^\s:|][^:|]{0,30}: ")


def description_start(text: str) -> int:
    """Where the free-text description starts in a product text (its length when there is none).

    product_text writes the description last and unlabelled; a last part that starts like a
    labelled field counts as a field, so a doubtful part is kept with the fields.
    """
    parts = str(text).split(FIELD_SEPARATOR)
    if len(parts) < 2 or _LABELLED_PART.match(parts[-1]):
        return len(text)
    return len(text) - len(parts[-1]) - len(FIELD_SEPARATOR)


@dataclass(frozen=True)
class ProductFields:
    """The fields of a product text that pair formatting reads (price verdicts, spelling notes)."""

    title: str
    brand: str | None = None
    category: str | None = None
    price: float | None = None
    price_end: int | None = None  # where the price's digits end in the text: a verdict goes there


def read_product_text(text: str) -> ProductFields:
    """Read back the title, brand, category and price that product_text wrote.

    The title is the first part; each other field is the first part that starts with its label.
    """
    parts = str(text).split(FIELD_SEPARATOR)
    found: dict[str, Any] = {}
    start = len(parts[0]) + len(FIELD_SEPARATOR)
    for part in parts[1:]:
        if part.startswith(BRAND_FIELD):
            found.setdefault("brand", part[len(BRAND_FIELD):].strip())
        elif part.startswith(CATEGORY_FIELD):
            found.setdefault("category", part[len(CATEGORY_FIELD):].strip())
        elif part.startswith(PRICE_FIELD) and "price" not in found:
            digits = _PRICE_DIGITS.match(part, len(PRICE_FIELD))
            if digits is not None:
                found["price"], found["price_end"] = float(digits.group()), start + digits.end()
        start += len(part) + len(FIELD_SEPARATOR)
    return ProductFields(title=parts[0], **found)
