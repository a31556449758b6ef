"""The tune stage with a real local Ray runtime (one ray.init shared by the module) and the tiny model.

A search finishes and returns a config inside the space although some trials raise; the
component with the same seed chooses the same config; a search whose every trial fails stops
naming their errors (tests/components/test_tune_failed.py); a search SIGKILLed midway resumes with Tuner.restore without rerunning
its finished trials and continues the interrupted one from its checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kfp.dsl import HTML, Artifact, Dataset, Metrics

from shoprank.components.tune.component import tune_hyperparameters
from shoprank.core.training.config import TrainConfig
from shoprank.core.tuning.runtime import local_temp_dir
from shoprank.core.tuning.search import run_search
from shoprank.core.tuning.settings import TuneSettings
from shoprank.core.tuning.space import SearchSpace
from support.tiny_model import tiny_model_dir, toy_pairs

# weight_decay 1e30 (which TrainConfig accepts) blows the weights up: such a trial's loss is NaN by its first
# validation, and it raises TrialDivergedError. (A value the model refuses, such as more frozen_layers than it has,
# is refused before any trial: tests/unit/test_tuning_model_limits.py.)
SPACE = {
    "lr": {"type": "loguniform", "low": 1e-5, "high": 1e-2},
    "loss": {"type": "choice", "values": ["listwise", "pointwise"]},
    "weight_decay": {"type": "choice", "values": [0.01, 1e30]},
    "value_policy": {"type": "choice", "values": ["as_valued", "drop"]},
    "value_share": {"type": "uniform", "low": 0.1, "high": 0.3},
}
# 192 training pairs in batches of 48 (8 whole lists): 4 steps an epoch, a report at each epoch's end.
# One thread per trial: a tiny model gains nothing from two, and threads that wait on each other crawl
# on a busy machine.
SETTINGS = dict(trials=5, minutes=5, seed=0, max_pairs=None, validation_queries=None, cpus_per_trial=1,
                max_steps=12, grace_steps=4, eval_every=4)


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    """One local Ray for the module (1 CPU: trials of 1 CPU run one at a time, so ASHA's stops are deterministic)."""
    import ray

    with local_temp_dir(tmp_path_factory.mktemp("ray")) as temp:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, _temp_dir=str(temp))
        yield
        ray.shutdown()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def valued_pairs(tmp_path_factory):
    """Toy pairs as the value stage writes them: a value on every train row, weights 1."""
    pairs = toy_pairs(n_queries=40, per_query=6, validation_queries=8, seed=3)
    train = pairs["split"] == "train"
    pairs["value"] = np.where(train, np.random.default_rng(0).normal(size=len(pairs)), np.nan)
    pairs["weight"] = 1.0
    path = tmp_path_factory.mktemp("pairs") / "valued.parquet"
    pairs.to_parquet(path, index=False)
    return path


def _base(tiny) -> TrainConfig:
    return TrainConfig(loss="listwise", epochs=10, seed=0, init_model_dir=str(tiny))


@pytest.fixture(scope="module")
def first_search(ray_local, tiny, valued_pairs, tmp_path_factory):
    return run_search(pd.read_parquet(valued_pairs), tmp_path_factory.mktemp("search"), SPACE,
                      TuneSettings(**SETTINGS), _base(tiny))


def test_search_returns_a_config_inside_the_space_and_goes_on_after_a_trial_raises(first_search, tiny):
    result = first_search
    assert [t.number for t in result.trials] == list(range(5))
    assert SearchSpace.from_dict(SPACE).contains(result.best.params)
    assert result.best.status != "failed" and result.best.best_ndcg > 0
    failed = [t for t in result.trials if t.status == "failed"]
    assert failed and all("trial diverged at step" in t.error for t in failed)
    # Trials after the first failure still ran and scored.
    assert any(t.number > failed[0].number and t.best_ndcg is not None for t in result.trials)
    # Trial 0 is the defaults; ASHA stopped at least one trial at its first rung (step 4 of 12).
    assert result.trials[0].params["lr"] == pytest.approx(2e-4) and result.trials[0].params["weight_decay"] == 0.01
    assert any(t.status == "stopped" and t.steps == 4 for t in result.trials)
    assert all(t.steps == 12 for t in result.trials if t.status == "completed")
    metrics = result.metrics()
    assert metrics["trials_run"] == 5 and metrics["trials_failed"] == len(failed)
    assert metrics["trials_completed"] + metrics["trials_stopped_early"] + metrics["trials_failed"] == 5
    assert metrics["best_ndcg@10"] == max(t.best_ndcg for t in result.trials if t.best_ndcg is not None)
    # Finished searches keep results, not trial checkpoints.
    experiment = Path(result.experiment_dir)
    assert list(experiment.glob("trial_*/progress.csv")) and not list(experiment.glob("trial_*/checkpoint_*"))


