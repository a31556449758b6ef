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
within the edit distance above.

Versions, stored with a model so it is always scored as it was trained:
    0  none (queries as typed)
    1  notes from the candidates' words
    2  1, plus the low-price word a misspelt one means
"""

from __future__ import annotations

import collections
import re
from typing import Sequence

from shoprank.core.text.edit_distance import edit_distance
from shoprank.core.common.errors import require_known_version
from shoprank.core.text.intent_words import LOW_PRICE_WORDS
from shoprank.core.text.product_text import read_product_text

SPELLING_NOTES_VERSION = 2  # what training writes now
LOW_PRICE_NOTES = 2
MIN_WORD_LENGTH = 4  # shorter query words are left alone: one edit away from too many others
MIN_CANDIDATE_WORD_LENGTH = 3
LONG_WORD_LENGTH = 8  # from this length a word may be two edits from what was meant
WORD = re.compile(r"[^\W\d_]+")  # runs of letters, accented ones too ("Müller", "crème")


def allowed_edits(word: str) -> int:
    return 2 if len(word) >= LONG_WORD_LENGTH else 1


def candidate_words(text: str) -> set[str]:
    """Lower-cased words of a product text's title, brand and category (not its description,
    whose many words would offer wrong corrections)."""
    fields = read_product_text(text)
    return {w.lower() for part in (fields.title, fields.brand, fields.category) if part for w in WORD.findall(part)}


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


def spelling_fixes(query: str, candidate_texts: Sequence[str], intent_words: Sequence[str] = ()) -> list[str]:
    """The words that the query's unmatched words mean, in query order: an intent word one reads
    as (read_as), else the nearest of the candidates' words.

    Ties go to fewer edits, then a word with the same first letter, then the word in more candidates.
    """
    counts = collections.Counter(w for text in candidate_texts for w in candidate_words(text))
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


def with_spelling_notes(queries: Sequence[str], texts: Sequence[str],
                        version: int = SPELLING_NOTES_VERSION) -> list[str]:
    """Each row's query with the spelling notes of `version`, from the candidates it shares the call with."""
    require_known_version("spelling notes", version, SPELLING_NOTES_VERSION)
    queries = [str(q) for q in queries]
    if version == 0:
        return queries
    candidates: dict[str, list[str]] = {}
    for query, text in zip(queries, texts):
        candidates.setdefault(query, []).append(str(text))
    intent_words = LOW_PRICE_WORDS if version >= LOW_PRICE_NOTES else ()
    noted = {}
    for query, texts_of_query in candidates.items():
        fixes = spelling_fixes(query, texts_of_query, intent_words)
        noted[query] = f"{query} ({' '.join(fixes)})" if fixes else query
    return [noted[q] for q in queries]
