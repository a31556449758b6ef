"""The evaluation gate and the ranker comparison, on small hand-made pairs."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.evaluation.gate import GateConfig, compare_rankers, decide, evaluate, score_rankers
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


def _metrics(model, champion=None):
    out = {"model": {"ndcg@10": model}}
    if champion is not None:
        out["champion"] = {"ndcg@10": champion}
    return out


def test_no_threshold_never_blesses_even_a_perfect_model():
    decision = decide(_metrics(1.0, champion=0.1), GateConfig())
    assert decision["blessed"] is False
    assert "no threshold is configured" in decision["reason"]


def test_floor_blesses_at_or_above_and_rejects_below():
    assert decide(_metrics(0.70), GateConfig(min_ndcg=0.7))["blessed"] is True
    low = decide(_metrics(0.69), GateConfig(min_ndcg=0.7))
    assert low["blessed"] is False and "FAIL" in low["reason"]
    assert decide(_metrics(math.nan), GateConfig(min_ndcg=0.0))["blessed"] is False


def test_champion_gain_is_required_when_a_champion_exists():
    gate = GateConfig(min_ndcg=0.5, min_gain_over_champion=0.02)
    assert decide(_metrics(0.80, champion=0.77), gate)["blessed"] is True
    lost = decide(_metrics(0.80, champion=0.79), gate)
    assert lost["blessed"] is False
    assert [c["passed"] for c in lost["checks"]] == [True, False]
    # No champion yet: the floor alone decides.
    assert decide(_metrics(0.80), gate)["blessed"] is True


def test_gain_threshold_alone_without_champion_does_not_bless():
    decision = decide(_metrics(0.99), GateConfig(min_gain_over_champion=0.0))
    assert decision["blessed"] is False and "no champion" in decision["reason"]


def test_gate_rejects_non_finite_thresholds_and_unknown_metric():
    with pytest.raises(ConfigError):
        GateConfig(min_ndcg=float("nan"))
    with pytest.raises(ConfigError, match="gate metric"):
        decide(_metrics(0.5), GateConfig(min_ndcg=0.1, metric="map"))


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
    assert comparison.versus["same"] == pytest.approx(
        {"wins": 0, "losses": 0, "ties": 6, "mean_delta": 0.0, "sign_test_p": 1.0})


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
    assert versus["mean_delta"] == pytest.approx(0.0)


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
    result, comparison = evaluate(scored, ["model", "bm25", "champion"], GateConfig(min_ndcg=0.0))
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text)["blessed"] is True
    assert set(result["versus"]) == {"bm25", "champion"}
    page = render_evaluation_report(result, comparison.per_query, {"q0": "query zero"})
    assert page.startswith("<!doctype html>") and "BLESSED" in page
    assert page.count("data:image/png;base64,") == 2
    assert "Per-query wins and losses" in page


def test_evaluation_config_checks():
    from shoprank.core.stages.evaluate import EvaluationConfig

    for bad in (dict(baselines=("bm42",)), dict(runtime="tensorrt"), dict(k=0)):
        with pytest.raises(ConfigError):
            EvaluationConfig(**bad)


@pytest.mark.parametrize("wins, losses, expected", [(0, 0, 1.0), (3, 3, 1.0), (6, 0, 0.03125), (1, 5, 0.21875)])
def test_sign_test_p_values(wins, losses, expected):
    from shoprank.core.evaluation.gate import sign_test_p

    assert sign_test_p(wins, losses) == pytest.approx(expected)
