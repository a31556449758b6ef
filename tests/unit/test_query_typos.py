"""Misspelt training queries: one edit, seeded, whole queries at a time."""

import numpy as np
import pandas as pd
import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.text.query_typos import misspell, with_misspelt_queries
from shoprank.core.training.config import TrainConfig


def _damerau_distance(a: str, b: str) -> int:
    d = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    d[:, 0], d[0, :] = range(len(a) + 1), range(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i, j] = min(d[i, j], d[i - 2, j - 2] + 1)
    return int(d[-1, -1])


def test_one_edit_in_one_long_word_keeping_its_first_letter():
    rng = np.random.default_rng(0)
    query = "red wool scarf for winter"
    for _ in range(200):
        typo = misspell(query, rng)
        assert _damerau_distance(query, typo) == 1, typo
        changed = [(a, b) for a, b in zip(query.split(" "), typo.split(" ")) if a != b]
        assert len(changed) == 1 and len(changed[0][0]) >= 4 and changed[0][0][0] == changed[0][1][0]


def test_short_or_non_alphabetic_words_are_left_alone():
    rng = np.random.default_rng(0)
    assert misspell("tv 4k 55in", rng) == "tv 4k 55in"
    assert misspell("", rng) == ""


def _pairs(n_queries=200, per_query=3):
    rows = [{"query_id": f"Q{q:03d}", "query": f"blue cotton shirt number {q}", "product_id": f"P{c}",
             "label": c % 4} for q in range(n_queries) for c in range(per_query)]
    return pd.DataFrame(rows)


def test_a_seeded_share_of_whole_queries_is_misspelt():
    pairs = _pairs()
    out = with_misspelt_queries(pairs, 0.25, seed=3, epoch=0)
    changed = out["query"] != pairs["query"]
    per_query = changed.groupby(pairs["query_id"]).agg(["all", "any"])
    assert (per_query["all"] == per_query["any"]).all(), "every row of a query carries the same text"
    assert 0.15 < per_query["any"].mean() < 0.35
    assert out.drop(columns="query").equals(pairs.drop(columns="query"))
    # Same (seed, epoch): same typos; the next epoch draws new ones; rate 0 changes nothing.
    assert out.equals(with_misspelt_queries(pairs, 0.25, seed=3, epoch=0))
    assert not out.equals(with_misspelt_queries(pairs, 0.25, seed=3, epoch=1))
    assert with_misspelt_queries(pairs, 0.0, seed=3, epoch=0) is pairs


def test_rate_outside_zero_to_one_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"query_typo_rate must be in \[0, 1\], got 1.5"):
        TrainConfig(query_typo_rate=1.5)
