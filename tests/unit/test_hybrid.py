"""The hybrid blend: BM25 from stored statistics, the fused score, and the fit on validation only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.ranking.hybrid import HYBRID_FILE, Blend, BM25Stats, load_blend, normalise
from shoprank.core.ranking.hybrid_fit import HybridConfig, fit_blend, weight_grid
from support.tiny_model import toy_pairs

BM25_ONLY = HybridConfig(components=("bm25",))


def _pairs():
    """24 queries, 12 of them validation; the test split is the last 6 training queries relabelled."""
    pairs = toy_pairs(n_queries=24, per_query=8, validation_queries=12, seed=3)
    pairs.loc[pairs["query_id"].isin([f"q{q:03d}" for q in range(6)]), "split"] = "test"
    return pairs


def _noise(frame, seed=0):
    return np.random.default_rng(seed).normal(size=len(frame))


def test_bm25_stats_give_the_scores_of_the_bm25s_index():
    from shoprank.core.ranking.bm25 import bm25_scores

    pairs = _pairs()
    stats = BM25Stats.from_texts(pairs["product_text"].tolist())
    ours = np.concatenate([stats.scores(q, group["product_text"].tolist())
                           for q, group in pairs.groupby("query", sort=False)])
    order = np.concatenate(list(pairs.groupby("query", sort=False).indices.values()))
    np.testing.assert_allclose(ours, bm25_scores(pairs)[order], rtol=1e-5, atol=1e-6)
    assert stats.scores("zzz unknown", ["red shoe"]).tolist() == [0.0]


def test_blend_equals_ranx_wsum_of_min_max_normalised_runs():
    from ranx import Run, fuse

    pairs = _pairs()
    stats = BM25Stats.from_texts(pairs["product_text"].tolist())
    blend = Blend(weights={"model": 0.6, "bm25": 0.4}, bm25=stats, ships=True)
    model = _noise(pairs)
    ours = blend.score_frame(pairs, model)
    bm25 = np.zeros(len(pairs))
    for rows in pairs.groupby("query_id").indices.values():
        bm25[rows] = stats.scores(pairs["query"].iloc[rows[0]], pairs["product_text"].iloc[rows].tolist())

    def run(scores):
        out = {}
        for qid, pid, s in zip(pairs["query_id"], pairs["product_id"], scores):
            out.setdefault(qid, {})[pid] = float(s)
        return Run(out)

    fused = fuse([run(model), run(bm25)], norm="min-max", method="wsum", params={"weights": [0.6, 0.4]}).to_dict()
    theirs = [fused[qid][pid] for qid, pid in zip(pairs["query_id"], pairs["product_id"])]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_fit_ships_the_hybrid_when_bm25_carries_what_the_model_lacks():
    blend = fit_blend(_pairs(), _noise, BM25_ONLY)  # a model that ranks at random; BM25 matches the words
    assert blend.ships and blend.is_hybrid
    assert blend.weight("bm25") > 0.5
    assert blend.validation["hybrid"] >= blend.validation["model"] + 0.05


def test_fit_keeps_the_model_alone_when_bm25_adds_nothing():
    # A model that ranks by the labels themselves: no blend can beat it.
    blend = fit_blend(_pairs(), lambda frame: frame["label"].to_numpy() + 0.01 * _noise(frame), BM25_ONLY)
    assert not blend.ships
    assert "model alone" in blend.reason


def test_fit_reads_only_validation_rows_and_is_deterministic():
    pairs = _pairs()
    seen = []

    def model(frame):
        seen.append(set(frame["split"]))
        return _noise(frame)

    first = fit_blend(pairs, model, BM25_ONLY).to_dict()
    shuffled = pairs.copy()
    test = shuffled["split"] == "test"
    shuffled.loc[test, "label"] = np.random.default_rng(9).permutation(shuffled.loc[test, "label"].to_numpy())
    second = fit_blend(shuffled, model, BM25_ONLY).to_dict()
    assert seen == [{"validation"}, {"validation"}]
    for d in (first, second):
        d["validation"].pop("seconds")
    assert first == second


def test_weight_grid_is_the_simplex_with_the_model_first():
    grid = weight_grid(("bm25", "zeroshot"), 10)
    assert len(grid) == 55 and grid[0] == {"model": 1.0, "bm25": 0.0, "zeroshot": 0.0}
    assert all(abs(sum(w.values()) - 1) < 1e-9 and w["model"] > 0 for w in grid)
    assert {"model": 0.1, "bm25": 0.2, "zeroshot": 0.7} in grid  # ranx's float-sum grid drops this one


def test_hybrid_json_round_trip_and_bad_files(tmp_path):
    pairs = _pairs()
    blend = fit_blend(pairs, _noise, BM25_ONLY)
    blend.save(tmp_path)
    again = load_blend(tmp_path)
    np.testing.assert_array_equal(again.score_frame(pairs, _noise(pairs)), blend.score_frame(pairs, _noise(pairs)))
    (tmp_path / HYBRID_FILE).write_text(json.dumps({**blend.to_dict(), "weights": {"model": 0.5, "bm25": 0.9}}))
    with pytest.raises(ConfigError, match="summing to 1"):
        load_blend(tmp_path)
    (tmp_path / HYBRID_FILE).write_text("{not json")
    with pytest.raises(ConfigError, match="expected JSON"):
        load_blend(tmp_path)
    assert load_blend(tmp_path / "missing") is None
    with pytest.raises(ConfigError, match="never on 'test'"):
        HybridConfig(split="test")


def test_zero_weight_components_are_never_computed():
    from shoprank.core.ranking import encoder

    encoder._load.cache_clear()
    blend = Blend(weights={"model": 0.7, "bm25": 0.3, "zeroshot": 0.0},
                  bm25=BM25Stats.from_texts(["red shoe", "blue hat"]), ships=True)
    out = blend.apply([0.1, 0.9], "red shoe", ["red shoe", "blue hat"])
    assert encoder._load.cache_info().currsize == 0
    assert out[0] == pytest.approx(0.3) and out[1] == pytest.approx(0.7)
    assert normalise([2.0, 2.0], "min-max").tolist() == [0.0, 0.0]


def test_msmarco_component_scores_each_query_as_one_set_so_serving_equals_evaluation():
    """MS MARCO's int8 scores move with their batch-mates: the blend scores each query's candidates
    as one set, so a frame of many queries (evaluation) and one request (serving) agree exactly,
    and a fit that may use it gets the same numbers."""
    from shoprank.core.ranking.baselines import msmarco_scores

    frame = _pairs().head(24)  # 3 queries of 8 candidates
    model = _noise(frame, seed=5)
    blend = Blend(weights={"model": 0.5, "msmarco": 0.5})
    assert blend.runs_network and not Blend(weights={"model": 0.5, "bm25": 0.5}, bm25=BM25Stats.from_texts(
        frame["product_text"].tolist())).runs_network
    whole = blend.score_frame(frame, model)
    for query_id, rows in frame.groupby("query_id", sort=False).indices.items():
        group = frame.iloc[rows]
        alone = msmarco_scores(group["query"].tolist(), group["product_text"].tolist())
        served = blend.apply(model[rows], group["query"].iloc[0], group["product_text"].tolist())
        np.testing.assert_array_equal(whole[rows], served)
        expected = 0.5 * normalise(model[rows], "min-max") + 0.5 * normalise(alone.astype(np.float64), "min-max")
        np.testing.assert_allclose(served, expected, rtol=1e-6, atol=1e-6)


def test_fit_weights_msmarco_when_it_carries_what_the_model_lacks():
    """Labels that follow MS MARCO's own order: the fit gives it weight and the hybrid ships."""
    pairs = _pairs()
    teacher = Blend(weights={"model": 0.5, "msmarco": 0.5}).component_scores(
        pairs["query"].tolist(), pairs["product_text"].tolist())["msmarco"]
    ranks = pairs.assign(t=teacher).groupby("query_id")["t"].rank(method="first", ascending=False)
    pairs["label"] = np.select([ranks <= 2, ranks <= 4], [3, 1], 0)
    blend = fit_blend(pairs, lambda frame: _noise(frame, seed=9), HybridConfig(components=("msmarco",)))
    assert blend.weight("msmarco") > 0 and blend.ships, blend.reason


def test_msmarco_stays_out_unless_it_beats_the_best_blend_without_it_by_the_margin():
    """Labels that follow BM25's order exactly: a BM25 blend is already perfect on validation, so
    MS MARCO (a cross-encoder per request) cannot earn its cost and gets weight 0."""
    pairs = _pairs()
    stats = BM25Stats.from_texts(pairs["product_text"].tolist())
    bm25 = np.concatenate([stats.scores(q, g["product_text"].tolist()) for q, g in pairs.groupby("query", sort=False)])
    pairs = pairs.iloc[np.concatenate(list(pairs.groupby("query", sort=False).indices.values()))].reset_index(drop=True)
    ranks = pairs.assign(b=bm25).groupby("query_id")["b"].rank(method="first", ascending=False)
    pairs["label"] = np.select([ranks <= 2, ranks <= 4], [3, 1], 0)
    blend = fit_blend(pairs, lambda frame: _noise(frame, seed=2), HybridConfig(components=("bm25", "msmarco")))
    assert blend.ships and blend.weight("bm25") > 0
    assert blend.weight("msmarco") == 0, blend.weights
