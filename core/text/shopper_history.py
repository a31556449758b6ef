"""Shopper history in the query: a short, bounded summary of the shopper's recent items.

A personalised reranker reads what the shopper clicked or bought just before the search, after
the query: "mug [recent: Ashby navy mugs; Voss black mugs]". Each item is summarised by its
brand, colour and category leaf (the fields shopping tastes show in), or, for an item given as a
bare title, by the title's first words; never by an id. The most recent item comes first, at
most `max_items` of them and `max_chars` characters in all, so the history never crowds out the
product's text: recent behaviour as part of the ranking input, as session-aware rerankers use it,
written here as text a cross-encoder reads.

A query without history is left exactly as it was, so a personalised model scores a request
without shopper context on the very text the same model reads without the feature.

Versions, stored with a model (core/text/pair_format.py) so it is scored as it was trained:
    0  none (history is ignored)
    1  "<query> [recent: <item>; <item>; ...]"
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from shoprank.core.common.errors import require_known_version

SHOPPER_HISTORY_VERSION = 1  # what training writes now
MAX_ITEMS = 3
MAX_CHARS = 100
TITLE_WORDS = 4


def item_summary(item: Mapping[str, Any] | str) -> str:
    """A few words for one item: brand, colour and category leaf, or a bare title's first words."""
    if isinstance(item, str):
        return " ".join(item.split()[:TITLE_WORDS])
    attributes = item.get("attributes")
    if isinstance(attributes, str):
        try:
            attributes = json.loads(attributes)
        except ValueError:
            attributes = None
    color = attributes.get("color") if isinstance(attributes, dict) else None
    category = item.get("category")
    leaf = category.split(">")[-1].strip() if isinstance(category, str) and category.strip() else None
    brand = item.get("brand")
    words = [brand.strip()] if isinstance(brand, str) and brand.strip() else []
    words += [w.strip().lower() for w in (color, leaf) if isinstance(w, str) and w.strip()]
    if not words:
        return " ".join(str(item.get("title") or "").split()[:TITLE_WORDS])
    return " ".join(words)


def history_summary(items: Sequence[Mapping[str, Any] | str], max_items: int = MAX_ITEMS,
                    max_chars: int = MAX_CHARS) -> str:
    """The summary of recent items (most recent first): at most max_items of them and max_chars
    characters, cut at an item boundary; "" for no items."""
    parts: list[str] = []
    for item in items:
        if len(parts) == max_items:
            break
        text = item_summary(item)
        if not text or text in parts:
            continue
        if len("; ".join(parts + [text])) > max_chars:
            break
        parts.append(text)
    return "; ".join(parts)


def with_history(query: str, summary: str | None, version: int = SHOPPER_HISTORY_VERSION) -> str:
    """The query as a model of `version` reads it with the shopper's history summary; the query
    itself when the version is 0 or the summary is empty."""
    require_known_version("shopper history", version, SHOPPER_HISTORY_VERSION)
    if not version or not isinstance(summary, str) or not summary.strip():
        return query
    return f"{query} [recent: {summary.strip()}]"
