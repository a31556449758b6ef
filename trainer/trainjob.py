"""Build the Kubeflow Trainer TrainJob that fine-tunes the reranker with torchrun DDP.

A pure function: it returns the object as a dict and talks to no cluster (DESIGN style #4).
The job runs on the `shoprank-torch` ClusterTrainingRuntime (manifests/base/trainer/), which
sets up the `node` replicated job, its container and /dev/shm. Kubeflow Trainer sets the
PET_* variables (nodes, processes per node, node rank, master address) that torchrun reads,
so the command needs no rendezvous flags:

    torchrun --module shoprank.trainer.cli --pairs P --out O --checkpoint-dir C --config-json '{...}'

Each node runs one process per GPU (one process on CPU); the training loop uses DDP when
WORLD_SIZE > 1. The pairs file and the model output live on a shared volume claim mounted
at DATA_MOUNT on every node, so checkpoints survive a restarted pod and the run resumes.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from shoprank.core.common.errors import ConfigError
from shoprank.core.common.image import require_pinned_image

API_VERSION = "trainer.kubeflow.org/v1alpha1"
RUNTIME_NAME = "shoprank-torch"
TRAIN_MODULE = "shoprank.trainer.cli"
TRAINER_JOB = "node"          # the replicated job and container names the torch runtime uses
PATCH_MANAGER = "shoprank"
DATA_CLAIM = "shoprank-data"
DATA_MOUNT = "/mnt/shoprank"
GPU_RESOURCE = "nvidia.com/gpu"
# TrainJob names become pod and service names: an RFC 1035 label of at most 63 characters.
_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def check_job_name(kind: str, name: str) -> None:
    """Raise ConfigError unless `name` can name a job's pods and services (an RFC 1035 label)."""
    if not (isinstance(name, str) and _NAME.match(name) and len(name) <= 63):
        raise ConfigError(f"{kind} name: expected an RFC 1035 label (a-z, 0-9, '-', <= 63 chars), got {name!r}")


def train_command() -> list[str]:
    """The container command: torchrun launching the training module on every node."""
    return ["torchrun", "--module", TRAIN_MODULE]


def build_trainjob(
    name: str,
    image: str,
    num_nodes: int,
    gpus_per_node: int,
    pairs_uri: str,
    output_uri: str,
    config: Mapping[str, Any],
    namespace: str | None = None,
    runtime: str = RUNTIME_NAME,
    data_claim: str | None = DATA_CLAIM,
    cpu_per_node: str = "8",
    memory_per_node: str = "32Gi",
    checkpoint_uri: str | None = None,
    suspend: bool | None = None,
) -> dict:
    """A TrainJob for `num_nodes` x `gpus_per_node` torchrun workers (CPU when gpus_per_node=0).

    pairs_uri / output_uri: paths the training module reads and writes; with `data_claim`
    they normally sit under DATA_MOUNT. config: the training config (e.g. dataclasses.asdict
    of TrainConfig), passed as one JSON argument. checkpoint_uri: where checkpoints go
    (default: `<output_uri>-checkpoints`); on the shared volume a restarted job resumes there.
    suspend: True creates the job without starting it (None leaves the field out).
    cpu_per_node / memory_per_node are both the request and the limit of each node.
    """
    check_job_name("TrainJob", name)
    if num_nodes < 1 or gpus_per_node < 0:
        raise ConfigError(f"expected num_nodes >= 1 and gpus_per_node >= 0, got {num_nodes} and {gpus_per_node}")
    require_pinned_image(image, "TrainJob image")
    try:
        config_json = json.dumps(dict(config), sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise ConfigError(f"training config: expected JSON-serialisable values, {exc}") from exc

    resources: dict[str, dict[str, Any]] = {
        "requests": {"cpu": cpu_per_node, "memory": memory_per_node},
        "limits": {"cpu": cpu_per_node, "memory": memory_per_node},
    }
    if gpus_per_node:
        # Extended resources are set as limits; requests must equal them.
        resources["requests"][GPU_RESOURCE] = gpus_per_node
        resources["limits"][GPU_RESOURCE] = gpus_per_node
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/name": "shoprank", "app.kubernetes.io/component": "train"},
    }
    if namespace:
        metadata["namespace"] = namespace
    spec: dict[str, Any] = {
        **({"suspend": suspend} if suspend is not None else {}),
        "runtimeRef": {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime", "name": runtime},
        "trainer": {
            "image": image,
            "command": train_command(),
            "args": ["--pairs", pairs_uri, "--out", output_uri,
                     "--checkpoint-dir", checkpoint_uri or f"{output_uri.rstrip('/')}-checkpoints",
                     "--config-json", config_json],
            "env": [{"name": "PYTHONUNBUFFERED", "value": "1"}],
            "numNodes": num_nodes,
            "numProcPerNode": max(gpus_per_node, 1),
            "resourcesPerNode": resources,
        },
    }
    pod_patch = _pod_patch(data_claim, gpus_per_node)
    if pod_patch:
        spec["runtimePatches"] = [{
            "manager": PATCH_MANAGER,
            "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [
                {"name": TRAINER_JOB, "template": {"spec": {"template": {"spec": pod_patch}}}},
            ]}}},
        }]
    return {"apiVersion": API_VERSION, "kind": "TrainJob", "metadata": metadata, "spec": spec}


def _pod_patch(data_claim: str | None, gpus_per_node: int) -> dict:
    """Pod-level additions to the runtime: the shared data volume and the GPU-node toleration."""
    patch: dict[str, Any] = {}
    if data_claim:
        patch["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": data_claim}}]
        patch["containers"] = [{"name": TRAINER_JOB, "volumeMounts": [{"name": "data", "mountPath": DATA_MOUNT}]}]
    if gpus_per_node:
        # GPU node pools are commonly tainted so that only GPU workloads land there.
        patch["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    return patch
