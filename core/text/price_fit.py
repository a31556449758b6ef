"""Price limits stated in a query ("under $40", "$20-$50"), and whether a product's price meets them.

Shoppers often bound the price in the query itself. A cross-encoder reads "$45.99" and "$40" as
word pieces and compares them poorly, so before a pair is encoded the product text gets a short
verdict next to its price ("over budget", "within budget"): the comparison is done in code and the
model learns what the verdict means for relevance. Queries without a limit, and products without
a price, are left as they are. The verdicts read the product's structured fields (price,
category, title, brand), never its formatted text.

The words (currency signs and words, limit words, low-price words) come from the query's locale
(core/text/locale_words.py); a locale with no word table gets no verdicts. The examples below are
English. An amount counts as a price when it has a currency sign or word. A bare number counts only
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
from typing import Any, Mapping, Sequence

import numpy as np

from shoprank.core.common.errors import require_known_version
from shoprank.core.text.edit_distance import edit_distance
from shoprank.core.text.locale_words import DEFAULT_LOCALE, LOCALE_WORDS, LocaleWords, alternatives, locale_key
from shoprank.core.text.product_text import is_present
from shoprank.core.text.query_spelling import WORD, candidate_words, read_as

WITHIN = "within budget"
OVER = "over budget"
BELOW = "below the price asked"
LOW_THIRD = "lowest-priced third of its category here"
MID_THIRD = "mid-priced for its category here"
HIGH_THIRD = "highest-priced third of its category here"

LIMIT_VERDICTS = 1
CATEGORY_PRICE_VERDICTS = 2
MISSPELT_LOW_PRICE_WORDS = 3
PRICE_VERDICT_VERSION = MISSPELT_LOW_PRICE_WORDS  # what training writes now


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


@dataclass(frozen=True)
class _Patterns:
    """One locale's words compiled into the regular expressions that find limits and low-price asks."""

    between: re.Pattern
    dash_range: re.Pattern
    upper: re.Pattern
    lower: re.Pattern
    low_price: re.Pattern


@functools.lru_cache(maxsize=None)
def _patterns(key: str) -> _Patterns:
    words: LocaleWords = LOCALE_WORDS[key]
    group, decimal = re.escape(words.group_separator), re.escape(words.decimal_mark)
    amount = rf"(\d{{1,3}}(?:{group}\d{{3}})+|\d+)(?:{decimal}(\d{{1,2}}))?"
    sign = rf"(?:{alternatives(words.currency_signs)})\s?"
    # An amount with a currency sign before it or a currency word after it.
    price = rf"(?:{sign}{amount}|{amount}\s?(?:{alternatives(words.currency_words)})\b)"
    cap, at_most = alternatives(words.cap_words), alternatives(words.cap_words + words.at_most_words)
    between, and_word = (re.escape(w) for w in words.between_words)
    flags = re.IGNORECASE
    return _Patterns(
        between=re.compile(rf"\b{between}\s+{price}\s+{and_word}\s+{price}", flags),
        dash_range=re.compile(rf"{sign}{amount}\s*(?:{alternatives(words.range_words)})\s*(?:{sign})?{amount}", flags),
        upper=re.compile(rf"(?:^|\s)(?:(?:{at_most})\s*{price}|(?:{cap})\s+{amount}\s*$)", flags),
        lower=re.compile(rf"(?:^|\s)(?:{alternatives(words.at_least_words)})\s*{price}", flags),
        low_price=re.compile(rf"\b(?:{alternatives(words.low_price_words + words.low_price_phrases)})\b", flags),
    )


def price_limit(query: str, locale: str | None = None, default_locale: str = DEFAULT_LOCALE) -> PriceLimit | None:
    """The price range a query asks for, read with its locale's words; None when it names none
    or its locale has no word table (locale None: default_locale)."""
    key = locale_key(locale, default_locale)
    return None if key is None else _price_limit(str(query), key)


@functools.lru_cache(maxsize=4096)  # a query is parsed once for all its candidates
def _price_limit(query: str, key: str) -> PriceLimit | None:
    patterns, words = _patterns(key), LOCALE_WORDS[key]
    query = " ".join(_limit_word(word, words.typo_tolerant_words) for word in query.split(" "))
    for pattern in (patterns.between, patterns.dash_range):
        match = pattern.search(query)
        if match:
            low, high = sorted(_amounts(match.groups(), words.group_separator))
            return PriceLimit(low, high)
    upper, lower = patterns.upper.search(query), patterns.lower.search(query)
    if upper is None and lower is None:
        return None
    return PriceLimit(low=_amounts(lower.groups(), words.group_separator)[0] if lower else None,
                      high=_amounts(upper.groups(), words.group_separator)[0] if upper else None)


