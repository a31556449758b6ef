"""The RayJob of the tuning search: builder output validated against the KubeRay CRD."""

import copy
import json
import shlex
from pathlib import Path

import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.components.images import DEFAULT_IMAGE
from shoprank.trainer.rayjob import TUNE_MODULE, build_rayjob, tune_entrypoint

ARGS = dict(name="shoprank-tune-7", image=DEFAULT_IMAGE, pairs_uri="/mnt/shoprank/pairs.parquet",
            output_uri="/mnt/shoprank/tune/7")


@pytest.mark.parametrize("gpus", [0, 2])
def test_built_rayjob_is_valid(crd_validator, gpus):
    job = build_rayjob(**ARGS, config={"settings": {"trials": 8, "minutes": 30}}, workers=3, gpus_per_worker=gpus,
                       namespace="ml", active_deadline_seconds=7200)
    crd_validator("RayJob").validate(job)
    spec = job["spec"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["activeDeadlineSeconds"] == 7200
    (group,) = spec["rayClusterSpec"]["workerGroupSpecs"]
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == 3
    worker = group["template"]["spec"]
    assert worker["containers"][0]["resources"]["limits"].get("nvidia.com/gpu", 0) == gpus
    assert ("tolerations" in worker) == bool(gpus)
    head = spec["rayClusterSpec"]["headGroupSpec"]
    assert head["rayStartParams"] == {"num-cpus": "0"}          # trials run on the workers only
    assert spec["submitterPodTemplate"]["spec"]["restartPolicy"] == "Never"


def test_entrypoint_is_the_tune_cli_contract():
    entry = tune_entrypoint("/mnt/d/pairs file.parquet", "/mnt/d/out", {"settings": {"trials": 4}})
    argv = shlex.split(entry)
    assert argv[:3] == ["python", "-m", TUNE_MODULE] == ["python", "-m", "shoprank.trainer.tune_cli"]
    assert argv[argv.index("--pairs") + 1] == "/mnt/d/pairs file.parquet"   # quoted, one argument
    assert argv[argv.index("--out") + 1] == "/mnt/d/out"
    assert json.loads(argv[argv.index("--config-json") + 1]) == {"settings": {"trials": 4}}
    assert argv[argv.index("--ray-address") + 1] == "auto"
    assert "--config-json" not in tune_entrypoint("p", "o")


def test_the_committed_rayjobs_run_tune_cli_with_arguments_and_defaults_it_accepts():
    import yaml

    from shoprank.trainer.tune_cli import build_parser, parse_config

    manifests = Path(__file__).resolve().parents[2] / "manifests"
    paths = [manifests / "base" / "rayjob.yaml", *sorted((manifests / "overlays").glob("*/rayjob.yaml"))]
    for path in paths:
        argv = shlex.split(yaml.safe_load(path.read_text())["spec"]["entrypoint"])
        assert argv[:3] == ["python", "-m", TUNE_MODULE], path
        args = build_parser().parse_args(argv[3:])
        assert args.ray_address == "auto" and args.pairs and args.out, path
        parse_config(args.config_json)  # the default config (TuneSettings, TrainConfig, DEFAULT_SPACE) is valid


def test_every_node_mounts_the_shared_data_and_writable_scratch():
    job = build_rayjob(**ARGS)
    cluster = job["spec"]["rayClusterSpec"]
    for pod in [cluster["headGroupSpec"]["template"]["spec"], cluster["workerGroupSpecs"][0]["template"]["spec"]]:
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts == {"/tmp": "tmp", "/dev/shm": "dshm", "/mnt/shoprank": "data"}
        assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="Tune_7"), "RFC 1035"),
    (dict(image="shoprank:latest"), "latest"),
    (dict(workers=0), "workers"),
    (dict(gpus_per_worker=-1), "gpus_per_worker"),
    (dict(config={"settings": {"trials": 2, "when": object()}}), "JSON"),
    (dict(config={"trials": 4}), "unknown keys"),              # settings go under "settings"
    (dict(config={"settings": {"trials": 0}}), "trials 0 turns tuning off, so a RayJob would start a Ray cluster"),
    (dict(config={"settings": {"trials": -1}}), "trials must be 0 \\(tuning off\\) or >= 1"),
    (dict(config={"base": {"lr": "x"}}), "base: lr must be a finite number, got 'x'"),
    (dict(config={"space": {"lr": {"type": "uniform", "low": 1.0, "high": 0.5}}}), "lr"),
])
def test_builder_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_rayjob(**{**ARGS, **kwargs})


@pytest.mark.parametrize("path, value, expected", [
    (("spec", "rayClusterSpec", "workerGroupSpecs", 0, "replicas"), "three", "replicas"),
    (("spec", "rayClusterSpec", "workerGroupSpecs", 0, "groupName"), KeyError, "groupName"),
    (("spec", "entrypointCommand"), "python", "entrypointCommand"),
])
def test_broken_rayjob_is_rejected(crd_validator, path, value, expected):
    broken = copy.deepcopy(build_rayjob(**ARGS))
    target = broken
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    errors = crd_validator("RayJob").errors(broken)
    assert errors and any(expected in e for e in errors), errors
