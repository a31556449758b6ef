"""One place that seeds every random source."""

from __future__ import annotations

import os
import random


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (if installed), and ask torch for deterministic kernels."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        # cuBLAS picks reduction orders per workspace unless told; must precede its first handle.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        # Deterministic CUDA kernels (e.g. the embedding gradient's scatter-add); warn, not fail,
        # for an op that has none.
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Filling every new tensor with NaN (a debugging aid that comes with the flag above)
        # adds one kernel launch per allocation and decides nothing about the result.
        import torch.utils.deterministic

        torch.utils.deterministic.fill_uninitialized_memory = False
