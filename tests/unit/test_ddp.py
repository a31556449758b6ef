"""DDP: two CPU processes (gloo) under torchrun train one model in lock-step."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoprank.core.training.checkpoint import CHECKPOINT_FILE
from support.tiny_model import tiny_model_dir, toy_pairs

WORKER = """
import json, os, sys
import shoprank.core.training.loop as loop
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train
pairs, out, ckpt, tiny, overrides, tests_dir, step_seconds = sys.argv[1:8]
if float(step_seconds):
    # The ranks' clocks run at different rates (a step lasts step_seconds on rank 0, twice that on
    # rank 1) and at no machine's speed: every rank must still stop at rank 0's step.
    sys.path.insert(0, tests_dir)
    from support.clock import StepClock
    loop.time = StepClock(float(step_seconds) * (1 + int(os.environ["RANK"])))
config = TrainConfig(**{**dict(init_model_dir=tiny, loss="pointwise", max_length=16, batch_size=6, epochs=4, lr=1e-2,
                               num_threads=1, checkpoint_every=0, patience=0, log_every=1000), **json.loads(overrides)})
result = train(pairs, out, config, checkpoint_dir=ckpt)
rank = os.environ["RANK"]
open(os.path.join(os.path.dirname(out), f"rank{rank}.json"), "w").write(json.dumps(result))
"""


# A minutes budget: ranks read their own clocks, yet must stop at the same step with the same lr. The
# clocks are the workers' StepClocks, so how many steps fit in the minutes never depends on the machine.
@pytest.mark.parametrize("overrides", [{}, {"epochs": 400, "max_minutes": 0.05}], ids=["epochs", "minutes"])
def test_torchrun_two_cpu_processes(tmp_path, overrides):
    from shoprank.core.training.checkpoint import load_checkpoint  # noqa: F401  (import check before spawning)

    tiny = tiny_model_dir(tmp_path / "tiny")
    pairs = tmp_path / "pairs.parquet"
    toy_pairs(n_queries=12).to_parquet(pairs)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
         str(pairs), str(tmp_path / "model"), str(tmp_path / "ckpt"), str(tiny), json.dumps(overrides),
         str(Path(__file__).resolve().parents[1]), "0.5" if "max_minutes" in overrides else "0"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in results] == [2, 2]
    # Gradients are all-reduced every step, so both replicas end bit-identical.
    assert results[0]["weights_sha256"] == results[1]["weights_sha256"]
    assert results[0]["steps"] == results[1]["steps"]
    # Each rank saw half the batches; pairs_seen counts both.
    assert results[0]["pairs_seen"] == results[1]["pairs_seen"] > 0
    if "max_minutes" in overrides:
        # What a minutes budget guarantees: the run stops on its first step past the budget (rank 0's
        # clock), long before its planned steps, with the lr schedule run through on every rank.
        assert [r["stop_reason"] for r in results] == ["max_minutes"] * 2
        assert [r["train_seconds"] for r in results] == [results[0]["train_seconds"]] * 2
        assert 0 < results[0]["train_seconds"] - 60 * overrides["max_minutes"] <= results[0]["train_seconds"] / results[0]["steps"]
        assert results[0]["steps"] < 100 and results[0]["schedule_completed"] == results[1]["schedule_completed"] == 1.0
    else:
        # A step budget runs the same steps on any machine: there the loss must fall.
        assert results[0]["stop_reason"] == "completed" and results[0]["epochs_completed"] == 4
        assert results[0]["epoch_losses"][-1] < results[0]["epoch_losses"][0]
    # Rank 0 alone writes the model and the checkpoint, which carries both ranks' RNG states and is
    # the run's last step.
    assert (tmp_path / "model" / "model.safetensors").exists()
    import torch

    state = torch.load(tmp_path / "ckpt" / CHECKPOINT_FILE, map_location="cpu", weights_only=False)
    assert len(state["rng"]) == 2
    assert state["progress"]["step"] == results[0]["steps"]
