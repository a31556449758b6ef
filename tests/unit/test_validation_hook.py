"""train()'s on_validation hook (what a tuner reports from), and the tune entry point's input checks."""

from __future__ import annotations

import pytest
import torch

from shoprank.core.training.checkpoint import CHECKPOINT_FILE
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train
from shoprank.trainer import tune_cli
from support.tiny_model import tiny_model_dir, toy_pairs


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tiny = tiny_model_dir(tmp_path_factory.mktemp("tiny"))
    config = TrainConfig(init_model_dir=str(tiny), max_length=16, batch_size=8, epochs=2, lr=2e-3, seed=3,
                         num_threads=1, eval_every=2, patience=0, checkpoint_every=0, log_every=1000)
    return toy_pairs(n_queries=8, per_query=6, validation_queries=2), config


def test_the_hook_sees_every_validation_and_its_save_writes_that_steps_checkpoint(setup, tmp_path):
    pairs, config = setup
    calls = []

    def hook(step, ndcg, train_loss, save):
        calls.append((step, ndcg, train_loss))
        if step == 4:
            save()
            calls.append(torch.load(tmp_path / "ckpt" / CHECKPOINT_FILE, weights_only=False)["progress"]["step"])

    result = train(pairs, tmp_path / "model", config, checkpoint_dir=tmp_path / "ckpt", on_validation=hook)
    reported = [c for c in calls if isinstance(c, tuple)]
    assert [(s, n) for s, n, _ in reported] == [(h["step"], h["ndcg@10"]) for h in result["validation_history"]]
    assert 4 in calls  # the checkpoint save() wrote is the one of step 4
    assert all(loss > 0 for _, _, loss in reported)


def test_an_error_in_the_hook_stops_the_run(setup, tmp_path):
    pairs, config = setup

    def hook(step, ndcg, train_loss, save):
        raise RuntimeError(f"stop at {step}")

    with pytest.raises(RuntimeError, match="stop at 2"):
        train(pairs, tmp_path / "model", config, on_validation=hook)


@pytest.mark.parametrize("config_json, message", [
    ("[1]", "expected a JSON object, got list"),
    ('{"budget": 3}', "unknown keys ['budget']"),
    ('{"settings": {"trials": -1}}', "trials must be 0 (tuning off) or >= 1"),  # 0 = off: test_tuning_cli.py
    ('{"settings": {"cores": 2}}', "unknown fields ['cores']"),
    ('{"space": {}}', "got an empty space"),
    ('{"base": {"lr": -1}}', "need lr > 0"),
])
def test_the_tune_entry_point_refuses_bad_config_before_any_trial(config_json, message, tmp_path, caplog):
    import ray

    pairs = tmp_path / "pairs.parquet"
    toy_pairs().assign(value=0.0, weight=1.0).to_parquet(pairs)
    with pytest.raises(SystemExit) as exit_info:
        tune_cli.main(["--pairs", str(pairs), "--out", str(tmp_path / "out"), "--config-json", config_json])
    assert exit_info.value.code == 2 and message in caplog.text and not ray.is_initialized()
    assert not (tmp_path / "out" / "best_config.json").exists()
