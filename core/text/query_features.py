"""Query features: the (query, product) pairs as a model reads them, from the pairs' structured fields.

One place applies every feature a pair format (core/text/pair_format.py) switches on:

- price limits: "under $40" -> a verdict after each product's price ("over budget"; core/text/price_fit.py);
- low-price words: "cheap mug" -> each product's price third among the query's candidates of its
  category, and "chep mug" read as "cheap" (price_fit.py, query_spelling.py);
- spelling notes: "Ashhby mouse" -> "Ashhby mouse (ashby)" from the candidates' words (query_spelling.py).

The words come from the query's `locale` (core/text/locale_words.py; null: the format's default
locale); queries in a locale without a word table get no price features. Features read the
structured fields of the pairs contract (title, brand, category, price), never a formatted
product text; the product text a model reads is written from those fields (core/text/product_text.py)
with the verdict after the price.

All of a query's candidates must come in one call: a "cheap" verdict compares them, and a
spelling note is drawn from their words. Rows group by query text and locale table.
"""

from __future__ import annotations

import collections
from typing import Any, Iterable, Mapping

from shoprank.core.common.errors import SchemaError, require_known_version
from shoprank.core.text.locale_words import LOCALE_WORDS, locale_key
from shoprank.core.text.pair_format import PairFormat
from shoprank.core.text.price_fit import PRICE_VERDICT_VERSION, price_verdicts
from shoprank.core.text.product_text import product_text
from shoprank.core.text.query_spelling import SPELLING_NOTES_VERSION, with_spelling_note

# The pairs contract's columns a pair is written from (core/data/schema.py PAIRS); locale and
# the product fields but the title may be absent (null).
PAIR_FIELDS = ("query", "locale", "title", "brand", "category", "price", "attributes", "description")


def format_pairs(pairs, pair_format: PairFormat, descriptions: bool = True) -> tuple[list[str], list[str]]:
    """(queries, product texts) as a model with `pair_format` reads them, in row order.

    pairs: a DataFrame or a sequence of mappings with `query`, `title` and optionally `locale`,
    `brand`, `category`, `price`, `attributes`, `description` (the pairs contract, or a served
    request's candidates). descriptions=False leaves the descriptions out of the texts (to count
    the tokens of the product's fields). Raises SchemaError when `query` or `title` is missing.
    """
    require_known_version("price verdict", pair_format.price_verdicts, PRICE_VERDICT_VERSION)
    require_known_version("spelling notes", pair_format.spelling_notes, SPELLING_NOTES_VERSION)
    rows = _records(pairs)
    groups: dict[tuple[str, str | None], list[int]] = collections.defaultdict(list)
    for i, row in enumerate(rows):
        groups[(str(row["query"]), locale_key(row.get("locale"), pair_format.default_locale))].append(i)
    queries: list[str] = [""] * len(rows)
    notes: list[str | None] = [None] * len(rows)
    for (query, key), members in groups.items():
        candidates = [rows[i] for i in members]
        low_price_words = LOCALE_WORDS[key].low_price_words if key is not None and pair_format.low_price_words else ()
        noted = with_spelling_note(query, candidates, pair_format.spelling_notes, low_price_words)
        verdicts = [None] * len(members) if key is None else price_verdicts(
            query, candidates, pair_format.price_verdicts, key, price_limits=pair_format.price_limits,
            low_price_words=pair_format.low_price_words)
        for i, verdict in zip(members, verdicts):
            queries[i], notes[i] = noted, verdict
    texts = [product_text(row, price_note=note, description=descriptions) for row, note in zip(rows, notes)]
    return queries, texts


def _records(pairs) -> list[Mapping[str, Any]]:
    """Rows as mappings, checked for the fields every pair needs."""
    if hasattr(pairs, "columns"):  # a DataFrame: one conversion, not a lookup per cell
        missing = [c for c in ("query", "title") if c not in pairs.columns]
        if missing:
            raise SchemaError(f"pairs: expected columns {list(PAIR_FIELDS)} (query and title required), "
                              f"missing {missing} (got {list(pairs.columns)})")
        return pairs[[c for c in PAIR_FIELDS if c in pairs.columns]].to_dict("records")
    rows = list(pairs)
    for i, row in enumerate(rows):
        if "query" not in row or "title" not in row:
            raise SchemaError(f"pair {i}: expected a query and a product title, got fields {sorted(row)}")
    return rows


def locales_without_words(locales: Iterable[Any], default_locale: str) -> dict[str, int]:
    """How many of the given query locales (null: default_locale) have no word table, per locale."""
    counts: collections.Counter = collections.Counter()
    for locale in locales:
        if locale_key(locale, default_locale) is None:
            counts[locale if isinstance(locale, str) and locale.strip() else default_locale] += 1
    return dict(counts)
