"""Ranking metrics over graded labels (0..3): NDCG@k, MRR and Recall@k, tie-neutral.

NDCG uses exponential gain (2^label - 1) / log2(rank + 1) (Jarvelin & Kekalainen, 2002; the
gain of Burges et al., 2005). A result is *relevant* for MRR and Recall when its label >=
the relevance threshold: 2 (Exact or Substitute) on the ESCI scale, 1 for binary 0/1 judgments
(`relevant_label` tells them apart on the whole data set).

Ties: candidates with equal scores have no order, so every metric is its *expected value over
all orders of the tied candidates* (each order equally likely), in closed form (McSherry &
Najork, "Computing information retrieval performance measures efficiently in the presence of
tied scores", ECIR 2008): a tied group at ranks a..b contributes its mean gain times the sum of
the discounts of those ranks (DCG), and its relevant share of the ranks within k (Recall); the
reciprocal rank averages 1/rank of the group's first relevant candidate over where it can fall.
So a constant ranker scores the same whatever its candidates' ids, and a ranker gains nothing
from breaking ties in its favour.

Queries left out (and counted, never scored 1.0 or NaN into a mean):
- a single candidate, or all candidates with the same label: every order is equally good, so
  the query says nothing about the ranker (left out of every metric);
- no candidate with a relevant label: MRR and Recall are undefined (left out of those two; NDCG
  keeps the query when some label is positive).
A mean over no query is None, never NaN.
"""

from __future__ import annotations

import math
from math import comb
from typing import Sequence

import numpy as np

RELEVANT_LABEL = 2
DEFAULT_K = 10
# Below this many queries a split's mean moves by several points when one query changes.
FEW_QUERIES = 30
LEFT_OUT_REASONS = ("single_candidate", "same_label", "no_relevant")


def relevant_label(labels) -> int:
    """The threshold for MRR and Recall on a data set: RELEVANT_LABEL (2) on graded labels, 1
    when no label exceeds 1 (binary judgments, e.g. click-derived, where 1 means relevant).
    Pass every judged label of the data set, not one split's."""
    labels = np.asarray(labels)
    return RELEVANT_LABEL if labels.size and labels.max() > 1 else 1


def _ranked_groups(labels, scores) -> list[tuple[int, np.ndarray]]:
    """(first rank, labels of the group) for each tie group, best scores first; ranks from 1.
    Without scores, the labels are in ranked order with no ties."""
    labels = np.asarray(labels, dtype=float)
    if scores is None:
        return [(i + 1, labels[i : i + 1]) for i in range(labels.size)]
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    labels, scores = labels[order], scores[order]
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
    ends = np.r_[starts[1:], labels.size]
    return [(int(s) + 1, labels[s:e]) for s, e in zip(starts, ends)]


def _discounts(first: int, last: int, k: int) -> float:
    """Sum of 1/log2(rank + 1) over ranks first..last that are within k."""
    last = min(last, k)
    return float(np.sum(1.0 / np.log2(np.arange(first, last + 1) + 1.0))) if last >= first else 0.0


def dcg_at_k(labels: Sequence[float], k: int, scores: Sequence[float] | None = None) -> float:
    """(Expected) DCG@k: labels in ranked order, or ranked by `scores` with ties averaged."""
    total = 0.0
    for first, group in _ranked_groups(labels, scores):
        if first > k:
            break
        total += float(np.mean(np.power(2.0, group) - 1.0)) * _discounts(first, first + group.size - 1, k)
    return total


def ndcg_at_k(labels: Sequence[float], k: int = DEFAULT_K, scores: Sequence[float] | None = None) -> float:
    """(Expected) NDCG@k; NaN when no label is positive (the ideal DCG is 0)."""
    ideal = dcg_at_k(sorted(labels, reverse=True), k)
    return math.nan if ideal == 0 else dcg_at_k(labels, k, scores) / ideal


