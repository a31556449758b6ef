import itertools
import math

import numpy as np
import pandas as pd
import pytest

from shoprank.core.evaluation.metrics import (dcg_at_k, ndcg_at_k, per_query_metrics, rank_metrics, recall_at_k,
                                              reciprocal_rank, relevant_label)


def test_dcg_matches_hand_computation():
    # gains 2^l - 1: [7, 0, 3]; discounts log2(2), log2(3), log2(4)
    expected = 7 / 1 + 0 / math.log2(3) + 3 / 2
    assert dcg_at_k([3, 0, 2], 10) == pytest.approx(expected)


def test_ndcg_of_ideal_and_reversed_order():
    assert ndcg_at_k([3, 2, 1, 0]) == pytest.approx(1.0)
    worst = (0 + 1 / math.log2(3) + 3 / 2 + 7 / math.log2(5)) / (7 + 3 / math.log2(3) + 1 / 2)
    assert ndcg_at_k([0, 1, 2, 3]) == pytest.approx(worst)


def test_ndcg_truncates_at_k():
    # relevant item below the cut contributes nothing at k=1
    assert ndcg_at_k([0, 3], k=1) == 0.0
    assert math.isnan(ndcg_at_k([0, 0, 0]))


def test_mrr_and_recall_use_the_relevance_threshold():
    assert reciprocal_rank([1, 0, 2, 3]) == pytest.approx(1 / 3)  # label 1 is not relevant
    assert math.isnan(reciprocal_rank([0, 1]))
    assert recall_at_k([3, 0, 2, 0, 3], k=2) == pytest.approx(1 / 3)


def test_rank_metrics_averages_per_query_and_skips_undefined():
    frame = pd.DataFrame({
        "query_id": ["a", "a", "b", "b", "c"],
        "product_id": ["1", "2", "1", "2", "1"],
        "label": [3, 0, 0, 2, 0],
        "score": [0.9, 0.1, 0.8, 0.2, 0.5],
    })
    m = rank_metrics(frame)
    ndcg_b = (3 / math.log2(3)) / 3
    assert m["ndcg@10"] == pytest.approx((1.0 + ndcg_b) / 2)  # query c has a single candidate
    assert m["mrr"] == pytest.approx((1.0 + 0.5) / 2)
    assert m["queries"] == 2 and m["queries_total"] == 3 and m["left_out_single_candidate"] == 1


def _brute_force(metric, labels, scores):
    """The metric averaged over every order of the tied candidates (ties broken every possible way)."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    values = []
    for perm in itertools.permutations(range(len(labels))):
        # A tie-break: sort by score, then by this permutation's position.
        order = sorted(range(len(labels)), key=lambda i: (-scores[i], perm.index(i)))
        values.append(metric(labels[order]))
    return float(np.mean(values))


@pytest.mark.parametrize("labels,scores", [
    ([3, 0, 2, 0, 1], [0.5, 0.5, 0.5, 0.1, 0.9]),
    ([0, 0, 2, 3, 0, 1], [1.0, 1.0, 1.0, 1.0, 0.2, 0.2]),
    ([2, 0, 0, 0], [0.0, 0.0, 0.0, 0.0]),
])
def test_tied_scores_give_the_expected_value_over_every_tie_break(labels, scores):
    k = 3
    assert ndcg_at_k(labels, k, scores) == pytest.approx(_brute_force(lambda ls: ndcg_at_k(ls, k), labels, scores))
    assert reciprocal_rank(labels, 2, scores) == pytest.approx(_brute_force(lambda ls: reciprocal_rank(ls, 2), labels, scores))
    assert recall_at_k(labels, k, 2, scores) == pytest.approx(_brute_force(lambda ls: recall_at_k(ls, k, 2), labels, scores))
    assert dcg_at_k(labels, k, scores) == pytest.approx(_brute_force(lambda ls: dcg_at_k(ls, k), labels, scores))


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
    nothing = rank_metrics(frame[frame["query_id"] == "one"])
    assert nothing["ndcg@10"] is None and nothing["mrr"] is None and nothing["queries"] == 0
    assert all(v is None or math.isfinite(v) for v in nothing.values())


def test_binary_labels_count_label_one_as_relevant():
    assert relevant_label([0, 1, 1, 0]) == 1 and relevant_label([0, 1, 2, 3]) == 2 and relevant_label([0, 1]) == 1
    frame = pd.DataFrame({"query_id": ["a", "a", "a", "b", "b"], "label": [0, 1, 0, 1, 0],
                          "score": [0.9, 0.5, 0.1, 0.2, 0.8]})
    m = rank_metrics(frame)  # threshold from the labels: 1
    assert m["mrr"] == pytest.approx((0.5 + 0.5) / 2) and m["recall@10"] == 1.0 and m["queries_with_relevant"] == 2
