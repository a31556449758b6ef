"""Toy pairs whose labels depend on the shopper's taste: a tiny model learns to read the history.

Queries 'color noun' (support/tiny_model.py); each has six candidates, three by "acme" and three
by "zenith". A third of the queries come from shoppers without history, the others from a shopper
whose history (core/text/shopper_history.py, written as serving writes `user.recent_items`) is one to
three recent items of their brand. Labels: 2 for the query's colour, plus 1 for the shopper's brand, so
the only thing that orders acme against zenith is the history.
"""

from __future__ import annotations

import numpy as np

from support.tiny_model import TOY_COLORS, TOY_NOUNS, pairs_table

BRANDS = ("acme", "zenith")


def recent_item(brand: str, color: str, noun: str) -> dict:
    """One recent item as a request's `user.recent_items` carries it."""
    return {"title": f"{color} {noun}", "brand": brand, "category": f"Home > {noun}s", "attributes": {"color": color}}


def taste_pairs(n_queries: int = 120, seed: int = 0):
    """A pairs table (weight 1, a `history` column) of n_queries queries; every tenth is validation."""
    import pandas as pd

    from shoprank.core.text.shopper_history import history_summary

    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_queries):
        color, noun = TOY_COLORS[q % len(TOY_COLORS)], TOY_NOUNS[q % len(TOY_NOUNS)]
        taste = (None,) + BRANDS
        brand_liked = taste[int(rng.integers(len(taste)))]
        items = int(rng.integers(1, 4))
        history = "" if brand_liked is None else history_summary(
            [recent_item(brand_liked, str(rng.choice(TOY_COLORS)), str(rng.choice(TOY_NOUNS))) for _ in range(items)])
        for c in range(6):
            brand = BRANDS[c % 2]
            shown = color if c < 4 else str(rng.choice(TOY_COLORS))
            rows.append({"query_id": f"q{q:03d}", "query": f"{color} {noun}", "product_id": f"p{q:03d}-{c}",
                         "title": f"{shown} {noun}", "brand": brand, "history": history,
                         "label": (2 if shown == color else 0) + (1 if brand == brand_liked else 0),
                         "split": "validation" if q % 10 == 9 else "train"})
    return pairs_table(pd.DataFrame(rows)).assign(weight=1.0)
