"""The evaluation gate and the ranker comparison, on small hand-made pairs."""

import json

import numpy as np
import pandas as pd
import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.evaluation.gate import GateConfig, compare_rankers, evaluate, score_rankers
from shoprank.core.evaluation.report import render_evaluation_report


def _pairs(n_queries=6, n_products=5, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_queries):
        labels = rng.permutation([3, 2, 1, 0, 0][:n_products])
        for p, label in enumerate(labels):
            rows.append({"query_id": f"q{q}", "query": f"query {q}", "product_id": f"p{p}",
                         "product_text": f"product {p}", "label": int(label), "split": "test"})
    return pd.DataFrame(rows)


def test_perfect_ranker_scores_one_and_wins_count_per_query():
    pairs = _pairs()
    scored = score_rankers(pairs, {
        "model": lambda f: f["label"].to_numpy(dtype=float),        # perfect
        "reversed": lambda f: -f["label"].to_numpy(dtype=float),    # worst possible
        "same": lambda f: f["label"].to_numpy(dtype=float) * 2.0,   # same order as the model
    })
    comparison = compare_rankers(scored, ["model", "reversed", "same"])
    assert comparison.metrics["model"]["ndcg@10"] == pytest.approx(1.0)
    assert comparison.metrics["model"]["mrr"] == pytest.approx(1.0)
    assert comparison.metrics["model"]["recall@10"] == pytest.approx(1.0)
    assert comparison.metrics["reversed"]["ndcg@10"] < 0.6
    assert comparison.versus["reversed"]["wins"] == 6
    assert comparison.versus["reversed"]["losses"] == 0
    assert comparison.versus["reversed"]["delta"] > 0.4 and comparison.versus["reversed"]["queries"] == 6
    # 6 queries: 2^6 = 64 sign swaps, so the randomisation test is exact: only the all-positive and
    # all-negative swaps are as extreme as the observed one (every delta is positive)
    assert comparison.versus["reversed"]["p_value"] == pytest.approx(2 / 64)
    assert comparison.versus["same"] == pytest.approx(
        {"wins": 0, "losses": 0, "ties": 6, "delta": 0.0, "p_value": 1.0, "ci_low": 0.0, "ci_high": 0.0,
         "queries": 6, "metric": "ndcg@10"})


def test_wins_and_losses_split_by_query():
    pairs = _pairs(n_queries=4)
    perfect = pairs["label"].to_numpy(dtype=float)
    # The baseline is perfect on q0 and q1 and reversed on q2 and q3; the model the opposite.
    first_half = pairs["query_id"].isin(["q0", "q1"]).to_numpy()
    scored = score_rankers(pairs, {
        "model": lambda f: np.where(first_half, -perfect, perfect),
        "base": lambda f: np.where(first_half, perfect, -perfect),
    })
    versus = compare_rankers(scored, ["model", "base"]).versus["base"]
    assert (versus["wins"], versus["losses"], versus["ties"]) == (2, 2, 0)
    assert versus["delta"] == pytest.approx(0.0) and versus["p_value"] == pytest.approx(1.0)
    assert versus["ci_low"] < 0.0 < versus["ci_high"]


def test_score_rankers_rejects_wrong_length_and_nan():
    pairs = _pairs(n_queries=2)
    with pytest.raises(ConfigError, match="expected 10 scores"):
        score_rankers(pairs, {"bad": lambda f: np.zeros(3)})
    with pytest.raises(ConfigError, match="finite"):
        score_rankers(pairs, {"bad": lambda f: np.full(len(f), np.nan)})


def test_evaluate_result_is_strict_json_and_report_renders():
    pairs = _pairs()
    rng = np.random.default_rng(1)
    scored = score_rankers(pairs, {
        "model": lambda f: f["label"].to_numpy(dtype=float) + rng.normal(0, 0.5, len(f)),
        "bm25": lambda f: rng.normal(size=len(f)),
        "champion": lambda f: f["label"].to_numpy(dtype=float) + rng.normal(0, 2.0, len(f)),
    })
    result, comparison = evaluate(scored, ["model", "bm25", "champion"], GateConfig(min_ndcg=0.0, min_queries=5))
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text)["blessed"] is True, result["reason"]
    assert result["shipped"] == "model" and set(result["versus"]) == {"bm25", "champion"}
    assert set(result["versus"]["bm25"]) >= {"delta", "p_value", "ci_low", "ci_high", "queries"}
    page = render_evaluation_report(result, comparison.per_query, {"q0": "query zero"})
    assert page.startswith("<!doctype html>") and "BLESSED" in page
    assert page.count("data:image/png;base64,") == 2
    assert "Paired tests of the shipped model" in page and "CI low" in page and "p-value" in page


def test_evaluation_config_checks():
    from shoprank.core.stages.evaluate import EvaluationConfig

    for bad in (dict(baselines=("bm42",)), dict(runtime="tensorrt"), dict(k=0)):
        with pytest.raises(ConfigError):
            EvaluationConfig(**bad)
