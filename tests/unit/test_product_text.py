"""Product texts: what product_text writes from a product's fields, and what it leaves out."""

import pytest

from shoprank.core.text.product_text import is_present, product_text

LINEN_TEE = {"title": " Linen Tee ", "brand": "Acme", "category": "Apparel > Tops", "price": 45.5,
             "attributes": '{"size": "M", "color": "red"}', "description": "Soft linen. " * 30}


def test_fields_in_order_title_first():
    text = product_text(LINEN_TEE)
    assert text.startswith("Linen Tee | brand: Acme | category: Apparel > Tops | price: $45.50 | color: red, size: M | ")
    assert text.endswith(("Soft linen. " * 30)[:200])  # the start of the description only


def test_price_note_goes_after_the_price_and_description_can_be_left_out():
    assert "price: $45.50 (over budget) | color" in product_text(LINEN_TEE, price_note="over budget")
    assert product_text(LINEN_TEE, description=False) == (
        "Linen Tee | brand: Acme | category: Apparel > Tops | price: $45.50 | color: red, size: M")
    # Without a price there is nowhere to put a note.
    assert product_text({"title": "Mug"}, price_note="over budget") == "Mug"


@pytest.mark.parametrize("product", [
    {"title": "Mug"},
    {"title": "Mug", "brand": None, "category": "", "price": float("nan"), "attributes": None, "description": "  "},
])
def test_null_and_blank_fields_are_left_out(product):
    assert product_text(product) == "Mug"


@pytest.mark.parametrize("value, present", [
    (None, False), (float("nan"), False), ("", False), ("  ", False), ("x", True), (0.0, True), (12.5, True),
])
def test_is_present(value, present):
    import pandas as pd

    assert is_present(value) is present
    assert is_present(pd.NA) is False
