"""The gate's rule on rankers really scored: baselines beat, margins, the paired test, query counts."""

import math

import numpy as np
import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.evaluation.gate import GateConfig, evaluate, score_rankers
from shoprank.core.ranking.bm25 import bm25_scores


def _noisy(sd, seed):
    """A ranker: the label plus seeded Gaussian noise of standard deviation `sd`."""
    return lambda f: f["label"].to_numpy(dtype=float) + np.random.default_rng(seed).normal(0, sd, len(f))


def _judge(frame, scorers, gate, opponents=None):
    scored = score_rankers(frame, scorers)
    result, _ = evaluate(scored, list(scorers), gate, opponents=opponents)
    return result


def test_a_baseline_that_beats_the_model_blocks_the_blessing_whatever_min_ndcg_says(small_pairs):
    """Real BM25 on the sample's 60 queries against a model that ranks at random."""
    by_row = dict(zip(zip(small_pairs["query_id"], small_pairs["product_id"]), bm25_scores(small_pairs)))
    scorers = {"model": lambda f: np.random.default_rng(0).random(len(f)),
               "bm25": lambda f: [by_row[key] for key in zip(f["query_id"], f["product_id"])]}
    result = _judge(small_pairs, scorers, GateConfig(min_ndcg=0.0))
    assert result["rankers"]["bm25"]["ndcg@10"] > result["rankers"]["model"]["ndcg@10"]
    assert result["blessed"] is False
    assert "bm25 beats the model" in result["reason"]
    beats = next(c for c in result["checks"] if c["name"] == "beats bm25")
    assert beats["passed"] is False and beats["value"] < 0
    assert [c["passed"] for c in result["checks"] if c["name"] == "min_ndcg"] == [True]  # the floor alone would bless
    # the same model judged without the baseline rule passes the floor: the rule is what refused it
    assert _judge(small_pairs, scorers, GateConfig(min_ndcg=0.0, beat_baselines=False))["blessed"] is True
    # A shipped hybrid is named as what the baseline beats (the reason says which ranker was judged).
    scored = score_rankers(small_pairs, {"hybrid": scorers["model"], "bm25": scorers["bm25"]})
    hybrid, _ = evaluate(scored, ["hybrid", "bm25"], GateConfig(min_ndcg=0.0), candidate="hybrid", opponents=["bm25"])
    assert hybrid["blessed"] is False and "bm25 beats the hybrid" in hybrid["reason"]


def test_a_model_that_beats_every_baseline_is_blessed_by_the_default_gate(small_pairs):
    result = _judge(small_pairs, {"model": _noisy(0.3, 1), "bm25": _noisy(3.0, 2), "zeroshot": _noisy(2.0, 3)},
                    GateConfig())
    assert result["blessed"] is True, result["reason"]
    assert [c["name"] for c in result["checks"]] == ["min_queries", "beats bm25", "beats zeroshot"]
    for name in ("bm25", "zeroshot"):
        test = result["versus"][name]
        assert test["delta"] >= 0.01 and test["p_value"] < 0.05 and 0 < test["ci_low"] <= test["delta"] <= test["ci_high"]


def test_too_few_queries_is_never_blessed_and_the_reason_says_so(small_pairs):
    few = small_pairs[small_pairs["query_id"].isin(sorted(small_pairs["query_id"].unique())[:8])]
    scorers = {"model": _noisy(0.0, 0), "bm25": _noisy(3.0, 1)}  # a perfect model
    result = _judge(few, scorers, GateConfig(min_queries=20))
    assert result["blessed"] is False
    assert "too few to judge" in result["reason"] and "at least 20 needed" in result["reason"]
    assert _judge(few, scorers, GateConfig(min_queries=5))["blessed"] is True


def test_the_margin_decides_a_small_gain(small_pairs):
    scorers = {"model": _noisy(1.0, 5), "bm25": _noisy(1.2, 6)}
    result = _judge(small_pairs, scorers, GateConfig(margin=0.0))
    delta = result["versus"]["bm25"]["delta"]
    assert 0.0 < delta < 0.2, delta
    assert result["blessed"] is True
    assert _judge(small_pairs, scorers, GateConfig(margin=delta + 0.001))["blessed"] is False
    assert _judge(small_pairs, scorers, GateConfig(margin=delta - 0.001))["blessed"] is True
    # the same ranker twice: a gain of 0 does not reach the default margin
    same = _judge(small_pairs, {"model": _noisy(1.0, 5), "bm25": _noisy(1.0, 5)}, GateConfig())
    assert same["blessed"] is False and same["versus"]["bm25"]["p_value"] == 1.0


