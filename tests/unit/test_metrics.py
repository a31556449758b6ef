import math

import pandas as pd
import pytest

from shoprank.core.evaluation.metrics import dcg_at_k, ndcg_at_k, rank_metrics, recall_at_k, reciprocal_rank


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
    assert m["ndcg@10"] == pytest.approx((1.0 + ndcg_b) / 2)  # query c has no positive label
    assert m["mrr"] == pytest.approx((1.0 + 0.5) / 2)
    assert m["queries"] == 3
