"""Price limits stated in a query ("under $40", "$20-$50"), and whether a product's price meets them.

Shoppers often bound the price in the query itself. A cross-encoder reads "$45.99" and "$40" as
word pieces and compares them poorly, so before a pair is encoded the product text gets a short
verdict next to its price ("over budget", "within budget"): the comparison is done in code and the
model learns what the verdict means for relevance. Queries without a limit, and products without
a price, are left as they are.

An amount counts as a price when it has a currency sign or word. A bare number counts only
at the end of the query after "under", "below" or "less than", the usual way to cap a price:
"shoes under 40" is a price, "under 40 inch tv" a size, "women over 50" an age and "air max
90" a model name. Shoppers misspell the limit words
too, so a word one typo away from "under", "below" or "above" counts as that word ("undeer
$120"); shorter limit words must be exact ("cover $20" is not "over $20").

A query can also ask for a low price without naming one ("cheap mug", "affordable sofa"). What
is cheap depends on the category (a cheap sofa costs more than a dear mug), so each candidate's
price is placed among the other candidates of its category for the same query: "(lowest-priced
third of its category here)", "(mid-priced ...)" or "(highest-priced third ...)". Such verdicts
need all of a query's candidates at once, which is how training, evaluation and serving score
them (a KServe request carries one query's candidate list).

Shoppers misspell "cheap" as they do any word ("chep mug", "afordable sofa"). A query word that
none of the query's candidates has in its title, brand or category and that reads as a low-price
word (same first letter, within the spelling notes' edit distance: core/text/query_spelling.py) asks
for a low price too, and the spelling notes write the word meant after the query. The candidates
guard the reading: "chap stick" among lip balms named "Chap Stick" is not "cheap stick".

Verdict versions, stored with a model so it is always scored as it was trained:
    0  none (plain product texts)
    1  against a limit the query names
    2  1, plus "cheap" queries against the same category's candidates
    3  2, with the low-price words read through a typo
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from shoprank.core.text.edit_distance import edit_distance
from shoprank.core.common.errors import require_known_version
from shoprank.core.text.intent_words import LOW_PRICE_PATTERN, LOW_PRICE_WORDS
from shoprank.core.text.query_spelling import WORD, candidate_words, read_as
from shoprank.core.text.product_text import read_product_text

_AMOUNT = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?"
_CURRENCY_WORDS = r"(?:dollars?|usd|bucks|euros?|eur|pounds?|gbp)"
# An amount with a currency sign before it or a currency word after it.
_PRICE = rf"(?:(?:[$€£]\s?){_AMOUNT}|{_AMOUNT}\s?{_CURRENCY_WORDS}\b)"
_BARE_PRICE_AT_END = rf"{_AMOUNT}\s*$"
_CAP_WORDS = r"under|below|less than"
_AT_MOST = rf"{_CAP_WORDS}|cheaper than|up to|at most|no more than|max(?:imum)?|within|<=?"
_AT_LEAST = r"over|above|more than|at least|min(?:imum)?|from|>=?"
_BETWEEN = re.compile(rf"\bbetween\s+{_PRICE}\s+and\s+{_PRICE}", re.IGNORECASE)
_DASH_RANGE = re.compile(rf"(?:[$€£]\s?){_AMOUNT}\s*(?:-|–|to)\s*(?:[$€£]\s?)?{_AMOUNT}", re.IGNORECASE)
_UPPER = re.compile(rf"(?:^|\s)(?:(?:{_AT_MOST})\s*{_PRICE}|(?:{_CAP_WORDS})\s+{_BARE_PRICE_AT_END})", re.IGNORECASE)
_LOWER = re.compile(rf"(?:^|\s)(?:{_AT_LEAST})\s*{_PRICE}", re.IGNORECASE)

WITHIN = "within budget"
OVER = "over budget"
BELOW = "below the price asked"


@dataclass(frozen=True)
class PriceLimit:
    low: float | None = None
    high: float | None = None

    def verdict(self, price: float) -> str:
        if self.high is not None and price > self.high:
            return OVER
        if self.low is not None and price < self.low:
            return BELOW
        return WITHIN


# Long enough that one typo cannot turn another common word into them.
_TYPO_TOLERANT_WORDS = ("under", "below", "above")


@functools.lru_cache(maxsize=4096)  # a query is parsed once for all its candidates
def price_limit(query: str) -> PriceLimit | None:
    """The price range a query asks for, or None when it names none."""
    query = " ".join(_limit_word(word) for word in query.split(" "))
    for pattern in (_BETWEEN, _DASH_RANGE):
        match = pattern.search(query)
        if match:
            low, high = sorted(_amounts(match.groups()))
            return PriceLimit(low, high)
    upper, lower = _UPPER.search(query), _LOWER.search(query)
    if upper is None and lower is None:
        return None
    return PriceLimit(low=_amounts(lower.groups())[0] if lower else None,
                      high=_amounts(upper.groups())[0] if upper else None)


def _limit_word(word: str) -> str:
    """The limit word `word` is a one-typo misspelling of, else `word` itself."""
    lowered = word.lower()
    if len(lowered) < 4 or not lowered.isalpha() or lowered in _TYPO_TOLERANT_WORDS:
        return word
    return next((w for w in _TYPO_TOLERANT_WORDS if edit_distance(lowered, w, 1) <= 1), word)


def _amounts(groups: Sequence[str | None]) -> list[float]:
    """Amounts from regex groups that come in (whole, cents) pairs, skipping alternatives that did not match."""
    return [float(f"{whole.replace(',', '')}.{cents or '0'}")
            for whole, cents in zip(groups[::2], groups[1::2]) if whole is not None]


def with_price_verdict(query: str, text: str) -> str:
    """`text` with the verdict on its price for the query's limit after the price, if both exist."""
    limit = price_limit(query)
    if limit is None:
        return text
    fields = read_product_text(text)
    if fields.price is None:
        return text
    end = fields.price_end
    return f"{text[:end]} ({limit.verdict(fields.price)}){text[end:]}"


