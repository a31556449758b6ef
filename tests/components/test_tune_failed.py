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


def test_a_search_no_trial_could_score_in_time_keeps_the_defaults_instead_of_failing_the_run(tmp_path):
    """A busy machine: no trial fails, but none reaches its first validation before the time budget
    ends. The stage keeps the train stage's own config (empty overrides), passes the pairs through
    and says so, rather than failing the whole pipeline run."""
    import json

    import ray

    from shoprank.core.stages.tune import run_tune_stage

    assert not ray.is_initialized()
    pairs = toy_pairs(n_queries=40, per_query=6, validation_queries=8, seed=3)
    pairs["value"] = np.where(pairs["split"] == "train", np.random.default_rng(0).normal(size=len(pairs)), np.nan)
    pairs["weight"] = 1.0
    pairs.to_parquet(tmp_path / "valued.parquet", index=False)
    base = TrainConfig(loss="listwise", epochs=50, seed=0, distill_weight=0.0,
                       init_model_dir=str(tiny_model_dir(tmp_path / "tiny")))
    # The first validation comes after 400 steps; the budget ends after 1.2 s (Ray alone needs more to start a trial).
    settings = TuneSettings(trials=2, minutes=0.02, seed=0, max_pairs=None, validation_queries=None, cpus_per_trial=1,
                            max_steps=400, grace_steps=400, eval_every=400)
    out = tmp_path / "out"
    metrics = run_tune_stage(tmp_path / "valued.parquet", out / "best.json", out / "tuned.parquet",
                             out / "tune.html", tmp_path / "search", settings=settings, base=base)
    assert metrics == {"trials_run": 0, "tune_fallback": 1.0}
    assert json.loads((out / "best.json").read_text()) == {}
    import pandas as pd

    assert len(pd.read_parquet(out / "tuned.parquet")) == len(pairs)
    assert "reported a validation NDCG@10 before the time budget ended" in (out / "tune.html").read_text()
    assert not ray.is_initialized()
