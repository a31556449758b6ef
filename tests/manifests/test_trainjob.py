"""The multi-GPU TrainJob: builder output and static manifests validate against the real CRDs."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from shoprank.core.common.errors import ConfigError
from shoprank.components.images import DEFAULT_IMAGE
from shoprank.trainer.trainjob import DATA_MOUNT, GPU_RESOURCE, build_trainjob, train_command

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
STATIC_ARGS = dict(name="shoprank-train", image=DEFAULT_IMAGE, num_nodes=2, gpus_per_node=4,
                   pairs_uri="/mnt/shoprank/pairs.parquet", output_uri="/mnt/shoprank/models/candidate", config={})
TRAIN_CONFIG = {"lr": 1e-4, "batch_size": 32, "loss": "listwise", "max_minutes": None, "seed": 0}


def _static(relative):
    return yaml.safe_load((MANIFESTS / relative).read_text())


@pytest.mark.parametrize("gpus_per_node", [0, 1, 8])
def test_built_trainjob_is_valid(crd_validator, gpus_per_node):
    job = build_trainjob("reranker-run-7", "registry.example/shoprank:0.1.0", num_nodes=3,
                         gpus_per_node=gpus_per_node, pairs_uri=f"{DATA_MOUNT}/pairs.parquet",
                         output_uri=f"{DATA_MOUNT}/models/run-7", config=TRAIN_CONFIG, namespace="ml")
    crd_validator("TrainJob").validate(job)
    trainer = job["spec"]["trainer"]
    assert trainer["numNodes"] == 3 and trainer["numProcPerNode"] == max(gpus_per_node, 1)
    assert trainer["command"] == train_command() == ["torchrun", "--module", "shoprank.trainer.cli"]
    assert json.loads(trainer["args"][trainer["args"].index("--config-json") + 1]) == TRAIN_CONFIG
    limits = trainer["resourcesPerNode"]["limits"]
    assert limits.get(GPU_RESOURCE, 0) == gpus_per_node


@pytest.mark.parametrize("relative", ["base/trainer/trainjob.yaml", "overlays/gpu/trainjob.yaml"])
def test_static_manifests_are_valid_and_run_on_the_runtime(crd_validator, relative):
    # That they equal the builder's output is tested for every generated file in test_overlays.py.
    job = _static(relative)
    runtime = _static("base/cluster/clustertrainingruntime.yaml")
    crd_validator("TrainJob").validate(job)
    crd_validator("ClusterTrainingRuntime").validate(runtime)
    assert job["spec"]["suspend"] is True   # installed as a template; patch suspend to false to run it
    assert job["spec"]["runtimeRef"]["name"] == runtime["metadata"]["name"]
    (node,) = runtime["spec"]["template"]["spec"]["replicatedJobs"]
    assert node["template"]["spec"]["template"]["spec"]["containers"][0]["command"] == train_command()


def test_gpu_overlay_job_is_the_two_by_four_gpu_job():
    job = _static("overlays/gpu/trainjob.yaml")
    assert job == build_trainjob(**{**STATIC_ARGS, "image": DEFAULT_IMAGE + "-cuda", "suspend": True})


def _break(obj, path, value):
    broken = copy.deepcopy(obj)
    target = broken
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return broken


@pytest.mark.parametrize("path, value, expected", [
    (("spec", "trainer", "numNodes"), "two", "numNodes"),                    # wrong type
    (("spec", "trainer", "gpus"), 4, "gpus"),                                # misspelt / unknown field
    (("spec", "runtimeRef", "name"), KeyError, "name"),                      # required field missing
    (("spec", "trainer", "resourcesPerNode", "limits", GPU_RESOURCE), [4], GPU_RESOURCE),  # not int-or-string
    (("metadata", "name"), "Shoprank_Train", "name"),                        # not a DNS name
    (("apiVersion",), "trainer.kubeflow.org/v1", "apiVersion"),              # unknown version
])
def test_broken_trainjob_is_rejected(crd_validator, path, value, expected):
    errors = crd_validator("TrainJob").errors(_break(build_trainjob(**STATIC_ARGS), path, value))
    assert errors and any(expected in e for e in errors), errors


def test_runtime_with_the_old_torch_policy_is_rejected(crd_validator):
    # Older Trainer releases put numProcPerNode under mlPolicy.torch; this CRD moved it to the TrainJob.
    runtime = _static("base/cluster/clustertrainingruntime.yaml")
    errors = crd_validator("ClusterTrainingRuntime").errors(
        _break(runtime, ("spec", "mlPolicy", "torch", "numProcPerNode"), "auto"))
    assert any("numProcPerNode" in e for e in errors), errors


def test_int_or_string_quantities_accept_both_forms(crd_validator):
    job = build_trainjob(**{**STATIC_ARGS, "cpu_per_node": "500m", "memory_per_node": "64Gi"})
    job["spec"]["trainer"]["resourcesPerNode"]["requests"]["cpu"] = 4
    assert crd_validator("TrainJob").errors(job) == []


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="Bad_Name"), "RFC 1035"),
    (dict(name="x" * 64), "RFC 1035"),
    (dict(num_nodes=0), "num_nodes"),
    (dict(image=""), "image"),
    (dict(image="registry.example/shoprank:latest"), "latest"),
    (dict(image="registry.example/shoprank"), "pinned tag"),
    (dict(config={"when": object()}), "JSON"),
])
def test_builder_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_trainjob(**{**STATIC_ARGS, **kwargs})
