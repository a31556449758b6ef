"""monitor_and_retrain: compiled, train_and_deploy is nested (not copied) under the drift condition;
run with kfp.local, a drifted window retrains through the same gate and an unchanged one stops."""

import warnings

import pytest
import yaml

from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.pipelines.compile_submit import compile_pipeline
from shoprank.pipelines.local_run import collect_stage_outputs, latest_run_dir, run_locally
from shoprank.pipelines.monitor_and_retrain import monitor_and_retrain

RETRAIN_STAGES = {"validate-data", "prepare-pairs", "evaluate-baseline", "value-data", "train-reranker", "evaluate-reranker"}
QUICK = dict(embeddings=False, seed=7, train_max_steps=3, train_epochs=1, baselines="bm25", tune_trials=0)


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    root = tmp_path_factory.mktemp("windows")
    size = dict(seed=7, n_queries=200, n_products=300)
    folders = {name: generate_sample(SampleConfig(**size, **extra)).write(root / name)
               for name, extra in (("reference", {}), ("fresh", {"batch": 1}), ("drifted", {"drift": 1.0}))}
    # What the retraining reads: a small shop after the drift, so the quick retrain stays short.
    folders["retrain"] = generate_sample(SampleConfig(seed=7, n_queries=60, n_products=300, drift=1.0)).write(root / "retrain")
    return folders


def test_the_compiled_monitor_nests_train_and_deploy_under_the_drift_condition(tmp_path):
    spec = yaml.safe_load(compile_pipeline("monitor_and_retrain", tmp_path / "monitor.yaml").read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks["detect-drift"]["dependentTasks"]) == {"importer", "importer-2"}
    condition = tasks["condition-1"]
    assert condition["triggerPolicy"]["condition"] == "inputs.parameter_values['pipelinechannel--detect-drift-Output'] == true"
    (branch,) = spec["components"]["comp-condition-1"]["dag"]["tasks"].values()
    nested = spec["components"][branch["componentRef"]["name"]]["dag"]["tasks"]
    standalone = yaml.safe_load(compile_pipeline("shoprank-train-and-deploy", tmp_path / "t.yaml").read_text())
    assert set(nested) == set(standalone["root"]["dag"]["tasks"])  # every step of train_and_deploy, as it is
    assert branch["inputs"]["parameters"]["data_uri"] == {"componentInputParameter": "pipelinechannel--data_uri"}


def _run(out, windows, current, **extra):
    warnings.filterwarnings("ignore", module=r"kfp\.local")
    run_locally(monitor_and_retrain, out, reference_uri=str(windows["reference"]), current_uri=str(windows[current]),
                data_uri=str(windows["retrain"]), **QUICK, **extra)
    return collect_stage_outputs(latest_run_dir(out))


def test_a_drifted_window_is_retrained_and_gated(windows, tmp_path):
    # three steps do not beat BM25; the floor alone gates here (the baseline rule: tests/unit/test_gate.py)
    stages = _run(tmp_path / "out", windows, "drifted", min_ndcg=0.0, beat_baselines=False, gate_min_queries=1)
    assert stages["detect-drift"]["parameters"]["Output"] is True
    assert stages["detect-drift"]["metadata"]["verdict"]["verdict"] == "drift"
    assert RETRAIN_STAGES <= set(stages) and not any(s["failed"] for s in stages.values())
    evaluation = stages["evaluate-reranker"]
    assert evaluation["parameters"]["blessed"] is True  # the gate ran: a floor of 0 is configured
    assert 0.0 <= evaluation["metrics"]["model_test_ndcg@10"] <= 1.0


def test_an_unchanged_window_stops_after_the_check(windows, tmp_path):
    stages = _run(tmp_path / "out", windows, "fresh")
    assert stages["detect-drift"]["parameters"]["Output"] is False
    assert not RETRAIN_STAGES & set(stages)


def test_the_monitor_restates_the_defaults_of_what_it_runs():
    import inspect

    from shoprank.components.drift.component import detect_drift
    from shoprank.pipelines.train_and_deploy import train_and_deploy

    def defaults(func):
        return {name: p.default for name, p in inspect.signature(func).parameters.items()}

    monitor, retrain, drift = (defaults(f) for f in (monitor_and_retrain.pipeline_func, train_and_deploy.pipeline_func,
                                                     detect_drift.python_func))
    for name in ("seed", "train_epochs", "train_max_steps", "train_max_minutes", "tune_trials", "tune_minutes",
                 "min_ndcg", "min_gain_over_champion",
                 "champion_model_uri", "baselines", "embedding_cache_dir", "beat_baselines", "gate_margin",
                 "gate_min_queries", "gate_alpha", "require_significance"):
        assert monitor[name] == retrain[name], name
    for name, component_name in (("drift_config_json", "config_json"), ("drift_seed", "seed"),
                                 ("family_alpha", "family_alpha"), ("max_units", "max_units"), ("embeddings", "embeddings"),
                                 ("pushgateway_url", "pushgateway_url"), ("model_name", "model_name")):
        assert monitor[name] == drift[component_name], name
