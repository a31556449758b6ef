"""Spelling notes: a query word no candidate contains, but one of them nearly does, is followed
by the candidate's word.

Shoppers misspell brands and nouns ("Ashhby mouse", "nylon backack"). A cross-encoder reads a
misspelt word as unrelated word pieces, so the product that matches it exactly is ranked like
one that does not. Before a pair is encoded, each query word of 4 or more letters that appears
in none of its candidates' titles, brands or categories is compared with the words there; the
nearest within 1 edit (2 for words of 8 or more letters; an edit inserts, deletes or changes a
letter, or swaps two neighbours) is added in brackets: "Ashhby mouse (ashby)". The query itself
is kept, so a wrong guess costs little, and the model learns how far to trust the note.

The words come from the query's own candidates, which a KServe request carries, so serving needs
nothing more than training had; all of a query's candidates must be in the same call.

A misspelt low-price word ("chep mug") is noted with the word meant ("chep mug (cheap)"), which
no candidate contains, so that the model reads the query as the price verdicts do
(core/text/price_fit.py): a word reads as a low-price word when it keeps its first letter and is
within the edit distance above. The low-price words are those of the query's locale
(core/text/locale_words.py); the notes from candidates' words apply in every locale.

The candidates' words come from their structured fields (title, brand, category), never from a
formatted product text.

Versions, stored with a model so it is always scored as it was trained:
    0  none (queries as typed)
    1  notes from the candidates' words
    2  1, plus the low-price word a misspelt one means
"""

from __future__ import annotations

import collections
import re
from typing import Any, Mapping, Sequence

from shoprank.core.common.errors import require_known_version
from shoprank.core.text.edit_distance import edit_distance
from shoprank.core.text.product_text import is_present

SPELLING_NOTES_VERSION = 2  # what training writes now
LOW_PRICE_NOTES = 2
MIN_WORD_LENGTH = 4  # shorter query words are left alone: one edit away from too many others
MIN_CANDIDATE_WORD_LENGTH = 3
LONG_WORD_LENGTH = 8  # from this length a word may be two edits from what was meant
WORD = re.compile(r"[^\W\d_]+")  # runs of letters, accented ones too ("Müller", "crème")
WORD_FIELDS = ("title", "brand", "category")


def allowed_edits(word: str) -> int:
    return 2 if len(word) >= LONG_WORD_LENGTH else 1


def candidate_words(product: Mapping[str, Any]) -> set[str]:
    """Lower-cased words of a product's title, brand and category (not its description, whose
    many words would offer wrong corrections)."""
    return {w.lower() for field in WORD_FIELDS if is_present(product.get(field))
            for w in WORD.findall(str(product[field]))}


def read_as(word: str, meant_words: Sequence[str]) -> str | None:
    """The word of meant_words that `word` misspells: same first letter, within allowed_edits of it
    (the nearest; the first listed on a tie). None when none is, or word is one of them as spelt."""
    lowered = word.lower()
    if len(lowered) < MIN_WORD_LENGTH or lowered in meant_words:
        return None
    near = []
    for i, meant in enumerate(meant_words):
        if meant[0] == lowered[0]:
            distance = edit_distance(lowered, meant, allowed_edits(meant))
            if distance <= allowed_edits(meant):
                near.append((distance, i, meant))
    return min(near)[2] if near else None


def spelling_fixes(query: str, candidates: Sequence[Mapping[str, Any]], intent_words: Sequence[str] = ()) -> list[str]:
    """The words that the query's unmatched words mean, in query order: an intent word one reads
    as (read_as), else the nearest of the candidates' words.

    Ties go to fewer edits, then a word with the same first letter, then the word in more candidates.
    """
    counts = collections.Counter(w for candidate in candidates for w in candidate_words(candidate))
    fixes: list[str] = []
    for word in WORD.findall(query):
        lowered = word.lower()
        if len(lowered) < MIN_WORD_LENGTH or lowered in counts:
            continue
        meant = read_as(lowered, intent_words)
        if meant is None:
            limit = allowed_edits(lowered)
            nearest = min(((edit_distance(lowered, w, limit), w[0] != lowered[0], -n, w)
                           for w, n in counts.items() if len(w) >= MIN_CANDIDATE_WORD_LENGTH), default=None)
            meant = nearest[-1] if nearest is not None and nearest[0] <= limit else None
        if meant is not None and meant not in fixes:
            fixes.append(meant)
    return fixes


def with_spelling_note(query: str, candidates: Sequence[Mapping[str, Any]], version: int = SPELLING_NOTES_VERSION,
                       low_price_words: Sequence[str] = ()) -> str:
    """The query with the spelling notes of `version`, drawn from all of its candidate products.

    low_price_words: the query locale's low-price words, noted from version 2 on (empty: none).
    """
    require_known_version("spelling notes", version, SPELLING_NOTES_VERSION)
    query = str(query)
    if version == 0:
        return query
    fixes = spelling_fixes(query, candidates, low_price_words if version >= LOW_PRICE_NOTES else ())
    return f"{query} ({' '.join(fixes)})" if fixes else query
