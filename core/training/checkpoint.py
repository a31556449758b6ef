"""Training checkpoints: one file, written atomically, holding everything a resume needs.

A checkpoint carries model, optimizer, scheduler and weight-average state, every RNG state
(per rank), the position in the data order (epoch, next micro-batch), early-stopping state and
a key made of the training config and data fingerprint, so a resume never continues a
different run.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import numpy as np

from shoprank.core.common.errors import CheckpointError

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "last.pt"


def rng_state() -> dict:
    """Python, NumPy, torch CPU and CUDA generator states."""
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(checkpoint_dir: str | Path, state: dict) -> Path:
    """Write state to <dir>/last.pt through a temporary file and an atomic rename, so a kill
    mid-write leaves the previous checkpoint intact."""
    import torch

    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    final = checkpoint_dir / CHECKPOINT_FILE
    tmp = checkpoint_dir / f".{CHECKPOINT_FILE}.tmp"
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def load_checkpoint(checkpoint_dir: str | Path | None, key: str) -> dict | None:
    """The last checkpoint in checkpoint_dir when it belongs to this run (same key), else None."""
    import torch

    if checkpoint_dir is None:
        return None
    path = Path(checkpoint_dir) / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        # Our own file: it holds RNG tuples and NumPy state, which weights_only refuses.
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        # Writes are atomic, so only a damaged or half-copied file lands here; starting over
        # silently would throw away the run's progress, so the user decides.
        raise CheckpointError(
            f"expected a readable training checkpoint at {path}, but it cannot be loaded ({exc}); "
            "restore it, or delete it to train from the start"
        ) from exc
    if state.get("key") != key:
        log.warning("checkpoint %s belongs to another config or data set; starting fresh", path)
        return None
    return state
