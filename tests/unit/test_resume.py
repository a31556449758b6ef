"""Kill a real training process after a checkpoint, resume it, and get the uninterrupted result."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from shoprank.core.checkpoint import CHECKPOINT_FILE
from shoprank.core.tiny_model import tiny_model_dir, toy_pairs

CHILD = """
import json, sys
from shoprank.core.training import TrainConfig, train
pairs, out, ckpt, tiny, result_file, overrides = sys.argv[1:7]
# ema_decay: the weight average must survive the kill too (a window of 2 steps, so that this short run averages).
config = TrainConfig(**{**dict(init_model_dir=tiny, max_length=16, batch_size=8, epochs=2, lr=2e-3, seed=11,
                               ema_decay=0.5, num_threads=1, checkpoint_every=3, eval_every=4, patience=0,
                               log_every=1000), **json.loads(overrides)})
result = train(pairs, out, config, checkpoint_dir=None if ckpt == "-" else ckpt)
open(result_file, "w").write(json.dumps(result))
"""


def _start(tmp_path: Path, name: str, pairs: Path, tiny: Path, checkpoint_dir: str, overrides: dict) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), str(pairs), str(tmp_path / name), checkpoint_dir, str(tiny),
         str(tmp_path / f"{name}.json"), json.dumps(overrides)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]


needs_gpu = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.mark.parametrize("overrides, n_queries", [
    pytest.param({}, 24, id="cpu"),
    # Graph captures happen at other steps in a resumed run; they must leave RNG and gradients as they were.
    pytest.param({"device": "cuda", "cuda_graphs": True}, 200, id="cuda-graphs", marks=needs_gpu),
])
def test_killed_run_resumes_to_the_same_weights(tmp_path, overrides, n_queries):
    from safetensors.numpy import load_file

    tiny = tiny_model_dir(tmp_path / "tiny", hidden_size=64)
    pairs = tmp_path / "pairs.parquet"
    toy_pairs(n_queries=n_queries, validation_queries=4).to_parquet(pairs)

    # Uninterrupted reference run.
    _finish(_start(tmp_path, "reference", pairs, tiny, "-", overrides))
    reference = json.loads((tmp_path / "reference.json").read_text())

    # Same run, SIGKILLed as soon as a checkpoint exists past the first one.
    ckpt = tmp_path / "ckpt"
    proc = _start(tmp_path, "resumed", pairs, tiny, str(ckpt), overrides)
    deadline = time.monotonic() + 240
    first_mtime = None
    while time.monotonic() < deadline and proc.poll() is None:
        path = ckpt / CHECKPOINT_FILE
        if path.exists():
            first_mtime = first_mtime or path.stat().st_mtime_ns
            if path.stat().st_mtime_ns != first_mtime:
                break
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "resumed.json").exists()

    _finish(_start(tmp_path, "resumed", pairs, tiny, str(ckpt), overrides))
    resumed = json.loads((tmp_path / "resumed.json").read_text())
    assert 0 < resumed["resumed_from_step"] < reference["steps"]
    assert resumed["steps"] == reference["steps"]
    assert resumed["validation_history"] == reference["validation_history"]
    assert resumed["epoch_losses"] == pytest.approx(reference["epoch_losses"], abs=1e-6)
    assert resumed["weights_sha256"] == reference["weights_sha256"]
    if overrides.get("cuda_graphs"):
        assert resumed["graph_replays"] > 0 and reference["graph_replays"] > 0
    ref_weights = load_file(tmp_path / "reference" / "model.safetensors")
    new_weights = load_file(tmp_path / "resumed" / "model.safetensors")
    assert ref_weights.keys() == new_weights.keys()
    for name in ref_weights:
        assert (ref_weights[name] == new_weights[name]).all(), name