def test_require_significance_refuses_a_gain_the_paired_test_cannot_confirm(small_pairs):
    scorers = {"model": _noisy(1.0, 11), "bm25": _noisy(1.05, 12)}
    loose = _judge(small_pairs, scorers, GateConfig(margin=0.0))
    assert loose["blessed"] is True and loose["versus"]["bm25"]["p_value"] > 0.05
    strict = _judge(small_pairs, scorers, GateConfig(margin=0.0, require_significance=True))
    assert strict["blessed"] is False and "not significant at alpha 0.05" in strict["reason"]
    clear = _judge(small_pairs, {"model": _noisy(0.2, 1), "bm25": _noisy(3.0, 2)},
                   GateConfig(require_significance=True))
    assert clear["blessed"] is True and clear["versus"]["bm25"]["p_value"] < 0.01


def test_a_tolerated_regression_is_still_refused_when_significantly_worse(small_pairs):
    scorers = {"model": _noisy(2.0, 1), "bm25": _noisy(0.3, 2)}
    result = _judge(small_pairs, scorers, GateConfig(margin=-0.5))
    test = result["versus"]["bm25"]
    assert -0.5 < test["delta"] < 0 and test["p_value"] < 0.05
    assert result["blessed"] is False and "significantly worse" in result["reason"]


def test_same_seed_same_p_value_and_interval(small_pairs):
    scorers = {"model": _noisy(1.0, 11), "bm25": _noisy(1.05, 12)}
    first = _judge(small_pairs, scorers, GateConfig(seed=3))["versus"]["bm25"]
    again = _judge(small_pairs, scorers, GateConfig(seed=3))["versus"]["bm25"]
    other = _judge(small_pairs, scorers, GateConfig(seed=4))["versus"]["bm25"]
    assert first == again
    assert first["p_value"] != other["p_value"]  # 60 queries: sampled swaps, so the seed matters
    assert first["p_value"] == pytest.approx(other["p_value"], abs=0.03)


def test_champion_margin_comes_from_min_gain_over_champion(small_pairs):
    scorers = {"model": _noisy(1.0, 5), "champion": _noisy(1.0, 5)}  # the champion is the same ranker
    assert _judge(small_pairs, scorers, GateConfig())["blessed"] is False  # margin 0.01 > gain 0
    tolerant = _judge(small_pairs, scorers, GateConfig(min_gain_over_champion=0.0))
    assert tolerant["blessed"] is True
    assert [c["name"] for c in tolerant["checks"]] == ["min_queries", "min_gain_over_champion"]


def test_nothing_to_beat_and_no_threshold_never_blesses_a_perfect_model(small_pairs):
    perfect = {"model": _noisy(0.0, 0)}
    result = _judge(small_pairs, perfect, GateConfig())
    assert result["blessed"] is False and "no threshold is configured" in result["reason"]
    lonely = _judge(small_pairs, perfect, GateConfig(beat_baselines=False, min_gain_over_champion=0.0))
    assert lonely["blessed"] is False and "no champion" in lonely["reason"]
    assert _judge(small_pairs, perfect, GateConfig(min_ndcg=0.99))["blessed"] is True


def test_a_metric_no_query_defines_never_passes(small_pairs):
    single = small_pairs.groupby("query_id").head(1)  # one candidate per query: every query left out
    result = _judge(single, {"model": _noisy(0.0, 0), "bm25": _noisy(1.0, 1)}, GateConfig(min_queries=1, min_ndcg=0.0))
    assert result["blessed"] is False and result["versus"]["bm25"]["delta"] is None


@pytest.mark.parametrize("bad", [dict(min_ndcg=math.nan), dict(margin=1.5), dict(alpha=0.0), dict(min_queries=0),
                                 dict(resamples=10)])
def test_gate_config_refuses_values_out_of_range(bad):
    with pytest.raises(ConfigError, match="gate"):
        GateConfig(**bad)


def test_unknown_gate_metric_is_refused(small_pairs):
    with pytest.raises(ConfigError, match="gate metric"):
        _judge(small_pairs, {"model": _noisy(0.0, 0), "bm25": _noisy(1.0, 1)}, GateConfig(metric="map"))
