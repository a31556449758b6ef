import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.text.price_fit import (BELOW, CATEGORY_PRICE_VERDICTS, HIGH_THIRD, LIMIT_VERDICTS, LOW_THIRD,
                                     MID_THIRD, OVER, PRICE_VERDICT_VERSION, WITHIN, PriceLimit,
                                     asks_for_low_price, price_limit, with_price_verdict, with_price_verdicts)
from shoprank.core.text.product_text import product_text


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


@pytest.mark.parametrize("query, asks", [
    ("cheap mug", True), ("Cheapest running shoes", True), ("affordable sofa", True), ("budget laptop", True),
    ("low-cost headphones", True), ("inexpensive desk lamp", True),
    ("cheaper than $50 mug", False),  # a named limit is compared with the limit instead
    ("cheap mug under $10", False), ("red mug", False), ("cheapskate gift", False),
])
def test_asks_for_low_price(query, asks):
    assert asks_for_low_price(query) is asks


def _candidate(title: str, category: str | None, price: float | None) -> str:
    return product_text({"title": title, "category": category, "price": price})


_LIP_BALMS = [_candidate("Chap Stick Lip Balm", "Beauty > Lips", 3.0),
              _candidate("Cherry Lip Balm", "Beauty > Lips", 6.0)]
_MUGS = [_candidate("Stoneware Mug", "Home > Mugs", 12.0), _candidate("Glass Mug", "Home > Mugs", 4.0)]


@pytest.mark.parametrize("query, candidates, asks", [
    ("chep mug", _MUGS, True), ("cheep mug", _MUGS, True), ("chaep mug", _MUGS, True), ("cheapp mug", _MUGS, True),
    ("afordable mug", _MUGS, True), ("budgte mug", _MUGS, True), ("inexpnsive mug", _MUGS, True),
    ("bargian mug", _MUGS, True), ("cheapets mug", _MUGS, True),
    ("chep mug under $10", _MUGS, False),            # a named limit still wins
    ("expensive mug", _MUGS, False),                  # "inexpensive" without its first letters is its opposite
    ("heap of mugs", _MUGS, False),                   # a typo keeps the first letter
    ("chest mug", _MUGS, False), ("chip mug", _MUGS, False),   # two edits from "cheap"
    ("chap stick", _LIP_BALMS, False),               # a word the candidates contain is no typo
])
def test_misspelt_low_price_words_count_unless_the_candidates_contain_them(query, candidates, asks):
    assert asks_for_low_price(query, candidates) is asks
    assert asks_for_low_price(query) is False  # without candidates only the words as spelt count


def test_misspelt_low_price_words_get_verdicts_from_version_3():
    queries = ["chep mug"] * len(_MUGS)
    assert [_verdict(t) for t in with_price_verdicts(queries, _MUGS)] == [HIGH_THIRD, LOW_THIRD]
    assert with_price_verdicts(queries, _MUGS, CATEGORY_PRICE_VERDICTS) == _MUGS  # models trained before read none
    assert PRICE_VERDICT_VERSION == 3


def test_cheap_queries_place_each_price_among_its_category_candidates():
    candidates = [_candidate("Mug A", "Home > Mugs", 20.0), _candidate("Sofa A", "Home > Sofas", 900.0),
                  _candidate("Mug B", "Home > Mugs", 5.0), _candidate("Mug C", "Home > Mugs", 10.0),
                  _candidate("Sofa B", "Home > Sofas", 300.0), _candidate("Lamp", "Home > Lamps", 1.0),
                  _candidate("Mug D", "Home > Mugs", None)]
    queries = ["cheap mug"] * len(candidates)
    out = with_price_verdicts(queries, candidates)
    # A $300 sofa is the cheap one among sofas, though it costs 15 times the dearest mug.
    assert [_verdict(t) for t in out] == [HIGH_THIRD, HIGH_THIRD, LOW_THIRD, MID_THIRD, LOW_THIRD, None, None]
    assert out[2] == f"Mug B | category: Home > Mugs | price: $5.00 ({LOW_THIRD})"
    # The order candidates arrive in changes nothing.
    order = [6, 3, 0, 5, 2, 4, 1]
    assert with_price_verdicts([queries[i] for i in order], [candidates[i] for i in order]) == [out[i] for i in order]
    # Another query's candidates are another list, even in the same call.
    mixed = with_price_verdicts(["cheap mug", "cheap mug", "cheap cup"], [candidates[0], candidates[2], candidates[3]])
    assert [_verdict(t) for t in mixed] == [HIGH_THIRD, LOW_THIRD, None]
    assert with_price_verdicts(["red mug"] * len(candidates), candidates) == candidates


def test_verdict_versions_select_which_verdicts_are_written():
    queries = ["cheap mug", "cheap mug", "mug under $8"]
    texts = [_candidate("Mug A", "Home > Mugs", 20.0), _candidate("Mug B", "Home > Mugs", 5.0),
             _candidate("Mug C", "Home > Mugs", 10.0)]
    assert with_price_verdicts(queries, texts, 0) == texts
    assert with_price_verdicts(queries, texts, LIMIT_VERDICTS) == texts[:2] + [with_price_verdict(queries[2], texts[2])]
    latest = with_price_verdicts(queries, texts, PRICE_VERDICT_VERSION)
    assert [_verdict(t) for t in latest] == [HIGH_THIRD, LOW_THIRD, OVER]
    with pytest.raises(ConfigError, match=f"from 0 to {PRICE_VERDICT_VERSION}, got {PRICE_VERDICT_VERSION + 1}"):
        with_price_verdicts(queries, texts, PRICE_VERDICT_VERSION + 1)


def _verdict(text: str) -> str | None:
    known = (LOW_THIRD, MID_THIRD, HIGH_THIRD, WITHIN, OVER, BELOW)
    return next((v for v in known if f"({v})" in text), None)
