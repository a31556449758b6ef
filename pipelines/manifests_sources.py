"""The YAML files under manifests/ that builders render: one source of truth for each object.

The InferenceService, RayJob, TrainJob, PodMonitor and PrometheusRule files of the kustomize
base and overlays are the output of the pure builders (serving/inference_service.py,
serving/monitoring.py, trainer/rayjob.py, trainer/trainjob.py) for the arguments below;
`shoprank manifests generate` writes them and `--check` (and a test) fails when one differs.
Everything else under manifests/ (RBAC, NetworkPolicy, PodDisruptionBudget, the training
runtime, kustomization files) is written by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml

from shoprank.components.images import CUDA_SUFFIX, DEFAULT_IMAGE
from shoprank.serving.inference_service import (DeploymentMode, PredictorConfig, RawCanary,
                                                build_inference_service)
from shoprank.serving.monitoring import build_pod_monitor, build_prometheus_rule
from shoprank.trainer.rayjob import build_rayjob
from shoprank.trainer.trainjob import DATA_MOUNT, build_trainjob

MANIFESTS_DIR = Path(__file__).resolve().parents[1] / "manifests"
ISVC_NAME = "shoprank"
CHAMPION_URI = "s3://shoprank/models/champion"
CANDIDATE_URI = "s3://shoprank/models/candidate"
CUDA_IMAGE = DEFAULT_IMAGE + CUDA_SUFFIX
PAIRS = f"{DATA_MOUNT}/pairs.parquet"
TUNE_OUT = f"{DATA_MOUNT}/tune"
MODEL_OUT = f"{DATA_MOUNT}/models/candidate"
GPU_NODES = {"nvidia.com/gpu.present": "true"}   # the label NVIDIA GPU feature discovery sets


def _isvc(predictor: PredictorConfig, **kwargs) -> list[dict]:
    return [build_inference_service(ISVC_NAME, predictor, **kwargs)]


def _rayjob(image: str = DEFAULT_IMAGE, **kwargs) -> list[dict]:
    # Installed suspended: `kubectl patch rayjob shoprank-tune --type merge -p '{"spec":{"suspend":false}}'` runs it.
    return [build_rayjob("shoprank-tune", image, PAIRS, TUNE_OUT, suspend=True, **kwargs)]


def _trainjob(image: str = DEFAULT_IMAGE, **kwargs) -> list[dict]:
    return [build_trainjob("shoprank-train", image, pairs_uri=PAIRS, output_uri=MODEL_OUT, config={},
                           suspend=True, **kwargs)]


GENERATED: dict[str, tuple[str, Callable[[], list[dict]]]] = {
    "base/inferenceservice.yaml": (
        "the champion behind a Serverless (Knative) InferenceService, one CPU replica",
        lambda: _isvc(PredictorConfig(CHAMPION_URI, DEFAULT_IMAGE))),
    "base/rayjob.yaml": (
        "the hyper-parameter search on KubeRay: one head, two 4-CPU workers",
        lambda: _rayjob()),
    "base/trainer/trainjob.yaml": (
        "the fine-tune on Kubeflow Trainer: one CPU node",
        lambda: _trainjob(num_nodes=1, gpus_per_node=0)),
    "base/monitoring.yaml": (
        "Prometheus scraping of the predictor and its SLO and drift alerts",
        lambda: [build_pod_monitor(ISVC_NAME), build_prometheus_rule(ISVC_NAME)]),
    "overlays/dev/inferenceservice.yaml": (
        "dev: one small replica",
        lambda: _isvc(PredictorConfig(CHAMPION_URI, DEFAULT_IMAGE, cpu_request="250m", cpu_limit="1",
                                      memory_request="1Gi", memory_limit="1Gi"))),
    "overlays/dev/rayjob.yaml": (
        "dev: one small Ray worker",
        lambda: _rayjob(workers=1, cpus_per_worker="2", memory_per_worker="4Gi", head_cpu="500m",
                        head_memory="2Gi")),
    "overlays/prod/inferenceservice.yaml": (
        "prod: 2..10 replicas on Knative concurrency, spread over nodes",
        lambda: _isvc(PredictorConfig(CHAMPION_URI, DEFAULT_IMAGE, cpu_request="2", cpu_limit="4", memory_request="4Gi",
                                      memory_limit="4Gi", min_replicas=2, max_replicas=10,
                                      scale_metric="concurrency", scale_target=8, anti_affinity=True))),
    "overlays/gpu/inferenceservice.yaml": (
        "gpu: one NVIDIA GPU per replica, the torch runtime, the CUDA image",
        lambda: _isvc(PredictorConfig(CHAMPION_URI, CUDA_IMAGE, runtime="torch", gpus=1, cpu_request="2",
                                      cpu_limit="4", memory_request="8Gi", memory_limit="8Gi",
                                      node_selector=GPU_NODES))),
    "overlays/gpu/rayjob.yaml": (
        "gpu: two Ray workers with one GPU each, two trials per GPU",
        lambda: _rayjob(CUDA_IMAGE, gpus_per_worker=1, cpus_per_worker="8", memory_per_worker="32Gi",
                        config={"settings": {"gpus_per_trial": 0.5, "cpus_per_trial": 4}})),
    "overlays/gpu/trainjob.yaml": (
        "gpu: 2 nodes x 4 GPUs, torchrun DDP",
        lambda: _trainjob(CUDA_IMAGE, num_nodes=2, gpus_per_node=4)),
    "overlays/canary/inferenceservice.yaml": (
        "canary (Serverless): the candidate takes 10% beside the previous revision, tag routing on",
        lambda: _isvc(PredictorConfig(CANDIDATE_URI, DEFAULT_IMAGE), canary_traffic_percent=10)),
    "overlays/canary-raw/inferenceservice.yaml": (
        "canary (RawDeployment, KServe >= 0.20): the champion autoscales on CPU, the candidate takes 10%",
        lambda: _isvc(PredictorConfig(CHAMPION_URI, DEFAULT_IMAGE, min_replicas=1, max_replicas=4, scale_metric="cpu",
                                      scale_target=70),
                      mode=DeploymentMode.RAW,
                      canaries=[RawCanary("candidate", PredictorConfig(CANDIDATE_URI, DEFAULT_IMAGE),
                                          traffic_percent=10)])),
}


def render_generated(relative: str) -> str:
    """The text of one generated file: a header naming its source, then its objects as YAML."""
    what, build = GENERATED[relative]
    header = (f"# {what}.\n"
              "# Generated by `shoprank manifests generate` from the builders in serving/ and trainer/\n"
              "# (pipelines/manifests_sources.py holds the arguments); edit those, not this file.\n")
    return header + yaml.safe_dump_all(build(), sort_keys=False, default_flow_style=False, width=120)


def stale_files(root: Path = MANIFESTS_DIR) -> list[str]:
    """Generated files that are missing under `root` or differ from their builder's output."""
    return [rel for rel in GENERATED
            if not (root / rel).is_file() or (root / rel).read_text() != render_generated(rel)]


def write_generated(root: Path = MANIFESTS_DIR) -> list[str]:
    """Write every generated file under `root`; returns those that changed."""
    changed = stale_files(root)
    for rel in changed:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(render_generated(rel))
    return changed
