"""DDP: two CPU processes (gloo) under torchrun train one model in lock-step."""

import json
import os
import subprocess
import sys

import pytest

from shoprank.core.training.checkpoint import CHECKPOINT_FILE
from support.tiny_model import tiny_model_dir, toy_pairs

WORKER = """
import json, os, sys
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train
pairs, out, ckpt, tiny, overrides = sys.argv[1:6]
config = TrainConfig(**{**dict(init_model_dir=tiny, loss="pointwise", max_length=16, batch_size=6, epochs=4, lr=1e-2,
                               num_threads=1, checkpoint_every=0, patience=0, log_every=1000), **json.loads(overrides)})
result = train(pairs, out, config, checkpoint_dir=ckpt)
rank = os.environ["RANK"]
open(os.path.join(os.path.dirname(out), f"rank{rank}.json"), "w").write(json.dumps(result))
"""


# A minutes budget: ranks read their own clocks, yet must stop at the same step with the same lr.
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
         str(pairs), str(tmp_path / "model"), str(tmp_path / "ckpt"), str(tiny), json.dumps(overrides)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in results] == [2, 2]
    # Gradients are all-reduced every step, so both replicas end bit-identical.
    assert results[0]["weights_sha256"] == results[1]["weights_sha256"]
    assert results[0]["steps"] == results[1]["steps"]
    assert results[0]["stop_reason"] == ("max_minutes" if "max_minutes" in overrides else "completed")
    # Each rank saw half the batches; pairs_seen counts both.
    assert results[0]["pairs_seen"] == results[1]["pairs_seen"] > 0
    assert results[0]["epoch_losses"][-1] < results[0]["epoch_losses"][0]
    # Rank 0 alone writes the model and the checkpoint, which carries both ranks' RNG states.
    assert (tmp_path / "model" / "model.safetensors").exists()
    import torch

    state = torch.load(tmp_path / "ckpt" / CHECKPOINT_FILE, map_location="cpu", weights_only=False)
    assert len(state["rng"]) == 2
