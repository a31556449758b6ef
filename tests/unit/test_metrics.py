"""Ranking metrics through ranx, with the project's conventions (ties, left-out queries)."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from shoprank.core.evaluation.metrics import per_query_metrics, rank_metrics, relevant_label, tie_orders


# Reference formulas written out by hand (the pre-ranx implementation, on one order, no ties).
def _dcg(ranked, k):
    return sum((2.0 ** label - 1.0) / math.log2(rank + 2) for rank, label in enumerate(ranked[:k]))


def _ndcg(ranked, k=10):
    ideal = _dcg(sorted(ranked, reverse=True), k)
    return math.nan if ideal == 0 else _dcg(ranked, k) / ideal


def _rr(ranked, relevant=2):
    return next((1.0 / (i + 1) for i, label in enumerate(ranked) if label >= relevant), math.nan)


def _recall(ranked, k=10, relevant=2):
    total = sum(label >= relevant for label in ranked)
    return math.nan if total == 0 else sum(label >= relevant for label in ranked[:k]) / total


def _one(labels, scores=None, k=10, relevant=2):
    scores = -np.arange(len(labels), dtype=float) if scores is None else scores
    frame = pd.DataFrame({"query_id": "q", "label": labels, "score": scores})
    return per_query_metrics(frame, k=k, relevant=relevant).iloc[0]


def test_ndcg_matches_hand_computation_and_truncates_at_k():
    # gains 2^l - 1: [7, 0, 3]; discounts log2(2), log2(3), log2(4)
    expected = (7 / 1 + 0 / math.log2(3) + 3 / 2) / (7 + 3 / math.log2(3))
    assert _one([3, 0, 2])["ndcg@10"] == pytest.approx(expected)
    assert _one([3, 2, 1, 0])["ndcg@10"] == pytest.approx(1.0)
    assert _one([0, 3], k=1)["ndcg@1"] == 0.0  # the relevant item sits below the cut


def test_mrr_and_recall_use_the_relevance_threshold():
    row = _one([1, 0, 2, 3], k=2)
    assert row["mrr"] == pytest.approx(1 / 3)  # label 1 is not relevant
    assert row["recall@2"] == 0.0
    assert _one([3, 0, 2, 0, 3], k=2)["recall@2"] == pytest.approx(1 / 3)


def test_rank_metrics_averages_per_query_and_skips_undefined():
    frame = pd.DataFrame({
        "query_id": ["a", "a", "b", "b", "c"],
        "label": [3, 0, 0, 2, 0],
        "score": [0.9, 0.1, 0.8, 0.2, 0.5],
    })
    m = rank_metrics(frame)
    ndcg_b = (3 / math.log2(3)) / 3
    assert m["ndcg@10"] == pytest.approx((1.0 + ndcg_b) / 2)  # query c has a single candidate
    assert m["mrr"] == pytest.approx((1.0 + 0.5) / 2)
    assert m["queries"] == 2 and m["queries_total"] == 3 and m["left_out_single_candidate"] == 1


def test_ranx_agrees_with_the_hand_written_formulas_on_the_sample(small_pairs):
    """The cross-check: on the sample's pairs, ranked by a tie-free noisy ranker, ranx's means
    equal the formulas above to 1e-12 (ties are the only place the two could differ)."""
    frame = small_pairs.assign(score=small_pairs["label"] + np.random.default_rng(3).normal(0, 1.5, len(small_pairs)))
    relevant = relevant_label(frame["label"])
    library = per_query_metrics(frame, relevant=relevant).set_index("query_id")
    assert len(library) == frame["query_id"].nunique() > 30
    for query_id, group in frame.groupby("query_id"):
        ranked = group.sort_values("score", ascending=False)["label"].tolist()
        row = library.loc[query_id]
        if row["left_out"] in ("single_candidate", "same_label"):
            assert math.isnan(row["ndcg@10"])
            continue
        assert row["ndcg@10"] == pytest.approx(_ndcg(ranked), abs=1e-12)
        if row["left_out"] == "":
            assert row["mrr"] == pytest.approx(_rr(ranked, relevant), abs=1e-12)
            assert row["recall@10"] == pytest.approx(_recall(ranked, 10, relevant), abs=1e-12)


def _brute_force(metric, labels, scores):
    """The metric averaged over every order of the tied candidates (ties broken every possible way)."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    values = []
    for perm in itertools.permutations(range(len(labels))):
        order = sorted(range(len(labels)), key=lambda i: (-scores[i], perm.index(i)))
        values.append(metric(list(labels[order])))
    return float(np.mean(values))


