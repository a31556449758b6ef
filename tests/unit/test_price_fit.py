import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.text.price_fit import (BELOW, CATEGORY_PRICE_VERDICTS, HIGH_THIRD, LIMIT_VERDICTS, LOW_THIRD,
                                          MID_THIRD, OVER, PRICE_VERDICT_VERSION, WITHIN, PriceLimit,
                                          asks_for_low_price, price_limit, price_verdicts)


@pytest.mark.parametrize("query, low, high", [
    ("red shirt under $40", None, 40.0),
    ("Shoes UNDER 40", None, 40.0),            # a bare number at the end is a price
    ("rug over 100 dollars", 100.0, None),
    ("sofa under $1,200", None, 1200.0),
    ("bag < $29.99", None, 29.99),
    ("bag <= $29", None, 29.0),
    ("lamp max $40", None, 40.0),
    ("lamp maximum £40", None, 40.0),
    ("tent less than 200", None, 200.0),
    ("tv between $200 and $350.50", 200.0, 350.5),
    ("lamp $50-$20", 20.0, 50.0),               # a reversed range is still a range
    ("lamp $20 to 50", 20.0, 50.0),
    ("desk from $100 under $300", 100.0, 300.0),
    ("denim jeans undeer $120", None, 120.0),   # one typo in a long limit word
    ("mug bleow $15", None, 15.0),
    ("hat udner 20", None, 20.0),
    ("boots at least 80 euros", 80.0, None),
])
def test_price_limit_reads_common_phrasings(query, low, high):
    assert price_limit(query) == PriceLimit(low, high)


@pytest.mark.parametrize("query", ["cheap desk", "under 40 inch tv", "size 8-10 boots", "kids shoes 4-6",
                                   "over ear headphones", "iphone 15", "phone cover $20", "order $20",
                                   "wonder woman mug $20", "gifts for women over 50", "nike air max 90",
                                   "calendar from 2020"])
def test_price_limit_ignores_numbers_that_are_not_prices(query):
    assert price_limit(query) is None


@pytest.mark.parametrize("locale, read", [
    (None, True), ("en_US", True), ("en-GB", True), ("EN-ca", True), ("en", True),  # the English table
    ("fr_FR", False), ("de", False), ("", True),  # no table: no limit; blank reads as the default locale
])
def test_the_query_s_locale_picks_the_words(locale, read):
    assert (price_limit("red shirt under $40", locale) is not None) is read
    assert asks_for_low_price("cheap mug", locale=locale) is read
    assert price_limit("red shirt under $40", None, default_locale="fr_FR") is None  # the default is configurable


def _product(title: str, category: str | None = None, price: float | None = None, **fields) -> dict:
    return {"title": title, "category": category, "price": price, **fields}


def test_verdict_compares_the_product_price_with_the_limit():
    tee = [_product("Linen Tee", "Apparel > Tops", 45.99, brand="Acme")]
    assert price_verdicts("red tee under $40", tee) == [OVER]
    assert price_verdicts("tee under $50", tee) == [WITHIN]
    assert price_verdicts("tee over $60", tee) == [BELOW]
    assert price_verdicts("red tee", tee) == [None]
    # The price as the text shows it (two decimals) is what is judged.
    assert price_verdicts("tee under $40", [_product("Tee", price=40.004)]) == [WITHIN]
    assert OVER == "over budget"


def test_products_without_a_price_get_no_verdict():
    products = [_product("Linen Tee"), _product("Tee", price=float("nan")), _product("Tee", price=30.0)]
    assert price_verdicts("tee under $40", products) == [None, None, WITHIN]


@pytest.mark.parametrize("query, asks", [
    ("cheap mug", True), ("Cheapest running shoes", True), ("affordable sofa", True), ("budget laptop", True),
    ("low-cost headphones", True), ("low priced lamp", True), ("inexpensive desk lamp", True),
    ("cheaper than $50 mug", False),  # a named limit is compared with the limit instead
    ("cheap mug under $10", False), ("red mug", False), ("cheapskate gift", False),
])
def test_asks_for_low_price(query, asks):
    assert asks_for_low_price(query) is asks


_LIP_BALMS = [_product("Chap Stick Lip Balm", "Beauty > Lips", 3.0), _product("Cherry Lip Balm", "Beauty > Lips", 6.0)]
_MUGS = [_product("Stoneware Mug", "Home > Mugs", 12.0), _product("Glass Mug", "Home > Mugs", 4.0)]


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
    assert price_verdicts("chep mug", _MUGS) == [HIGH_THIRD, LOW_THIRD]
    assert price_verdicts("chep mug", _MUGS, CATEGORY_PRICE_VERDICTS) == [None, None]  # models trained before read none
    assert PRICE_VERDICT_VERSION == 3


def test_cheap_queries_place_each_price_among_its_category_candidates():
    candidates = [_product("Mug A", "Home > Mugs", 20.0), _product("Sofa A", "Home > Sofas", 900.0),
                  _product("Mug B", "Home > Mugs", 5.0), _product("Mug C", "Home > Mugs", 10.0),
                  _product("Sofa B", "Home > Sofas", 300.0), _product("Lamp", "Home > Lamps", 1.0),
                  _product("Mug D", "Home > Mugs", None), _product("Mug E", None, 2.0)]
    out = price_verdicts("cheap mug", candidates)
    # A $300 sofa is the cheap one among sofas, though it costs 15 times the dearest mug; a lone lamp,
    # a mug without a price and one without a category get none.
    assert out == [HIGH_THIRD, HIGH_THIRD, LOW_THIRD, MID_THIRD, LOW_THIRD, None, None, None]
    # The order candidates arrive in changes nothing.
    order = [6, 3, 0, 5, 2, 4, 1, 7]
    assert price_verdicts("cheap mug", [candidates[i] for i in order]) == [out[i] for i in order]
    assert price_verdicts("red mug", candidates) == [None] * len(candidates)


def test_versions_and_switches_select_which_verdicts_are_written():
    mugs = [_product("Mug A", "Home > Mugs", 20.0), _product("Mug B", "Home > Mugs", 5.0)]
    assert price_verdicts("cheap mug", mugs, 0) == [None, None]
    assert price_verdicts("cheap mug", mugs, LIMIT_VERDICTS) == [None, None]
    assert price_verdicts("mug under $8", mugs, LIMIT_VERDICTS) == [OVER, WITHIN]
    assert price_verdicts("cheap mug", mugs) == [HIGH_THIRD, LOW_THIRD]
    assert price_verdicts("cheap mug", mugs, low_price_words=False) == [None, None]
    assert price_verdicts("mug under $8", mugs, price_limits=False) == [None, None]
    assert price_verdicts("mug under $8", mugs, low_price_words=False) == [OVER, WITHIN]
    assert price_verdicts("cheap mug", mugs, price_limits=False) == [HIGH_THIRD, LOW_THIRD]
    with pytest.raises(ConfigError, match=f"from 0 to {PRICE_VERDICT_VERSION}, got {PRICE_VERDICT_VERSION + 1}"):
        price_verdicts("cheap mug", mugs, PRICE_VERDICT_VERSION + 1)
