"""The hybrid candidate end to end: fitted by the train stage on validation, scored on test by the
evaluate stage like every ranker, shipped when validation chose it, judged by the gate."""

import json

import numpy as np
import pytest

from shoprank.core.data.pairs import build_pairs, write_pairs
from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.core.ranking.hybrid import HYBRID_FILE, Blend, BM25Stats, load_blend
from shoprank.core.ranking.hybrid_fit import HybridConfig
from shoprank.core.training.export import verify_manifest, write_manifest


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    pairs = build_pairs(generate_sample(SampleConfig(seed=0, n_products=200, n_queries=40)).tables)
    return write_pairs(pairs, tmp_path_factory.mktemp("data") / "pairs.parquet")


@pytest.fixture(scope="module")
def blended_dir(tmp_path_factory, pairs_file):
    """A train-stage folder whose blend (BM25 only, for speed) was fitted after training."""
    from support.tiny_model import tiny_model_dir
    from shoprank.core.stages.train import run_train_stage
    from shoprank.core.training.config import TrainConfig

    root = tmp_path_factory.mktemp("model")
    config = TrainConfig(init_model_dir=str(tiny_model_dir(root / "init")), max_steps=2, batch_size=16,
                         distill_teacher=None)
    metrics = run_train_stage(pairs_file, root / "model", config, blend=HybridConfig(components=("bm25",)))
    assert metrics["blend_weight_model"] > 0 and "blend_ships" in metrics
    return root / "model"


def ship_blend(model_dir, pairs, weights) -> Blend:
    """Write a blend that ships into model_dir and refresh its manifest (as the train stage would have)."""
    blend = Blend(weights=weights, ships=True, reason="forced by the test",
                  bm25=BM25Stats.from_texts(pairs["product_text"].tolist()))
    blend.save(model_dir)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    write_manifest(model_dir, manifest["training_config"], manifest["data_fingerprint"], manifest["metrics"])
    return blend


def _evaluate(tmp_path, pairs_file, model_dir, **gate):
    from shoprank.core.evaluation.gate import GateConfig
    from shoprank.core.stages.evaluate import EvaluationConfig, run_evaluate_stage

    return run_evaluate_stage(pairs_file, model_dir, tmp_path / "evaluation.json", tmp_path / "report.html",
                              gate=GateConfig(**gate), config=EvaluationConfig(baselines=("bm25",)))


def test_the_fitted_blend_is_in_the_folder_and_its_manifest(blended_dir):
    manifest = verify_manifest(blended_dir)
    assert HYBRID_FILE in manifest["files"]
    blend = load_blend(blended_dir)
    assert blend.validation["split"] == "validation" and blend.validation["queries"] > 0
    assert manifest["metrics"]["blend_ships"] == float(blend.ships)


def test_evaluation_scores_every_candidate_and_ships_the_validation_choice(tmp_path, pairs_file, blended_dir):
    blend = load_blend(blended_dir)
    result = _evaluate(tmp_path, pairs_file, blended_dir, min_queries=1)
    assert result["shipped"] == ("hybrid" if blend.ships else "model")
    assert set(result["rankers"]) == ({"model", "hybrid", "bm25"} if blend.is_hybrid else {"model", "bm25"})
    assert result["blend"]["validation"] == json.loads(json.dumps(dict(blend.validation)))
    page = (tmp_path / "report.html").read_text()
    assert "Which ranker ships" in page and blend.reason.split(" (")[0][:30] in page


def test_a_shipped_hybrid_is_the_ranker_the_gate_judges(tmp_path, tmp_path_factory, pairs_file, blended_dir):
    import shutil

    from shoprank.core.data.pairs import read_pairs
    from shoprank.core.evaluation.metrics import rank_metrics, relevant_label
    from shoprank.core.ranking.reranker import Reranker
    from shoprank.core.stages.evaluate import load_pairs_split

    model_dir = tmp_path_factory.mktemp("forced") / "model"
    shutil.copytree(blended_dir, model_dir)
    pairs = read_pairs(pairs_file)
    blend = ship_blend(model_dir, pairs, {"model": 0.3, "bm25": 0.7})
    result = _evaluate(tmp_path, pairs_file, model_dir, min_queries=1, margin=0.0)
    assert result["shipped"] == result["candidate"] == "hybrid"
    assert set(result["versus"]) == {"bm25"}  # judged against the baselines, not against its own model
    _, held_out = load_pairs_split(pairs_file, "test")
    model = Reranker.load(model_dir).score(held_out)
    expected = rank_metrics(held_out.assign(score=blend.score_frame(held_out, model)), "score",
                            relevant=relevant_label(pairs["label"]))
    assert result["rankers"]["hybrid"]["ndcg@10"] == pytest.approx(expected["ndcg@10"], abs=1e-6)
    assert result["rankers"]["hybrid"]["ndcg@10"] != result["rankers"]["model"]["ndcg@10"]
    gate_check = [c for c in result["checks"] if c["name"] == "beats bm25"][0]
    delta = result["rankers"]["hybrid"]["ndcg@10"] - result["rankers"]["bm25"]["ndcg@10"]
    assert result["versus"]["bm25"]["delta"] == pytest.approx(delta, abs=1e-9)
    assert gate_check["passed"] == (delta > 0.0)


def test_a_tampered_blend_fails_the_manifest(tmp_path_factory, blended_dir):
    import shutil

    from shoprank.core.training.export import ManifestError

    model_dir = tmp_path_factory.mktemp("tampered") / "model"
    shutil.copytree(blended_dir, model_dir)
    data = json.loads((model_dir / HYBRID_FILE).read_text())
    data["weights"] = {"model": 0.1, "bm25": 0.9}
    (model_dir / HYBRID_FILE).write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=HYBRID_FILE):
        verify_manifest(model_dir)
    np.testing.assert_equal(load_blend(model_dir).weight("bm25"), 0.9)  # still a valid blend: only the manifest knows


def test_run_options_reach_the_train_component():
    import inspect

    from shoprank.components.params import train_config
    from shoprank.components.train.component import train_reranker
    from shoprank.pipelines import cli
    from shoprank.pipelines.train_and_deploy import train_and_deploy

    assert train_config(distill_teacher="").distill_teacher is None
    assert train_config(distill_teacher="msmarco").distill_teacher == "msmarco"
    run = inspect.signature(cli.run).parameters
    assert run["distill"].default.default is True and run["blend"].default.default is True
    component = inspect.signature(train_reranker.python_func).parameters
    pipeline = inspect.signature(train_and_deploy.pipeline_func).parameters
    assert pipeline["distill_teacher"].default == component["distill_teacher"].default == "msmarco"


def test_a_teacher_column_is_dropped_when_distillation_is_off():
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.distill import TEACHER_COLUMN
    from shoprank.core.training.loop import with_teacher
    from support.tiny_model import toy_pairs

    pairs = toy_pairs().assign(**{TEACHER_COLUMN: 1.0})  # scored by an earlier stage (tune) that distilled
    frame, info = with_teacher(pairs, TrainConfig(distill_teacher=None))
    assert TEACHER_COLUMN not in frame and info["used"] is False