@pytest.mark.parametrize("labels,scores", [
    ([3, 0, 2, 0, 1], [0.5, 0.5, 0.5, 0.1, 0.9]),
    ([0, 0, 2, 3, 0, 1], [1.0, 1.0, 1.0, 1.0, 0.2, 0.2]),
    ([2, 0, 0, 0], [0.0, 0.0, 0.0, 0.0]),
])
def test_small_ties_give_the_exact_expected_value_over_every_tie_break(labels, scores):
    k = 3
    row = _one(labels, scores, k=k)
    assert row[f"ndcg@{k}"] == pytest.approx(_brute_force(lambda ls: _ndcg(ls, k), labels, scores))
    assert row["mrr"] == pytest.approx(_brute_force(_rr, labels, scores))
    assert row[f"recall@{k}"] == pytest.approx(_brute_force(lambda ls: _recall(ls, k), labels, scores))


def test_large_ties_are_estimated_close_to_the_expectation_and_seeded():
    labels = [3, 0, 0, 2, 0, 1, 0, 0, 2, 0, 3, 0]  # 12! orders: sampled
    frame = pd.DataFrame({"query_id": "q", "label": labels, "score": 0.0})
    # A constant ranker's expected DCG@10 is the mean gain times the discounts of ranks 1..10.
    gains = np.power(2.0, labels) - 1
    expected = gains.mean() * np.sum(1 / np.log2(np.arange(2, 12))) / _dcg(sorted(labels, reverse=True), 10)
    first = per_query_metrics(frame, seed=0)
    assert first["ndcg@10"].iloc[0] == pytest.approx(expected, abs=0.02)
    assert per_query_metrics(frame, seed=0).equals(first)  # same seed, same estimate
    assert len(tie_orders(labels, np.zeros(12), 10, 2, "q", 0)) == 256


def test_a_constant_ranker_scores_the_same_whatever_the_product_ids():
    labels = [3, 0, 0, 2, 0, 1, 0]
    results = []
    for ids in (list("abcdefg"), list("gfedcba"), ["x7", "a1", "m3", "b2", "z9", "c0", "k5"]):
        frame = pd.DataFrame({"query_id": "q", "product_id": ids, "label": labels, "score": 0.0})
        results.append(rank_metrics(frame))
    assert results[0] == results[1] == results[2]
    assert 0.0 < results[0]["ndcg@10"] < 1.0  # the mean over orders, not the best or worst one


def test_uninformative_queries_are_left_out_and_counted_never_nan():
    frame = pd.DataFrame({
        "query_id": ["one", "same", "same", "same", "norel", "norel", "ok", "ok"],
        "label":    [3,     2,      2,      2,      1,       0,       3,    0],
        "score":    [0.1,   0.3,    0.2,    0.1,    0.1,     0.9,     0.9,  0.1],
    })
    m = rank_metrics(frame, relevant=2)
    assert (m["left_out_single_candidate"], m["left_out_same_label"], m["left_out_no_relevant"]) == (1, 1, 1)
    # NDCG keeps the query with a positive label but none relevant; MRR and Recall do not
    assert m["queries"] == 2 and m["queries_with_relevant"] == 1 and m["queries_total"] == 4
    assert m["mrr"] == 1.0 and m["recall@10"] == 1.0
    table = per_query_metrics(frame, relevant=2).set_index("query_id")
    assert table.loc["same", "left_out"] == "same_label" and math.isnan(table.loc["same", "ndcg@10"])
    assert table.loc["norel", "ndcg@10"] == pytest.approx(_ndcg([0, 1]))
    nothing = rank_metrics(frame[frame["query_id"] == "one"])
    assert nothing["ndcg@10"] is None and nothing["mrr"] is None and nothing["queries"] == 0
    assert all(v is None or math.isfinite(v) for v in nothing.values())


def test_binary_labels_count_label_one_as_relevant():
    assert relevant_label([0, 1, 1, 0]) == 1 and relevant_label([0, 1, 2, 3]) == 2 and relevant_label([0, 1]) == 1
    frame = pd.DataFrame({"query_id": ["a", "a", "a", "b", "b"], "label": [0, 1, 0, 1, 0],
                          "score": [0.9, 0.5, 0.1, 0.2, 0.8]})
    m = rank_metrics(frame)  # threshold from the labels: 1
    assert m["mrr"] == pytest.approx((0.5 + 0.5) / 2) and m["recall@10"] == 1.0 and m["queries_with_relevant"] == 2
