"""Ranking metrics over graded labels (0..3).

NDCG uses exponential gain (2^label - 1) / log2(rank + 1). A result is *relevant* for MRR
and Recall when its label >= RELEVANT_LABEL (Exact or Substitute on the ESCI scale).
Queries with no relevant result are left out of MRR and Recall; queries whose labels are
all 0 are left out of NDCG (the ideal DCG is 0). Score ties keep the input order, so
callers sort candidates by a stable key (product_id) first.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

RELEVANT_LABEL = 2
DEFAULT_K = 10


def dcg_at_k(labels: Sequence[float], k: int) -> float:
    """DCG of labels given in ranked order."""
    gains = np.power(2.0, np.asarray(labels, dtype=float)[:k]) - 1.0
    discounts = np.log2(np.arange(2, gains.size + 2))
    return float(np.sum(gains / discounts))


def ndcg_at_k(labels: Sequence[float], k: int = DEFAULT_K) -> float:
    """NDCG@k of labels given in ranked order; NaN when no result has a positive label."""
    ideal = dcg_at_k(sorted(labels, reverse=True), k)
    if ideal == 0:
        return math.nan
    return dcg_at_k(labels, k) / ideal


def reciprocal_rank(labels: Sequence[float], relevant: int = RELEVANT_LABEL) -> float:
    """1 / rank of the first relevant result; NaN when none is relevant."""
    for i, label in enumerate(labels):
        if label >= relevant:
            return 1.0 / (i + 1)
    return math.nan


def recall_at_k(labels: Sequence[float], k: int = DEFAULT_K, relevant: int = RELEVANT_LABEL) -> float:
    """Share of relevant results found in the top k; NaN when none is relevant."""
    labels = np.asarray(labels)
    total = int(np.sum(labels >= relevant))
    if total == 0:
        return math.nan
    return float(np.sum(labels[:k] >= relevant)) / total


def per_query_metrics(frame, score_column: str = "score", k: int = DEFAULT_K):
    """One row per query: ndcg@k, mrr, recall@k, from columns query_id, label and scores."""
    import pandas as pd

    rows = []
    ordered = frame.sort_values(["query_id", "product_id"], kind="stable") if "product_id" in frame else frame
    for query_id, group in ordered.groupby("query_id", sort=True):
        ranked = group.sort_values(score_column, ascending=False, kind="stable")["label"].to_numpy()
        rows.append(
            {
                "query_id": query_id,
                f"ndcg@{k}": ndcg_at_k(ranked, k),
                "mrr": reciprocal_rank(ranked),
                f"recall@{k}": recall_at_k(ranked, k),
            }
        )
    return pd.DataFrame(rows, columns=["query_id", f"ndcg@{k}", "mrr", f"recall@{k}"])


def rank_metrics(frame, score_column: str = "score", k: int = DEFAULT_K) -> dict[str, float]:
    """Mean ndcg@k, mrr and recall@k over queries (NaN-valued queries skipped), plus the count."""
    per_query = per_query_metrics(frame, score_column, k)
    out = {name: float(np.nanmean(per_query[name])) if per_query[name].notna().any() else math.nan
           for name in (f"ndcg@{k}", "mrr", f"recall@{k}")}
    out["queries"] = int(len(per_query))
    return out
