"""Product texts: what product_text writes, read_product_text reads back."""

import pytest

from shoprank.core.text.product_text import ProductFields, description_start, product_text, read_product_text


def test_fields_read_back_with_the_price_position():
    text = product_text({"title": "Linen Tee", "brand": "Acme", "category": "Apparel > Tops", "price": 45.5,
                         "attributes": '{"color": "red"}', "description": "Soft linen."})
    fields = read_product_text(text)
    assert fields == ProductFields(title="Linen Tee", brand="Acme", category="Apparel > Tops", price=45.5,
                                   price_end=text.index("45.50") + len("45.50"))


@pytest.mark.parametrize("product, expected", [
    ({"title": "Mug"}, ProductFields(title="Mug")),
    ({"title": "Mug", "brand": None, "category": "", "price": float("nan")}, ProductFields(title="Mug")),
    # Labels inside the title, or attributes that happen to start like a field, are not fields.
    ({"title": "Gift card price: $5", "price": 20.0}, ProductFields(title="Gift card price: $5", price=20.0)),
    ({"title": "Tee", "brand": "Acme", "attributes": '{"brand": "Other"}'}, ProductFields(title="Tee", brand="Acme")),
    ({"title": "Tee", "category": " Apparel > Tops "}, ProductFields(title="Tee", category="Apparel > Tops")),
])
def test_missing_and_lookalike_fields(product, expected):
    text = product_text(product)
    fields = read_product_text(text)
    assert (fields.title, fields.brand, fields.category, fields.price) == (
        expected.title, expected.brand, expected.category, expected.price)
    if fields.price is not None:
        assert text[: fields.price_end].endswith(f"{fields.price:.2f}")


@pytest.mark.parametrize("product, description", [
    ({"title": "Linen Tee", "brand": "Acme", "price": 9.0, "attributes": '{"color": "red"}',
      "description": "Soft linen, cut loose."}, "Soft linen, cut loose."),
    ({"title": "Linen Tee", "price": 9.0, "description": "Soft."}, "Soft."),
    ({"title": "Linen Tee", "price": 9.0, "attributes": '{"color": "red"}'}, ""),
    ({"title": "Linen Tee", "brand": "Acme"}, ""),
    ({"title": "Linen Tee"}, ""),
    # A description that opens like a labelled field stays with the fields: the safe side.
    ({"title": "Linen Tee", "description": "Care: wash cold."}, ""),
])
def test_description_start_splits_the_free_text_off(product, description):
    text = product_text(product)
    start = description_start(text)
    assert text[start:].removeprefix(" | ") == description
    assert text[:start] == (text[: -len(description) - 3] if description else text)
