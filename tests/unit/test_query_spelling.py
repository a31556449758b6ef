"""Spelling notes: which query words get one, from which candidate words, and per query."""

import pytest

from shoprank.core.text.edit_distance import edit_distance
from shoprank.core.common.errors import ConfigError
from shoprank.core.text.locale_words import ENGLISH
from shoprank.core.text.query_spelling import (SPELLING_NOTES_VERSION, candidate_words, read_as, spelling_fixes,
                                               with_spelling_note)

LOW_PRICE_WORDS = ENGLISH.low_price_words


def _text(title: str, brand: str | None = "Ashby", category: str | None = "Electronics > Mice",
          description: str = "A quiet wireless mouse for travel.") -> dict:
    return {"title": title, "brand": brand, "category": category, "price": 20.0, "description": description}


CANDIDATES = [_text("Ashby wireless mouse"), _text("Nimbus ergonomic mouse", brand="Nimbus"),
              _text("Aurelo nylon backpack", brand="Aurelo", category="Bags > Backpacks",
                    description="Padded straps and a laptop sleeve.")]


@pytest.mark.parametrize("a, b, distance", [
    ("watch", "watch", 0), ("wtach", "watch", 1), ("backack", "backpack", 1), ("runniing", "running", 1),
    ("pnik", "pink", 1), ("ashhby", "ashby", 1), ("aluminim", "aluminum", 1), ("ergonmoik", "ergonomic", 2),
    ("mouse", "house", 1), ("mouse", "laptop", 3),
])
def test_edit_distance_counts_typing_slips(a, b, distance):
    assert edit_distance(a, b, limit=2) == min(distance, 3)
    assert edit_distance(b, a, limit=2) == min(distance, 3)


def test_candidate_words_are_title_brand_and_category_only():
    words = candidate_words(CANDIDATES[2])
    assert {"aurelo", "nylon", "backpack", "bags", "backpacks"} <= words
    assert not words & {"padded", "laptop", "price"}  # description and price are not offered
    # Read from the fields, not from a text: a title with separators is one title, null fields add nothing.
    assert candidate_words(_text("Planner | Without Dates", brand=None, category=float("nan"))) == {
        "planner", "without", "dates"}


@pytest.mark.parametrize("query, fixes", [
    ("Ashhby mouse", ["ashby"]),            # a doubled letter in a brand
    ("Aurelo nylon backack", ["backpack"]),  # a dropped letter in a noun
    ("Nimbsu ergonomic mouse", ["nimbus"]),  # two letters swapped
    ("wireles mosue", ["wireless", "mouse"]),  # every unmatched word, in query order
    ("Ashby mouse", []),                     # every word is in a candidate
    ("Ashby mic", []),                       # shorter than 4 letters: left alone (though "mice" is near)
    ("Ashby trackpad", []),                  # nothing within one edit
    ("Ashby padded mouse", []),              # "padded" is only in a description
])
def test_spelling_fixes(query, fixes):
    assert spelling_fixes(query, CANDIDATES) == fixes


def test_long_words_may_be_two_edits_away_and_ties_prefer_the_first_letter_then_more_candidates():
    assert spelling_fixes("ergonmoik mouse", CANDIDATES) == ["ergonomic"]  # 9 letters: 2 edits allowed
    assert spelling_fixes("wirlss mouse", CANDIDATES) == []  # 6 letters, 2 edits from "wireless": too far
    candidates = [_text("Rose lamp", brand="Lumen"), _text("Rose vase", brand="Lumen"),
                  _text("Nose clip", brand="Lumen"), _text("Bore gauge", brand="Lumen")]
    assert spelling_fixes("bose lamp", candidates) == ["bore"]  # same first letter beats more candidates
    assert spelling_fixes("cose lamp", candidates) == ["rose"]  # in two candidates, "nose" in one


def test_accented_words_stay_whole():
    candidates = [_text("Müller Kaffeemaschine", brand="Müller", category="Küche > Kaffee")]
    assert candidate_words(candidates[0]) >= {"müller", "kaffeemaschine", "küche"}
    assert spelling_fixes("Müler kaffeemashine", candidates) == ["müller", "kaffeemaschine"]
    assert spelling_fixes("crème brûlée", [_text("Crème brûlée torch", brand="Flambé")]) == []


def test_notes_keep_the_query_and_come_from_its_candidates_only():
    assert with_spelling_note("Ashhby mouse", CANDIDATES) == "Ashhby mouse (ashby)"
    assert with_spelling_note("Aurelo backack", CANDIDATES) == "Aurelo backack (backpack)"
    # The first two candidates carry no "backpack": no note for a query that has none.
    assert with_spelling_note("Aurelo backack", CANDIDATES[:2]) == "Aurelo backack"
    # Candidate order does not matter.
    assert with_spelling_note("Aurelo backack", CANDIDATES[::-1]) == "Aurelo backack (backpack)"


def test_versions():
    assert with_spelling_note("Ashhby mouse", CANDIDATES[:2], 0) == "Ashhby mouse"
    assert with_spelling_note("Ashhby mouse", CANDIDATES[:2], SPELLING_NOTES_VERSION) == "Ashhby mouse (ashby)"
    with pytest.raises(ConfigError, match=f"spelling notes version from 0 to {SPELLING_NOTES_VERSION}, got 9"):
        with_spelling_note("Ashhby mouse", CANDIDATES[:2], 9)


@pytest.mark.parametrize("word, meant", [
    ("chep", "cheap"), ("cheapp", "cheap"), ("Chaep", "cheap"), ("cheapets", "cheapest"), ("afordable", "affordable"),
    ("inexpnsive", "inexpensive"), ("budgte", "budget"),
    ("cheap", None),      # spelt right: nothing to read back
    ("heap", None),       # a typo keeps the first letter
    ("chip", None),       # two edits from a five-letter word
    ("expensive", None),  # "inexpensive" less its first letters is its opposite
])
def test_read_as_a_low_price_word(word, meant):
    assert read_as(word, LOW_PRICE_WORDS) == meant


def test_a_misspelt_low_price_word_is_noted_from_version_2():
    mugs = [_text("Stoneware mug", brand="Kiln"), _text("Glass mug", brand="Clear")]
    assert with_spelling_note("chep mug", mugs, low_price_words=LOW_PRICE_WORDS) == "chep mug (cheap)"
    assert with_spelling_note("chep mug", mugs, 1, LOW_PRICE_WORDS) == "chep mug"  # models trained before
    assert with_spelling_note("chep mug", mugs) == "chep mug"  # a locale without low-price words
    # A word the candidates contain is no typo: "chap" among Chap Stick lip balms stays as typed.
    balms = [_text("Chap Stick lip balm", brand="Chap Stick"), _text("Cherry lip balm", brand="Kiln")]
    assert with_spelling_note("chap stick", balms, low_price_words=LOW_PRICE_WORDS) == "chap stick"
    # Notes name the low-price word and the candidates' words alike, in query order.
    assert spelling_fixes("chep glas mug", mugs, LOW_PRICE_WORDS) == ["cheap", "glass"]