def reciprocal_rank(labels: Sequence[float], relevant: int = RELEVANT_LABEL,
                    scores: Sequence[float] | None = None) -> float:
    """(Expected) 1 / rank of the first relevant result; NaN when none is relevant.

    In a tied group of m candidates at ranks n+1..n+m holding r relevant ones, the first relevant
    one is at n+j with probability C(m-j, r-1) / C(m, r)."""
    for first, group in _ranked_groups(labels, scores):
        r, m = int(np.sum(group >= relevant)), group.size
        if r:
            return sum(comb(m - j, r - 1) / comb(m, r) / (first - 1 + j) for j in range(1, m - r + 2))
    return math.nan


def recall_at_k(labels: Sequence[float], k: int = DEFAULT_K, relevant: int = RELEVANT_LABEL,
                scores: Sequence[float] | None = None) -> float:
    """(Expected) share of the relevant results within the top k; NaN when none is relevant."""
    total = int(np.sum(np.asarray(labels) >= relevant))
    if total == 0:
        return math.nan
    found = 0.0
    for first, group in _ranked_groups(labels, scores):
        within = max(0, min(first + group.size - 1, k) - first + 1)
        found += np.sum(group >= relevant) * within / group.size
    return float(found) / total


def left_out_reason(labels: Sequence[float], relevant: int = RELEVANT_LABEL) -> str:
    """Why a query is left out of ranking metrics ("" when it is not): see LEFT_OUT_REASONS."""
    labels = np.asarray(labels)
    if labels.size < 2:
        return "single_candidate"
    if np.all(labels == labels[0]):
        return "same_label"
    if not np.any(labels >= relevant):
        return "no_relevant"
    return ""


def per_query_metrics(frame, score_column: str = "score", k: int = DEFAULT_K, relevant: int | None = None):
    """One row per query: ndcg@k, mrr, recall@k (NaN where left out), candidates, left_out (reason or "").

    frame: columns query_id, label and `score_column`. relevant: the MRR/Recall threshold
    (None: relevant_label of this frame's labels; pass the data set's when scoring one split).
    """
    import pandas as pd

    relevant = relevant_label(frame["label"]) if relevant is None else relevant
    rows = []
    for query_id, group in frame.groupby("query_id", sort=True):
        labels, scores = group["label"].to_numpy(dtype=float), group[score_column].to_numpy(dtype=float)
        reason = left_out_reason(labels, relevant)
        ranked = reason in ("", "no_relevant")
        with_relevant = reason == ""
        rows.append({
            "query_id": query_id,
            f"ndcg@{k}": ndcg_at_k(labels, k, scores) if ranked else math.nan,
            "mrr": reciprocal_rank(labels, relevant, scores) if with_relevant else math.nan,
            f"recall@{k}": recall_at_k(labels, k, relevant, scores) if with_relevant else math.nan,
            "candidates": int(labels.size),
            "left_out": reason,
        })
    return pd.DataFrame(rows, columns=["query_id", f"ndcg@{k}", "mrr", f"recall@{k}", "candidates", "left_out"])


def summarise(per_query, k: int = DEFAULT_K) -> dict:
    """Means over the queries each metric is defined on (None when there is none), and the counts:

    queries: queries in the NDCG mean; queries_with_relevant: in the MRR and Recall means;
    queries_total: all queries; left_out_<reason>: queries left out for each reason.
    """
    out: dict = {}
    for name in (f"ndcg@{k}", "mrr", f"recall@{k}"):
        values = per_query[name].dropna().to_numpy(dtype=float)
        out[name] = float(values.mean()) if values.size else None
    out["queries"] = int(per_query[f"ndcg@{k}"].notna().sum())
    out["queries_with_relevant"] = int(per_query["mrr"].notna().sum())
    out["queries_total"] = int(len(per_query))
    for reason in LEFT_OUT_REASONS:
        out[f"left_out_{reason}"] = int((per_query["left_out"] == reason).sum())
    return out


def rank_metrics(frame, score_column: str = "score", k: int = DEFAULT_K, relevant: int | None = None) -> dict:
    """Mean ndcg@k, mrr and recall@k over queries (None when none qualifies) and the query counts
    (see summarise); every value is a finite number or None."""
    return summarise(per_query_metrics(frame, score_column, k, relevant), k)
