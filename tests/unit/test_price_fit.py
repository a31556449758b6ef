import pytest

from shoprank.core.price_fit import BELOW, OVER, WITHIN, PriceLimit, price_limit, with_price_verdict
from shoprank.core.text import product_text


@pytest.mark.parametrize("query, low, high", [
    ("red shirt under $40", None, 40.0),
    ("Shoes UNDER 40", None, 40.0),            # a bare number at the end is a price
    ("rug over 100 dollars", 100.0, None),
    ("sofa under $1,200", None, 1200.0),
    ("bag < $29.99", None, 29.99),
    ("lamp max $40", None, 40.0),
    ("tent less than 200", None, 200.0),
    ("tv between $200 and $350.50", 200.0, 350.5),
    ("lamp $50-$20", 20.0, 50.0),               # a reversed range is still a range
    ("lamp $20 to 50", 20.0, 50.0),
    ("desk from $100 under $300", 100.0, 300.0),
    ("denim jeans undeer $120", None, 120.0),   # one typo in a long limit word
    ("mug bleow $15", None, 15.0),
    ("hat udner 20", None, 20.0),
])
def test_price_limit_reads_common_phrasings(query, low, high):
    assert price_limit(query) == PriceLimit(low, high)


@pytest.mark.parametrize("query", ["cheap desk", "under 40 inch tv", "size 8-10 boots", "kids shoes 4-6",
                                   "over ear headphones", "iphone 15", "phone cover $20", "order $20",
                                   "wonder woman mug $20", "gifts for women over 50", "nike air max 90",
                                   "calendar from 2020"])
def test_price_limit_ignores_numbers_that_are_not_prices(query):
    assert price_limit(query) is None


def test_verdict_compares_the_product_price_with_the_limit():
    text = product_text({"title": "Linen Tee", "brand": "Acme", "category": "Apparel > Tops", "price": 45.99,
                         "attributes": '{"color": "red"}', "description": "A tee."})
    assert "price: $45.99 (over budget) | " in with_price_verdict("red tee under $40", text)
    assert f"price: $45.99 ({WITHIN})" in with_price_verdict("tee under $50", text)
    assert f"price: $45.99 ({BELOW})" in with_price_verdict("tee over $60", text)
    assert with_price_verdict("red tee", text) == text
    assert OVER == "over budget"


def test_verdict_leaves_text_without_a_price_alone():
    text = product_text({"title": "Linen Tee", "price": None})
    assert with_price_verdict("tee under $40", text) == text == "Linen Tee"
