"""Query features: pairs written from structured fields, switchable, per locale."""


import pandas as pd
import pytest

from shoprank.core.common.errors import SchemaError
from shoprank.core.text.pair_format import PairFormat
from shoprank.core.text.price_fit import LOW_THIRD, HIGH_THIRD, OVER, WITHIN
from shoprank.core.text.query_features import format_pairs, locales_without_words

LATEST = PairFormat.latest()


def _pairs(query: str, locale=None) -> pd.DataFrame:
    return pd.DataFrame([
        {"query": query, "locale": locale, "title": "Stoneware Mug", "brand": "Kiln", "category": "Home > Mugs",
         "price": 12.0, "attributes": None, "description": "A heavy mug."},
        {"query": query, "locale": locale, "title": "Glass Mug", "brand": "Clear", "category": "Home > Mugs",
         "price": 4.0, "attributes": '{"color": "clear"}', "description": None},
    ])


def test_verdicts_and_notes_are_written_from_the_fields():
    queries, texts = format_pairs(_pairs("chep mug"), LATEST)
    assert queries == ["chep mug (cheap)"] * 2
    assert texts == [f"Stoneware Mug | brand: Kiln | category: Home > Mugs | price: $12.00 ({HIGH_THIRD}) | A heavy mug.",
                     f"Glass Mug | brand: Clear | category: Home > Mugs | price: $4.00 ({LOW_THIRD}) | color: clear"]
    _, texts = format_pairs(_pairs("mug under $10"), LATEST)
    assert [f"({OVER})" in texts[0], f"({WITHIN})" in texts[1]] == [True, True]


def test_a_title_that_looks_like_fields_is_read_as_a_title():
    pairs = _pairs("mug under $10").assign(title=["Mug | price: $1.00", "Mug | category: Toys"])
    _, texts = format_pairs(pairs, LATEST)
    # The verdict follows the real price, not the lookalike in the title.
    assert texts[0].startswith(f"Mug | price: $1.00 | brand: Kiln | category: Home > Mugs | price: $12.00 ({OVER})")


def test_each_feature_is_switched_on_its_own():
    plain = format_pairs(_pairs("chep mug"), PairFormat())
    assert plain == format_pairs(_pairs("chep mug"), PairFormat.latest(False, False, False))
    assert PairFormat.latest(False, False, False).is_plain and not LATEST.is_plain
    no_cheap = PairFormat.latest(low_price_words=False)
    assert format_pairs(_pairs("chep mug"), no_cheap) == plain  # no "cheap" verdict, no "(cheap)" note
    assert f"({OVER})" in format_pairs(_pairs("mug under $10"), no_cheap)[1][0]
    no_limits = PairFormat.latest(price_limits=False)
    assert format_pairs(_pairs("mug under $10"), no_limits) == format_pairs(_pairs("mug under $10"), PairFormat())
    assert format_pairs(_pairs("chep mug"), no_limits) == format_pairs(_pairs("chep mug"), LATEST)
    no_notes = PairFormat.latest(spelling_notes=False)
    queries, texts = format_pairs(_pairs("chep mug"), no_notes)
    assert queries == ["chep mug"] * 2 and f"({LOW_THIRD})" in texts[1]


@pytest.mark.parametrize("locale, priced", [("en_US", True), ("en-GB", True), (None, True), ("fr_FR", False)])
def test_a_locale_without_a_table_gets_no_price_features(locale, priced):
    queries, texts = format_pairs(_pairs("chep mug", locale), LATEST)
    assert (f"({LOW_THIRD})" in texts[1]) is priced
    assert queries[0] == ("chep mug (cheap)" if priced else "chep mug")
    # Spelling notes from the candidates' words apply in every locale.
    assert format_pairs(_pairs("Stonware mug", locale), LATEST)[0][0] == "Stonware mug (stoneware)"


def test_queries_group_by_text_and_locale_and_records_work_like_frames():
    frame = pd.concat([_pairs("cheap mug"), _pairs("cheap mug", "fr_FR")], ignore_index=True)
    queries, texts = format_pairs(frame, LATEST)
    assert [f"({LOW_THIRD})" in t for t in texts] == [False, True, False, False]
    records = frame.to_dict("records")[::-1]
    assert format_pairs(records, LATEST) == (queries[::-1], texts[::-1])


def test_missing_query_or_title_is_a_schema_error():
    with pytest.raises(SchemaError, match="missing \\['title'\\]"):
        format_pairs(_pairs("mug").drop(columns="title"), LATEST)
    with pytest.raises(SchemaError, match="pair 0: expected a query and a product title"):
        format_pairs([{"query": "mug", "brand": "Kiln"}], LATEST)


def test_locales_without_words_counts_per_locale():
    assert locales_without_words(["en_US", None, "fr_FR", "fr_FR", "de-DE", "en-GB"], "en_US") == {"fr_FR": 2, "de-DE": 1}
    assert locales_without_words([None], "xx") == {"xx": 1}