def test_component_with_the_same_seed_chooses_the_same_config(first_search, tiny, valued_pairs, tmp_path):
    outputs = {"best_config": Artifact(uri=str(tmp_path / "best.json")),
               "tuned_pairs": Dataset(uri=str(tmp_path / "tuned.parquet")),
               "search": Artifact(uri=str(tmp_path / "search")), "metrics": Metrics(uri=str(tmp_path / "m.json")),
               "report": HTML(uri=str(tmp_path / "report.html"))}
    returned = tune_hyperparameters.python_func(
        pairs=Dataset(uri=str(valued_pairs)), trials=5, minutes=5, seed=0, loss="listwise", epochs=10,
        space_json=json.dumps(SPACE), max_pairs=0, validation_queries=0, cpus_per_trial=1, max_steps=12,
        grace_steps=4, eval_every=4, init_model_dir=str(tiny), **outputs)
    best_config = json.loads(Path(outputs["best_config"].path).read_text())
    assert best_config == first_search.train_overrides
    assert json.loads(returned.best_config_json) == best_config
    TrainConfig.from_dict({**_base(tiny).to_dict(), **best_config})  # what the train stage will build
    # Same seed: the same trials with the same validation curves.
    record = json.loads((tmp_path / "search" / "search.json").read_text())
    assert [t["history"] for t in record["trials"]] == [t.history for t in first_search.trials]
    # The tuned pairs carry the chosen policy's weights.
    tuned, valued = pd.read_parquet(outputs["tuned_pairs"].path), pd.read_parquet(valued_pairs)
    assert len(tuned) == len(valued)
    policy = first_search.value_policy
    dropped = int((tuned["weight"] == 0).sum())
    assert dropped == (round(policy.share * (valued["split"] == "train").sum()) if policy.policy == "drop" else 0)
    assert outputs["metrics"].metadata["trials_run"] == 5
    page = Path(outputs["report"].path).read_text()
    assert "data:image/png;base64" in page and "Chosen config" in page and "(chosen)" in page


def test_a_real_ray_gcs_and_ray_client_server_pass_the_address_check(ray_local):
    import socket

    import ray
    from ray.util.client.server.server import serve

    from shoprank.core.tuning.address import check_ray_address

    check_ray_address(ray.get_runtime_context().gcs_address)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client_server = serve("127.0.0.1", port)  # Ray's own Ray Client server, in this process
    try:
        check_ray_address(f"ray://127.0.0.1:{port}")
    finally:
        client_server.grpc_server.stop(0)


CHILD = """
import json, sys
import pandas as pd
from shoprank.core.training.config import TrainConfig
from shoprank.core.tuning.search import run_search
from shoprank.core.tuning.settings import TuneSettings
pairs, search_dir, settings, base = sys.argv[1:5]
space = {"lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2}}
run_search(pd.read_parquet(pairs), search_dir, space, TuneSettings(**json.loads(settings)),
           TrainConfig(**json.loads(base)))
"""


def _results(trial_dir: Path) -> list[dict]:
    path = trial_dir / "result.json"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_a_killed_search_resumes_without_rerunning_finished_trials(ray_local, tiny, valued_pairs, tmp_path):
    import psutil

    settings = dict(SETTINGS, trials=3, scheduler="fifo", max_steps=12, grace_steps=2, eval_every=2, max_concurrent=1)
    base = dict(_base(tiny).to_dict(), lr=1e-3)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    search_dir = tmp_path / "search"
    proc = subprocess.Popen([sys.executable, str(script), str(valued_pairs), str(search_dir), json.dumps(settings),
                             json.dumps(base)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    trial_dirs: list = []
    deadline = time.monotonic() + 240
    try:
        # Kill once trials 0 and 1 have finished and trial 2 has reported twice (its checkpoints forced a
        # snapshot of the experiment state after trials 0 and 1 ended).
        while time.monotonic() < deadline and proc.poll() is None:
            trial_dirs = sorted(search_dir.glob("search-*/trial_*"))
            done = [d for d in trial_dirs if (_results(d) or [{}])[-1].get("finished")]
            if len(done) >= 2 and len(trial_dirs) >= 3 and len(_results(trial_dirs[2])) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the search ended before it could be killed: {proc.stderr.read()[-2000:]}"
        children = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.time()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    for child in children:  # Ray's own reaper ends them; make sure, by pid
        if child.is_running():
            child.kill()
    before = {d.name: _results(d) for d in trial_dirs}

    result = run_search(pd.read_parquet(valued_pairs), search_dir, {"lr": {"type": "loguniform", "low": 1e-4,
                        "high": 1e-2}}, TuneSettings(**settings), TrainConfig(**base))

    assert result.resumed and [t.status for t in result.trials] == ["completed"] * 3
    for name in sorted(before)[:2]:  # finished before the kill: not run again
        assert _results(search_dir / Path(result.experiment_dir).name / name) == before[name]
    interrupted = _results(Path(result.experiment_dir) / sorted(before)[2])
    after_kill = [r for r in interrupted if r["trial_started"] > killed_at]
    # The interrupted trial went on from its last checkpoint, not from step 0.
    assert after_kill and after_kill[0]["step"] > 2 and interrupted[-1]["finished"]


def test_the_tune_entry_point_writes_the_best_config_and_a_second_run_restores_it(ray_local, tiny, valued_pairs,
                                                                                   tmp_path, capsys):
    from shoprank.trainer import tune_cli

    config = {"settings": {**SETTINGS, "trials": 2}, "base": _base(tiny).to_dict(),
              "space": {"lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2}}}
    argv = ["--pairs", str(valued_pairs), "--out", str(tmp_path), "--config-json", json.dumps(config)]
    first = tune_cli.main(argv)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == first
    best = json.loads((tmp_path / "best_config.json").read_text())
    assert set(best) == {"lr"} and first["trials_run"] == 2 and first["resumed"] == 0
    assert (tmp_path / "report.html").exists() and len(pd.read_parquet(tmp_path / "tuned_pairs.parquet")) > 0
    again = tune_cli.main(argv)  # the finished search is restored, not run again
    assert again["resumed"] == 1 and again["best_ndcg@10"] == first["best_ndcg@10"]
    assert json.loads((tmp_path / "best_config.json").read_text()) == best
