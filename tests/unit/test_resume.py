"""Kill a real training process after a checkpoint, resume it, and get the uninterrupted result."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from shoprank.core.training.checkpoint import CHECKPOINT_FILE
from support.tiny_model import tiny_model_dir, toy_pairs

CHILD = """
import io, json, os, signal, sys
import torch
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train
pairs, out, ckpt, tiny, result_file, overrides, die_in_save, pause_in_save = sys.argv[1:9]
if int(pause_in_save):
    # Wait to be killed at the start of checkpoint number pause_in_save: the outside kill lands
    # mid-run (after the checkpoints before it) however fast this machine trains.
    real_save, saves_begun = torch.save, [0]
    def pause_then_save(obj, fh, *args, **kwargs):
        saves_begun[0] += 1
        if saves_begun[0] == int(pause_in_save):
            signal.pause()
        return real_save(obj, fh, *args, **kwargs)
    torch.save = pause_then_save
if int(die_in_save):
    # SIGKILL this process halfway through writing checkpoint number die_in_save.
    real_save, saves_begun = torch.save, [0]
    def save_then_die(obj, fh, *args, **kwargs):
        saves_begun[0] += 1
        if saves_begun[0] < int(die_in_save):
            return real_save(obj, fh, *args, **kwargs)
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        fh.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        fh.flush()
        os.fsync(fh.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    torch.save = save_then_die
# ema_decay: the weight average must survive the kill too (a window of 2 steps, so that this short run averages).
config = TrainConfig(**{**dict(init_model_dir=tiny, max_length=16, batch_size=8, epochs=2, lr=2e-3, seed=11,
                               ema_decay=0.5, num_threads=1, checkpoint_every=3, eval_every=4, patience=0,
                               log_every=1000), **json.loads(overrides)})
result = train(pairs, out, config, checkpoint_dir=None if ckpt == "-" else ckpt)
open(result_file, "w").write(json.dumps(result))
"""


def _start(tmp_path: Path, name: str, pairs: Path, tiny: Path, checkpoint_dir: str, overrides: dict,
           die_in_save: int = 0, pause_in_save: int = 0) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), str(pairs), str(tmp_path / name), checkpoint_dir, str(tiny),
         str(tmp_path / f"{name}.json"), json.dumps(overrides), str(die_in_save), str(pause_in_save)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]


needs_gpu = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _reference_run(tmp_path: Path, n_queries: int, overrides: dict) -> tuple[Path, Path, dict]:
    """Inputs for the child, and the result of an uninterrupted run on them."""
    tiny = tiny_model_dir(tmp_path / "tiny", hidden_size=64)
    pairs = tmp_path / "pairs.parquet"
    toy_pairs(n_queries=n_queries, validation_queries=4).to_parquet(pairs)
    _finish(_start(tmp_path, "reference", pairs, tiny, "-", overrides))
    return pairs, tiny, json.loads((tmp_path / "reference.json").read_text())


def _assert_resume_matches(tmp_path: Path, pairs: Path, tiny: Path, ckpt: Path, overrides: dict, reference: dict) -> dict:
    from safetensors.numpy import load_file

    assert not (tmp_path / "resumed.json").exists()
    _finish(_start(tmp_path, "resumed", pairs, tiny, str(ckpt), overrides))
    resumed = json.loads((tmp_path / "resumed.json").read_text())
    assert 0 < resumed["resumed_from_step"] < reference["steps"]
    assert resumed["steps"] == reference["steps"]
    assert resumed["validation_history"] == reference["validation_history"]
    assert resumed["epoch_losses"] == pytest.approx(reference["epoch_losses"], abs=1e-6)
    assert resumed["weights_sha256"] == reference["weights_sha256"]
    ref_weights = load_file(tmp_path / "reference" / "model.safetensors")
    new_weights = load_file(tmp_path / "resumed" / "model.safetensors")
    assert ref_weights.keys() == new_weights.keys()
    for name in ref_weights:
        assert (ref_weights[name] == new_weights[name]).all(), name
    return resumed


@pytest.mark.parametrize("overrides, n_queries", [
    pytest.param({}, 24, id="cpu"),
    # Graph captures happen at other steps in a resumed run; they must leave RNG and gradients as they were.
    pytest.param({"device": "cuda", "cuda_graphs": True}, 200, id="cuda-graphs", marks=needs_gpu),
])
def test_killed_run_resumes_to_the_same_weights(tmp_path, overrides, n_queries):
    pairs, tiny, reference = _reference_run(tmp_path, n_queries, overrides)

    # Same run, SIGKILLed from outside once its first checkpoint exists; the child waits at its
    # second, so the kill lands mid-run whatever the speed of this machine and of the parent.
    ckpt = tmp_path / "ckpt"
    proc = _start(tmp_path, "resumed", pairs, tiny, str(ckpt), overrides, pause_in_save=2)
    deadline = time.monotonic() + 600  # a bound on a hung child only: the child waits for the kill
    while time.monotonic() < deadline and proc.poll() is None and not (ckpt / CHECKPOINT_FILE).exists():
        time.sleep(0.005)
    assert (ckpt / CHECKPOINT_FILE).exists() and proc.poll() is None, proc.poll()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    resumed = _assert_resume_matches(tmp_path, pairs, tiny, ckpt, overrides, reference)
    assert resumed["resumed_from_step"] == 3  # the first checkpoint (checkpoint_every 3)
    if overrides.get("cuda_graphs"):
        assert resumed["graph_replays"] > 0 and reference["graph_replays"] > 0


def test_a_kill_while_writing_a_checkpoint_resumes_from_the_one_before(tmp_path):
    pairs, tiny, reference = _reference_run(tmp_path, 24, {})

    # The child SIGKILLs itself halfway through writing its third checkpoint (step 9 of 40).
    ckpt = tmp_path / "ckpt"
    proc = _start(tmp_path, "resumed", pairs, tiny, str(ckpt), {}, die_in_save=3)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err[-3000:]

    resumed = _assert_resume_matches(tmp_path, pairs, tiny, ckpt, {}, reference)
    assert resumed["resumed_from_step"] == 6


def test_a_damaged_checkpoint_is_refused_by_name_not_silently_restarted(tmp_path):
    from shoprank.core.training.checkpoint import load_checkpoint, save_checkpoint
    from shoprank.core.common.errors import CheckpointError

    save_checkpoint(tmp_path, {"key": "run-a", "step": 6})
    assert load_checkpoint(tmp_path, "run-a") == {"key": "run-a", "step": 6}
    assert load_checkpoint(tmp_path, "run-b") is None  # another run's checkpoint: start fresh

    path = tmp_path / CHECKPOINT_FILE
    path.write_bytes(path.read_bytes()[:40])  # half-copied
    with pytest.raises(CheckpointError, match=re.escape(f"checkpoint at {path}") + ".*delete it to train from the start"):
        load_checkpoint(tmp_path, "run-a")
