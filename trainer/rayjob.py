"""Build the KubeRay RayJob that runs the hyper-parameter search on a Ray cluster: a pure function.

KubeRay starts a Ray cluster (one head, `workers` workers, all from the project image),
submits the entry point from a submitter pod and tears the cluster down when the job ends:

    python -m shoprank.trainer.tune_cli --pairs P --out D --config-json '{...}' --ray-address auto

Inside a Ray job the driver runs on the head, so `--ray-address auto` joins the cluster it is
in. The head takes no trials (num-cpus 0); trials run on the workers. Pairs and results live on
the shared volume claim mounted at DATA_MOUNT on every node, which Ray Tune needs as its
storage path when trials run on several nodes. Every container runs as the image's non-root
user with a read-only root: Ray's session folder (/tmp/ray) and the object store's /dev/shm are
emptyDir volumes.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, Mapping

from shoprank.core.common.errors import ConfigError
from shoprank.core.common.image import RUN_AS_USER, container_security_context, require_pinned_image, writable_tmp
from shoprank.trainer.trainjob import DATA_CLAIM, DATA_MOUNT, GPU_RESOURCE, check_job_name

API_VERSION = "ray.io/v1"
TUNE_MODULE = "shoprank.trainer.tune_cli"
WORKER_GROUP = "tune"


def tune_entrypoint(pairs_uri: str, output_uri: str, config: Mapping[str, Any] | None = None,
                    ray_address: str | None = "auto") -> str:
    """The job's entry point as one shell-quoted string (the tune_cli contract)."""
    argv = ["python", "-m", TUNE_MODULE, "--pairs", pairs_uri, "--out", output_uri]
    if config:
        from shoprank.trainer.tune_cli import parse_config, tuning_off

        try:
            text = json.dumps(dict(config), sort_keys=True, separators=(",", ":"))
        except TypeError as exc:
            raise ConfigError(f"tuning config: expected JSON-serialisable values, {exc}") from exc
        if tuning_off(parse_config(text)):  # refused here if tune_cli would refuse it
            raise ConfigError("tuning config: settings.trials 0 turns tuning off, so a RayJob would start a Ray "
                              "cluster for nothing; expected trials >= 1 (tune_cli or the tune component take 0)")
        argv += ["--config-json", text]
    if ray_address:
        argv += ["--ray-address", ray_address]
    return shlex.join(argv)


def build_rayjob(
    name: str,
    image: str,
    pairs_uri: str,
    output_uri: str,
    config: Mapping[str, Any] | None = None,
    namespace: str | None = None,
    workers: int = 2,
    cpus_per_worker: str = "4",
    memory_per_worker: str = "8Gi",
    gpus_per_worker: int = 0,
    head_cpu: str = "1",
    head_memory: str = "4Gi",
    data_claim: str | None = DATA_CLAIM,
    suspend: bool = False,
    active_deadline_seconds: int | None = None,
    ttl_seconds_after_finished: int = 600,
) -> dict:
    """A RayJob with one head and `workers` workers (CPU, or `gpus_per_worker` NVIDIA GPUs each).

    config: tune_cli's --config-json object ({"settings": TuneSettings fields, "base": TrainConfig
    fields, "space": the search space}; each key optional), checked before the job is built.
    suspend: create it without starting (KubeRay starts it when spec.suspend turns false).
    active_deadline_seconds: stop the whole job after this long. The Ray cluster is deleted
    ttl_seconds_after_finished after the job ends. Raises ConfigError for a bad name, image,
    worker count or config.
    """
    check_job_name("RayJob", name)
    require_pinned_image(image, "RayJob image")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers: expected an integer >= 1, got {workers!r}")
    if isinstance(gpus_per_worker, bool) or not isinstance(gpus_per_worker, int) or gpus_per_worker < 0:
        raise ConfigError(f"gpus_per_worker: expected an integer >= 0, got {gpus_per_worker!r}")
    head = _pod(image, "ray-head", head_cpu, head_memory, 0, data_claim, ports=[
        {"name": "gcs", "containerPort": 6379}, {"name": "dashboard", "containerPort": 8265},
        {"name": "client", "containerPort": 10001}])
    worker = _pod(image, "ray-worker", cpus_per_worker, memory_per_worker, gpus_per_worker, data_claim)
    submitter = _pod(image, "ray-job-submitter", "200m", "512Mi", 0, None)
    submitter["spec"]["restartPolicy"] = "Never"   # KubeRay requires it of the submitter pod
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/name": "shoprank", "app.kubernetes.io/component": "tune"},
    }
    if namespace:
        metadata["namespace"] = namespace
    spec: dict[str, Any] = {
        "entrypoint": tune_entrypoint(pairs_uri, output_uri, config),
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": ttl_seconds_after_finished,
        "suspend": suspend,
        "submitterPodTemplate": submitter,
        "rayClusterSpec": {
            "headGroupSpec": {"rayStartParams": {"num-cpus": "0"}, "template": head},
            "workerGroupSpecs": [{"groupName": WORKER_GROUP, "replicas": workers, "minReplicas": workers,
                                  "maxReplicas": workers, "rayStartParams": {}, "template": worker}],
        },
    }
    if active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = active_deadline_seconds
    return {"apiVersion": API_VERSION, "kind": "RayJob", "metadata": metadata, "spec": spec}


def _pod(image: str, container: str, cpu: str, memory: str, gpus: int, data_claim: str | None,
         ports: list | None = None) -> dict:
    """A pod template: one hardened container, /tmp and /dev/shm as emptyDirs, the data claim."""
    resources: dict[str, dict[str, Any]] = {"requests": {"cpu": cpu, "memory": memory},
                                            "limits": {"cpu": cpu, "memory": memory}}
    if gpus:
        resources["requests"][GPU_RESOURCE] = gpus
        resources["limits"][GPU_RESOURCE] = gpus
    volumes = [writable_tmp("8Gi")]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if container != "ray-job-submitter":
        # Ray's object store lives in /dev/shm; the container default (64 MiB) is far too small.
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": memory}})
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    if data_claim:
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": data_claim}})
        mounts.append({"name": "data", "mountPath": DATA_MOUNT})
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "fsGroup": RUN_AS_USER, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": container,
            "image": image,
            "env": [{"name": "HOME", "value": "/tmp"}, {"name": "PYTHONUNBUFFERED", "value": "1"}],
            "resources": resources,
            "securityContext": container_security_context(),
            "volumeMounts": mounts,
            **({"ports": ports} if ports else {}),
        }],
        "volumes": volumes,
    }
    if gpus:
        spec["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    return {"spec": spec}
