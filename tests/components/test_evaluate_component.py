"""The evaluate component end to end via python_func, on a small sample and a tiny model."""

import json

import pytest
import torch
from kfp.dsl import HTML, Artifact, Dataset, Metrics, Model

from shoprank.components.evaluate.component import evaluate_reranker
from shoprank.core.data.pairs import PRODUCT_FIELDS, build_pairs, write_pairs
from shoprank.core.common.precision import resolve_bf16
from shoprank.core.data.sample.generator import SampleConfig, generate_sample


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    pairs = build_pairs(generate_sample(SampleConfig(seed=0, n_products=200, n_queries=22)).tables)
    return write_pairs(pairs, tmp_path_factory.mktemp("data") / "pairs.parquet")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, pairs_file):
    """A real train-stage artifact (hf/, model.onnx, model.int8.onnx, manifest.json) from a tiny
    random BERT trained for two steps: the layout `train` hands to `evaluate`, in seconds."""
    from support.tiny_model import tiny_model_dir
    from shoprank.core.stages.train import run_train_stage
    from shoprank.core.training.config import TrainConfig

    root = tmp_path_factory.mktemp("model")
    init = tiny_model_dir(root / "init")
    run_train_stage(pairs_file, root / "model", TrainConfig(init_model_dir=str(init), max_steps=2, batch_size=16))
    return root / "model"


def _run(tmp_path, pairs_file, model_dir, **params):
    outputs = {
        "metrics": Metrics(uri=str(tmp_path / "metrics.json")),
        "report": HTML(uri=str(tmp_path / "report.html")),
        "evaluation": Artifact(uri=str(tmp_path / "evaluation.json")),
    }
    result = evaluate_reranker.python_func(
        pairs=Dataset(uri=str(pairs_file)), model=Model(uri=str(model_dir)), **outputs, **params)
    return result, outputs


def test_without_thresholds_compares_all_rankers_and_never_blesses(tmp_path, pairs_file, model_dir):
    result, out = _run(tmp_path, pairs_file, model_dir)
    assert result.blessed is False
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    assert set(evaluation["rankers"]) == {"model", "bm25", "zeroshot", "msmarco"}
    assert "no threshold is configured" in evaluation["reason"]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    precision = "bf16" if resolve_bf16("auto", device) else "fp32"
    assert evaluation["runtime"] == f"torch {precision} ({device})"  # scored as training validated
    for name in ("bm25", "zeroshot", "msmarco"):
        counts = evaluation["versus"][name]
        assert counts["wins"] + counts["losses"] + counts["ties"] == evaluation["rankers"]["model"]["queries"] > 0
    # The off-the-shelf baselines must rank far above chance on the sample.
    assert evaluation["rankers"]["msmarco"]["ndcg@10"] > evaluation["rankers"]["bm25"]["ndcg@10"] - 0.1 > 0.5
    assert out["metrics"].metadata["blessed"] == 0.0
    assert 0.0 <= out["metrics"].metadata["model_test_ndcg@10"] <= 1.0
    assert out["evaluation"].metadata["blessed"] is False
    page = (tmp_path / "report.html").read_text()
    assert "NOT BLESSED" in page and page.count("data:image/png;base64,") == 2


def test_champion_gain_gates_the_blessing(tmp_path, pairs_file, model_dir):
    # The champion is the same model, so the gain is exactly 0.
    blessed, _ = _run(tmp_path / "a", pairs_file, model_dir, champion=Model(uri=str(model_dir)),
                      min_ndcg=0.0, min_gain_over_champion=0.0, baselines="bm25")
    assert blessed.blessed is True
    rejected, _ = _run(tmp_path / "b", pairs_file, model_dir, champion_model_uri=str(model_dir),
                       min_ndcg=0.0, min_gain_over_champion=0.01, baselines="")
    assert rejected.blessed is False
    evaluation = json.loads((tmp_path / "b" / "evaluation.json").read_text())
    assert evaluation["versus"]["champion"]["ties"] == evaluation["rankers"]["model"]["queries"]
    assert [c["name"] for c in evaluation["checks"]] == ["min_ndcg", "min_gain_over_champion"]
    assert set(evaluation["rankers"]) == {"model", "champion"}


def test_onnx_runtime_scores_the_model_like_torch_fp32(tmp_path, pairs_file, model_dir):
    from shoprank.core.stages.evaluate import load_pairs_split
    from shoprank.core.evaluation.metrics import rank_metrics
    from shoprank.core.ranking.reranker import Reranker

    _run(tmp_path, pairs_file, model_dir, baselines="", runtime="onnx")
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    assert evaluation["runtime"] == "onnx"
    # A two-step random model scores its pairs nearly alike, so only fp32 torch reproduces the order.
    _, held_out = load_pairs_split(pairs_file, "test")
    scores = Reranker.load(model_dir, precision="fp32").score(held_out)
    expected = rank_metrics(held_out.assign(score=scores), "score")
    assert evaluation["rankers"]["model"] == pytest.approx(expected, abs=1e-3)


def test_evaluation_scores_pairs_as_serving_scores_a_query_s_candidates(pairs_file, model_dir):
    """Evaluate scores the held-out pairs in one call; serving scores one query's raw candidates
    (score_candidates). Both write the structured fields in the model's pair format alike."""
    import numpy as np

    from shoprank.core.ranking.reranker import Reranker, score_candidates
    from shoprank.core.stages.evaluate import load_pairs_split
    from shoprank.core.text.price_fit import price_limit

    _, held_out = load_pairs_split(pairs_file, "test")
    assert held_out["query"].map(price_limit).notna().any()  # some queries get price verdicts
    ranker = Reranker.load(model_dir, precision="fp32")
    together = ranker.score(held_out)
    for _, group in held_out.groupby("query_id"):
        served = score_candidates(ranker, group["query"].iloc[0], group[PRODUCT_FIELDS].to_dict("records"),
                                  group["locale"].iloc[0])
        np.testing.assert_allclose(served, together[group.index.to_numpy()], atol=1e-4)


def test_missing_split_is_a_clear_error(tmp_path, pairs_file, model_dir):
    from shoprank.core.common.errors import SchemaError

    with pytest.raises(SchemaError, match="split 'holdout'"):
        _run(tmp_path, pairs_file, model_dir, split="holdout")