def _limit_word(word: str, tolerant: Sequence[str]) -> str:
    """The limit word `word` is a one-typo misspelling of, else `word` itself."""
    lowered = word.lower()
    if len(lowered) < 4 or not lowered.isalpha() or lowered in tolerant:
        return word
    return next((w for w in tolerant if edit_distance(lowered, w, 1) <= 1), word)


def _amounts(groups: Sequence[str | None], group_separator: str) -> list[float]:
    """Amounts from regex groups that come in (whole, cents) pairs, skipping alternatives that did not match."""
    return [float(f"{whole.replace(group_separator, '')}.{cents or '0'}")
            for whole, cents in zip(groups[::2], groups[1::2]) if whole is not None]


def shown_price(product: Mapping[str, Any]) -> float | None:
    """The product's price as its text shows it (two decimals), or None when it has none:
    verdicts judge the price the model reads."""
    price = product.get("price")
    return float(f"{float(price):.2f}") if is_present(price) else None


def asks_for_low_price(query: str, candidates: Sequence[Mapping[str, Any]] | None = None, locale: str | None = None,
                       default_locale: str = DEFAULT_LOCALE) -> bool:
    """True when the query asks for a low price without naming one ("cheap desk", "affordable sofa").

    Given the query's candidate products, a misspelt low-price word counts too ("chep desk"; module
    doc). Always False in a locale with no word table.
    """
    key = locale_key(locale, default_locale)
    return key is not None and _asks_for_low_price(str(query), key, candidates)


def _asks_for_low_price(query: str, key: str, candidates: Sequence[Mapping[str, Any]] | None) -> bool:
    if _price_limit(query, key) is not None:
        return False
    if _patterns(key).low_price.search(query) is not None:
        return True
    if candidates is None:
        return False
    near_misses = {word.lower() for word in WORD.findall(query) if read_as(word, LOCALE_WORDS[key].low_price_words)}
    if not near_misses:
        return False  # the common case: no candidate need be read
    vocabulary = {word for candidate in candidates for word in candidate_words(candidate)}
    return bool(near_misses - vocabulary)


def price_verdicts(query: str, candidates: Sequence[Mapping[str, Any]], version: int = PRICE_VERDICT_VERSION,
                   locale: str | None = None, *, price_limits: bool = True, low_price_words: bool = True,
                   default_locale: str = DEFAULT_LOCALE) -> list[str | None]:
    """The verdict written after each candidate's price for one query (None: no verdict), in the
    features of `version` (module doc) that are switched on.

    candidates: all of the query's candidate products (price, category, title, brand fields), since a
    "cheap" verdict compares them. price_limits: verdicts against a limit the query names.
    low_price_words: verdicts for queries that ask for a low price without a number.
    """
    require_known_version("price verdict", version, PRICE_VERDICT_VERSION)
    verdicts: list[str | None] = [None] * len(candidates)
    key = locale_key(locale, default_locale)
    if version < LIMIT_VERDICTS or key is None:
        return verdicts
    query = str(query)
    limit = _price_limit(query, key)
    if limit is not None:  # a query naming a limit never asks for "cheap" too
        if price_limits:
            for i, candidate in enumerate(candidates):
                price = shown_price(candidate)
                verdicts[i] = None if price is None else limit.verdict(price)
        return verdicts
    if (version >= CATEGORY_PRICE_VERDICTS and low_price_words
            and _asks_for_low_price(query, key, candidates if version >= MISSPELT_LOW_PRICE_WORDS else None)):
        _category_price_verdicts(candidates, verdicts)
    return verdicts


def _category_price_verdicts(candidates: Sequence[Mapping[str, Any]], verdicts: list) -> None:
    """In place: each priced candidate's price third among the same query's candidates of its category."""
    groups: dict[str, list[tuple[int, float]]] = {}
    for i, candidate in enumerate(candidates):
        price, category = shown_price(candidate), candidate.get("category")
        if price is not None and is_present(category):
            groups.setdefault(str(category).strip(), []).append((i, price))
    for members in groups.values():
        if len(members) < 2:
            continue  # the only candidate of its category: nothing to compare with
        prices = np.array([price for _, price in members])
        share_cheaper = (prices[None, :] < prices[:, None]).sum(axis=1) / (len(members) - 1)
        for (i, _), share in zip(members, share_cheaper):
            verdicts[i] = LOW_THIRD if share < 1 / 3 else MID_THIRD if share <= 2 / 3 else HIGH_THIRD