LOW_THIRD = "lowest-priced third of its category here"
MID_THIRD = "mid-priced for its category here"
HIGH_THIRD = "highest-priced third of its category here"

LIMIT_VERDICTS = 1
CATEGORY_PRICE_VERDICTS = 2
MISSPELT_LOW_PRICE_WORDS = 3
PRICE_VERDICT_VERSION = MISSPELT_LOW_PRICE_WORDS  # what training writes now


def asks_for_low_price(query: str, candidate_texts: Sequence[str] | None = None) -> bool:
    """True when the query asks for a low price without naming one ("cheap desk", "affordable sofa").

    Given the query's candidate texts, a misspelt low-price word counts too ("chep desk"; module doc).
    """
    if price_limit(query) is not None:
        return False
    if LOW_PRICE_PATTERN.search(query) is not None:
        return True
    if candidate_texts is None:
        return False
    near_misses = {word.lower() for word in WORD.findall(query) if read_as(word, LOW_PRICE_WORDS)}
    if not near_misses:
        return False  # the common case: no candidate text need be read
    vocabulary = {word for text in candidate_texts for word in candidate_words(text)}
    return bool(near_misses - vocabulary)


def with_price_verdicts(queries: Sequence[str], texts: Sequence[str], version: int = PRICE_VERDICT_VERSION) -> list[str]:
    """Each text with the price verdicts of `version` (see the module docstring); all of a query's
    candidates must be in the same call, since a "cheap" verdict compares them."""
    require_known_version("price verdict", version, PRICE_VERDICT_VERSION)
    queries, out = [str(q) for q in queries], [str(t) for t in texts]
    if version >= LIMIT_VERDICTS:
        out = [with_price_verdict(q, t) for q, t in zip(queries, out)]
    if version >= CATEGORY_PRICE_VERDICTS:
        _add_category_price_verdicts(queries, out, misspelt_words=version >= MISSPELT_LOW_PRICE_WORDS)
    return out


def _add_category_price_verdicts(queries: list[str], texts: list[str], misspelt_words: bool) -> None:
    """In place: for "cheap" queries, each priced text's price third among its category's candidates."""
    rows_of: dict[str, list[int]] = {}
    for i, query in enumerate(queries):
        rows_of.setdefault(query, []).append(i)
    groups: dict[tuple[str, str], list[tuple[int, float, int]]] = {}
    for query, rows in rows_of.items():
        if not asks_for_low_price(query, [texts[i] for i in rows] if misspelt_words else None):
            continue
        for i in rows:
            fields = read_product_text(texts[i])
            if fields.price is not None and fields.category is not None:
                groups.setdefault((query, fields.category), []).append((i, fields.price, fields.price_end))
    for members in groups.values():
        if len(members) < 2:
            continue  # the only candidate of its category: nothing to compare with
        prices = np.array([price for _, price, _ in members])
        share_cheaper = (prices[None, :] < prices[:, None]).sum(axis=1) / (len(members) - 1)
        for (i, _, end), share in zip(members, share_cheaper):
            verdict = LOW_THIRD if share < 1 / 3 else MID_THIRD if share <= 2 / 3 else HIGH_THIRD
            texts[i] = f"{texts[i][:end]} ({verdict}){texts[i][end:]}"
