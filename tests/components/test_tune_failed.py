"""A search whose every trial fails stops naming their errors, and keeps the local Ray's session logs.

This module starts its own local Ray through run_search (no Ray shared with other tests), because
the temp dir it keeps is the one a search that starts Ray itself writes.
"""

from __future__ import annotations

import numpy as np
import pytest

from shoprank.core.training.config import TrainConfig
from shoprank.core.tuning.search import SearchFailedError, run_search
from shoprank.core.tuning.settings import TuneSettings
from support.tiny_model import tiny_model_dir, toy_pairs


def test_all_trials_failing_fails_the_search_naming_their_errors_and_keeps_ray_logs(tmp_path):
    import ray

    assert not ray.is_initialized()  # run_search starts (and stops) its own local Ray here
    pairs = toy_pairs(n_queries=40, per_query=6, validation_queries=8, seed=3)
    pairs["value"] = np.where(pairs["split"] == "train", np.random.default_rng(0).normal(size=len(pairs)), np.nan)
    pairs["weight"] = 1.0
    base = TrainConfig(loss="listwise", epochs=10, seed=0, init_model_dir=str(tiny_model_dir(tmp_path / "tiny")))
    # weight_decay 1e30 makes every trial's loss NaN by its first validation (TrialDivergedError).
    space = {"weight_decay": {"type": "choice", "values": [1e30]}, "lr": {"type": "loguniform", "low": 1e-4,
                                                                         "high": 1e-3}}
    settings = TuneSettings(trials=2, minutes=5, seed=0, max_pairs=None, validation_queries=None, cpus_per_trial=1,
                            max_steps=12, grace_steps=4, eval_every=4)
    with pytest.raises(SearchFailedError, match=r"all 2 trials failed.*trial 0: .*trial diverged at step \d+"):
        run_search(pairs, tmp_path / "search", space, settings, base)
    assert not ray.is_initialized()
    # The README's promise: the temp dir (session logs of every Ray process) is kept when the search fails.
    logs = list((tmp_path / "search" / "ray-tmp").glob("session_*/logs"))
    assert logs and any(logs[0].iterdir())
