"""Ranking metrics over graded labels (0..3): NDCG@k, MRR and Recall@k, computed by ranx.

The per-query numbers come from ranx (Bassani, "ranx: A Blazing-Fast Python Library for Ranking
Evaluation and Comparison", ECIR 2022): `ndcg_burges@k` (exponential gain (2^label - 1) /
log2(rank + 1), Burges et al., 2005; Jarvelin & Kekalainen, 2002), `mrr-l<r>` and
`recall@k-l<r>`. A result is *relevant* for MRR and Recall when its label >= the relevance
threshold r: 2 (Exact or Substitute) on the ESCI scale, 1 for binary 0/1 judgments
(`relevant_label` tells them apart on the whole data set).

Conventions this module adds around the library (README "Ranking metrics"):

Ties: candidates with equal scores have no order, so every metric is its *expected value over
the orders of the tied candidates* (McSherry & Najork, ECIR 2008). ranx scores one order, so
each query with ties is scored on several orders of its tied candidates and averaged: on every
order when the tie groups that can change a metric have at most EXACT_ORDERS orders together (exact),
otherwise on SAMPLED_ORDERS random orders from a generator seeded by `seed` and the query id
(an estimate; a constant ranker over 20 candidates is within about 0.01 NDCG of the expectation).
Candidates are named by their row position, never by product id, so ids never decide a tie.

Queries left out (and counted, never scored 1.0 or NaN into a mean):
- a single candidate, or all candidates with the same label: every order is equally good, so
  the query says nothing about the ranker (left out of every metric);
- no candidate with a relevant label: MRR and Recall are undefined (left out of those two; NDCG
  keeps the query when some label is positive).
A mean over no query is None, never NaN.

Cost: ranx compiles its kernels with numba on first use (16.2 s on 2 CPU cores at load 8) and
caches them on disk (beside the package, else in the user's cache folder or NUMBA_CACHE_DIR);
a later process's first call takes 4.5 s with its imports, and each further call milliseconds.
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
import zlib

import numpy as np

log = logging.getLogger(__name__)

RELEVANT_LABEL = 2
DEFAULT_K = 10
# Below this many queries a split's mean moves by several points when one query changes.
FEW_QUERIES = 30
LEFT_OUT_REASONS = ("single_candidate", "same_label", "no_relevant")
# Tie groups with at most this many orders together are scored on every order (exact expectation).
EXACT_ORDERS = 720
# Otherwise this many seeded random orders estimate it.
SAMPLED_ORDERS = 256


def relevant_label(labels) -> int:
    """The threshold for MRR and Recall on a data set: RELEVANT_LABEL (2) on graded labels, 1
    when no label exceeds 1 (binary judgments, e.g. click-derived, where 1 means relevant).
    Pass every judged label of the data set, not one split's."""
    labels = np.asarray(labels)
    return RELEVANT_LABEL if labels.size and labels.max() > 1 else 1


def left_out_reason(labels, relevant: int = RELEVANT_LABEL) -> str:
    """Why a query is left out of ranking metrics ("" when it is not): see LEFT_OUT_REASONS."""
    labels = np.asarray(labels)
    if labels.size < 2:
        return "single_candidate"
    if np.all(labels == labels[0]):
        return "same_label"
    if not np.any(labels >= relevant):
        return "no_relevant"
    return ""


def tie_orders(labels, scores, k: int, relevant: int, key: str = "", seed: int = 0) -> list[np.ndarray]:
    """Orders (row positions, best first) that average out the ties of one query's `scores`.

    One order without ties. Tie groups starting after rank k and after the first group holding a
    relevant label change no metric and keep their row order; the others are permuted every way
    (when at most EXACT_ORDERS orders together) or SAMPLED_ORDERS times at random (seeded by
    `seed` and `key`, the query id)."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], ranked.size]
    relevant_at = np.flatnonzero(labels[order] >= relevant)
    horizon = max(k, int(relevant_at[0]) + 1 if relevant_at.size else 0)
    groups = [(s, e) for s, e in zip(starts, ends) if e - s > 1 and s < horizon]
    if not groups:
        return [order]
    count = math.prod(math.factorial(e - s) for s, e in groups)
    if count <= EXACT_ORDERS:
        choices = itertools.product(*[itertools.permutations(range(s, e)) for s, e in groups])
    else:
        rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
        choices = ([rng.permutation(np.arange(s, e)) for s, e in groups] for _ in range(SAMPLED_ORDERS))
    orders = []
    for choice in choices:
        positions = np.arange(order.size)
        for (s, e), permuted in zip(groups, choice):
            positions[s:e] = permuted
        orders.append(order[positions])
    return orders


def _ranx_scores(queries: list[tuple[str, np.ndarray, list[np.ndarray]]], k: int, relevant: int) -> dict:
    """{metric: {query_id: mean over its orders}} for (query_id, labels, orders) through ranx.

    ranx's array input: per query, qrels rows [doc, label] by label descending, run rows
    [doc, score] by score descending; docs are row positions."""
    from numba.typed import List
    from ranx import evaluate

    qrels, run, owner = List(), List(), []
    for query_id, labels, orders in queries:
        judged = np.flatnonzero(labels > 0)
        judged = judged[np.argsort(-labels[judged], kind="stable")]
        judged_rows = np.column_stack([judged, labels[judged]]).astype(np.float64)
        for order in orders:
            qrels.append(judged_rows)
            run.append(np.column_stack([order, np.arange(order.size, 0, -1)]).astype(np.float64))
            owner.append(query_id)
    names = {"ndcg": f"ndcg_burges@{k}", "mrr": f"mrr-l{relevant}", "recall": f"recall@{k}-l{relevant}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64 -> int64 cast notice inside ranx
        values = evaluate(qrels, run, list(names.values()), return_mean=False)
    import pandas as pd

    table = pd.DataFrame({short: values[metric] for short, metric in names.items()}).assign(query_id=owner)
    means = table.groupby("query_id", sort=False).mean()
    return {short: means[short].to_dict() for short in names}


def per_query_metrics(frame, score_column: str = "score", k: int = DEFAULT_K, relevant: int | None = None,
                      seed: int = 0):
    """One row per query: ndcg@k, mrr, recall@k (NaN where left out), candidates, left_out (reason or "").

    frame: columns query_id, label and `score_column`. relevant: the MRR/Recall threshold
    (None: relevant_label of this frame's labels; pass the data set's when scoring one split).
    seed: seeds the sampled tie orders (module docstring).
    """
    import pandas as pd

    relevant = relevant_label(frame["label"]) if relevant is None else relevant
    rows, ranked = [], []
    for query_id, group in frame.groupby("query_id", sort=True):
        labels, scores = group["label"].to_numpy(dtype=float), group[score_column].to_numpy(dtype=float)
        reason = left_out_reason(labels, relevant)
        rows.append({"query_id": query_id, "candidates": int(labels.size), "left_out": reason})
        if reason in ("", "no_relevant"):
            ranked.append((str(query_id), labels, tie_orders(labels, scores, k, relevant, str(query_id), seed)))
    scores = _ranx_scores(ranked, k, relevant) if ranked else {"ndcg": {}, "mrr": {}, "recall": {}}
    for row in rows:
        key, with_relevant = str(row["query_id"]), row["left_out"] == ""
        row[f"ndcg@{k}"] = scores["ndcg"].get(key, math.nan)
        row["mrr"] = scores["mrr"][key] if with_relevant else math.nan
        row[f"recall@{k}"] = scores["recall"][key] if with_relevant else math.nan
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
