"""Build the KServe InferenceService that serves the reranker: pure functions, no I/O (DESIGN style #4).

The predictor is a custom container from the project image running the model server:

    shoprank serve /mnt/models --name NAME --port 8080 --runtime onnx-int8 [--request-log DIR] [--token-file F]

KServe's storage initializer copies STORAGE_URI (s3://, gs://, pvc://, ...) to /mnt/models
before the server starts; credentials come from the Secret the predictor's ServiceAccount
references, never from this object. Probes use the Open Inference Protocol health routes of
KServe's ModelServer (/v2/health/ready, /v2/health/live); Prometheus scrapes /metrics on the
same port.

Two deployment modes (annotation serving.kserve.io/deploymentMode; KServe >= 0.15 names them
Knative and Standard and still reads the older Serverless and RawDeployment):
- SERVERLESS (Knative): a canary is `predictor.canaryTrafficPercent`; the predictor spec is the
  candidate, KServe keeps the last revision that had 100% as the stable one, and
  `serving.kserve.io/enable-tag-routing` gives each its own host (`latest-` and `prev-`).
- RAW (Standard, plain Deployments): `canaryTrafficPercent` is ignored in this mode, so it is
  refused here; canaries go in `spec.canary` (KServe >= 0.20: a list of named predictors with a
  fixed replica count and a trafficPercent; the percentages add up to at most 100).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping, Sequence

from shoprank.core.common.errors import ConfigError
from shoprank.core.common.image import RUN_AS_USER, container_security_context, require_pinned_image, writable_tmp

API_VERSION = "serving.kserve.io/v1beta1"
CONTAINER_NAME = "kserve-container"   # the name KServe's storage initializer and webhooks look for
MODEL_MOUNT = "/mnt/models"
HTTP_PORT = 8080
READY_PATH = "/v2/health/ready"
LIVE_PATH = "/v2/health/live"
METRICS_PATH = "/metrics"
PREDICTOR_SERVICE_ACCOUNT = "shoprank-predictor"
REQUEST_LOG_MOUNT = "/var/log/shoprank"
TOKEN_MOUNT = "/var/run/secrets/shoprank"
GPU_RESOURCE = "nvidia.com/gpu"
TAG_ROUTING = "serving.kserve.io/enable-tag-routing"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
ISVC_LABEL = "serving.kserve.io/inferenceservice"   # KServe puts it on every predictor pod
RUNTIMES = ("onnx-int8", "onnx", "torch")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


class DeploymentMode(str, Enum):
    """KServe deployment modes, valued as the annotation KServe >= 0.15 reads."""

    SERVERLESS = "Knative"
    RAW = "Standard"

    @classmethod
    def parse(cls, value: "str | DeploymentMode") -> "DeploymentMode":
        """Accept the current names and the legacy ones ('Serverless', 'RawDeployment'), any case."""
        if isinstance(value, cls):
            return value
        aliases = {"knative": cls.SERVERLESS, "serverless": cls.SERVERLESS,
                   "standard": cls.RAW, "rawdeployment": cls.RAW, "raw": cls.RAW}
        try:
            return aliases[str(value).lower()]
        except KeyError:
            raise ConfigError(f"deployment mode: expected one of Serverless (Knative) or RawDeployment "
                              f"(Standard), got {value!r}") from None


# Autoscaling metrics each mode's default autoscaler reads (Knative KPA; Kubernetes HPA).
_SCALE_METRICS = {DeploymentMode.SERVERLESS: ("concurrency", "rps"), DeploymentMode.RAW: ("cpu", "memory")}


@dataclass(frozen=True)
class PredictorConfig:
    """One model version's predictor.

    storage_uri: the model folder (a `shoprank train` output) KServe copies to /mnt/models.
    image: the project image (components/images.py's setting: the deploy stage passes BASE_IMAGE).
    model_name: the name it is served under (/v1/models/<name>, /v2/models/<name>).
    runtime: `shoprank serve --runtime` (onnx-int8 on CPU; torch for a GPU).
    cpu_* / memory_*: Kubernetes quantities; requests and limits are both always set.
    gpus: NVIDIA GPUs per replica (requests = limits), with a toleration for tainted GPU nodes.
    min_replicas / max_replicas / scale_metric / scale_target: autoscaling. SERVERLESS reads
      concurrency or rps (Knative KPA; min_replicas 0 scales to zero); RAW reads cpu or memory
      utilisation in percent (HPA). None leaves KServe's default.
    request_log_claim: a ReadWriteMany PersistentVolumeClaim for the request log; each pod writes
      under its own sub-folder (its pod name). None = an emptyDir (lost with the pod).
    token_secret: a Secret whose key `token` is the bearer token the server requires; None = no auth.
    node_selector / tolerations / anti_affinity: placement; anti_affinity spreads replicas over nodes.
    """

    storage_uri: str
    image: str
    model_name: str = "shoprank"
    runtime: str = "onnx-int8"
    cpu_request: str = "1"
    cpu_limit: str = "2"
    memory_request: str = "2Gi"
    memory_limit: str = "2Gi"
    gpus: int = 0
    min_replicas: int | None = 1
    max_replicas: int | None = 1
    scale_metric: str | None = None
    scale_target: int | None = None
    service_account: str = PREDICTOR_SERVICE_ACCOUNT
    request_log_claim: str | None = None
    token_secret: str | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    anti_affinity: bool = False


@dataclass(frozen=True)
class RawCanary:
    """A named canary of a RawDeployment InferenceService (one entry of spec.canary).

    name: a DNS label; KServe names its Deployment and Service `<isvc>-<name>-predictor`.
    traffic_percent: 0..100 of the requests. replicas: fixed (a canary does not autoscale).
    """

    name: str
    predictor: PredictorConfig
    traffic_percent: int
    replicas: int = 1


def build_inference_service(
    name: str,
    predictor: PredictorConfig,
    mode: "DeploymentMode | str" = DeploymentMode.SERVERLESS,
    namespace: str | None = None,
    canary_traffic_percent: int | None = None,
    canaries: Sequence[RawCanary] = (),
) -> dict:
    """The InferenceService `name` as a dict (apiVersion serving.kserve.io/v1beta1).

    SERVERLESS: `predictor` is the version to roll out; canary_traffic_percent (0..100) sends
    that share to it and the rest to the previous revision, with tag routing on. RAW:
    `predictor` is the stable version and `canaries` the candidates. Raises ConfigError for a
    bad name, quantity, percentage or image, and for a canary setting the mode would ignore.
    """
    mode = DeploymentMode.parse(mode)
    # KServe derives `<name>-predictor` objects and, with tag routing, `prev-<name>-predictor`
    # hosts: DNS labels of at most 63 characters.
    _require_label("InferenceService name", name, 63 - len("prev--predictor"))
    annotations = {MODE_ANNOTATION: mode.value}
    spec: dict[str, Any] = {"predictor": _predictor(name, predictor, mode, autoscale=True)}
    if mode is DeploymentMode.SERVERLESS:
        if canaries:
            raise ConfigError("spec.canary: expected no named canaries in Serverless (Knative) mode, got "
                              f"{len(canaries)}; Knative canaries use canary_traffic_percent")
        if canary_traffic_percent is not None:
            spec["predictor"]["canaryTrafficPercent"] = _percent("canary_traffic_percent", canary_traffic_percent)
            annotations[TAG_ROUTING] = "true"
    else:
        if canary_traffic_percent is not None:
            raise ConfigError(
                f"canary_traffic_percent: expected None in RawDeployment (Standard) mode, got {canary_traffic_percent}; "
                "KServe ignores predictor.canaryTrafficPercent there, so the candidate would take no traffic. "
                "Pass canaries=[RawCanary(...)] (spec.canary, KServe >= 0.20) instead")
        if canaries:
            spec["canary"] = _raw_canaries(name, canaries)
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/name": "shoprank", "app.kubernetes.io/component": "predictor"},
        "annotations": annotations,
    }
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": "InferenceService", "metadata": metadata, "spec": spec}


def serve_command(model_name: str, runtime: str, port: int = HTTP_PORT, request_log: str | None = None,
                  token_file: str | None = None) -> list[str]:
    """The predictor container's command line (the `shoprank serve` contract)."""
    if runtime not in RUNTIMES:
        raise ConfigError(f"runtime: expected one of {', '.join(RUNTIMES)}, got {runtime!r}")
    command = ["shoprank", "serve", MODEL_MOUNT, "--name", model_name, "--port", str(port), "--runtime", runtime]
    if request_log:
        command += ["--request-log", request_log]
    if token_file:
        command += ["--token-file", token_file]
    return command


def _predictor(isvc: str, cfg: PredictorConfig, mode: DeploymentMode, autoscale: bool) -> dict:
    _check_predictor(cfg, mode, autoscale)
    volumes = [writable_tmp()]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    env = [{"name": "STORAGE_URI", "value": cfg.storage_uri}, {"name": "HOME", "value": "/tmp"},
           {"name": "PYTHONUNBUFFERED", "value": "1"}]
    log_mount: dict[str, Any] = {"name": "request-log", "mountPath": REQUEST_LOG_MOUNT}
    if cfg.request_log_claim:
        volumes.append({"name": "request-log", "persistentVolumeClaim": {"claimName": cfg.request_log_claim}})
        log_mount["subPathExpr"] = "$(POD_NAME)"   # one folder per pod: no two writers share a file
        env.append({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    else:
        volumes.append({"name": "request-log", "emptyDir": {"sizeLimit": "1Gi"}})
    mounts.append(log_mount)
    token_file = None
    if cfg.token_secret:
        volumes.append({"name": "token", "secret": {"secretName": cfg.token_secret, "defaultMode": 0o440}})
        mounts.append({"name": "token", "mountPath": TOKEN_MOUNT, "readOnly": True})
        token_file = f"{TOKEN_MOUNT}/token"
    resources: dict[str, dict[str, Any]] = {
        "requests": {"cpu": cfg.cpu_request, "memory": cfg.memory_request},
        "limits": {"cpu": cfg.cpu_limit, "memory": cfg.memory_limit},
    }
    if cfg.gpus:
        resources["requests"][GPU_RESOURCE] = cfg.gpus
        resources["limits"][GPU_RESOURCE] = cfg.gpus
    container = {
        "name": CONTAINER_NAME,
        "image": cfg.image,
        "command": serve_command(cfg.model_name, cfg.runtime, HTTP_PORT, REQUEST_LOG_MOUNT, token_file),
        "env": env,
        "ports": [{"name": "http1", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": READY_PATH, "port": HTTP_PORT}, "initialDelaySeconds": 5,
                           "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": LIVE_PATH, "port": HTTP_PORT}, "initialDelaySeconds": 60,
                          "periodSeconds": 15, "timeoutSeconds": 2, "failureThreshold": 4},
        "resources": resources,
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    spec: dict[str, Any] = {
        "serviceAccountName": cfg.service_account,
        "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(HTTP_PORT),
                        "prometheus.io/path": METRICS_PATH},
        "containers": [container],
        "volumes": volumes,
    }
    if autoscale:
        for key, value in (("minReplicas", cfg.min_replicas), ("maxReplicas", cfg.max_replicas),
                           ("scaleMetric", cfg.scale_metric), ("scaleTarget", cfg.scale_target)):
            if value is not None:
                spec[key] = value
    if cfg.request_log_claim:
        spec["securityContext"] = {"fsGroup": RUN_AS_USER}   # the image's group may write the claim
    tolerations = [dict(t) for t in cfg.tolerations]
    if cfg.gpus and not any(t.get("key") == GPU_RESOURCE for t in tolerations):
        tolerations.append({"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"})
    if tolerations:
        spec["tolerations"] = tolerations
    if cfg.node_selector:
        spec["nodeSelector"] = dict(cfg.node_selector)
    if cfg.anti_affinity:
        spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": {ISVC_LABEL: isvc}}},
        }]}}
    return spec


def _check_predictor(cfg: PredictorConfig, mode: DeploymentMode, autoscale: bool) -> None:
    require_pinned_image(cfg.image, "predictor image")
    if not cfg.storage_uri or any(c.isspace() for c in cfg.storage_uri):
        raise ConfigError(f"storage_uri: expected a model URI such as s3://bucket/models/v7, got {cfg.storage_uri!r}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", cfg.model_name):
        raise ConfigError(f"model_name: expected letters, digits, '.', '_' or '-', got {cfg.model_name!r}")
    if isinstance(cfg.gpus, bool) or not isinstance(cfg.gpus, int) or cfg.gpus < 0:
        raise ConfigError(f"gpus: expected an integer >= 0, got {cfg.gpus!r}")
    if not autoscale:
        return
    low, high = cfg.min_replicas, cfg.max_replicas
    floor = 0 if mode is DeploymentMode.SERVERLESS else 1
    if low is not None and low < floor:
        raise ConfigError(f"min_replicas: expected >= {floor} in {mode.name} mode, got {low}")
    if high is not None and (high < 1 or (low is not None and high < low)):
        raise ConfigError(f"max_replicas: expected >= max(1, min_replicas={low}), got {high}")
    if cfg.scale_metric is not None and cfg.scale_metric not in _SCALE_METRICS[mode]:
        raise ConfigError(f"scale_metric: expected one of {_SCALE_METRICS[mode]} in {mode.name} mode, "
                          f"got {cfg.scale_metric!r}")
    if cfg.scale_target is not None:
        top = 100 if cfg.scale_metric in ("cpu", "memory") else 10**6
        if isinstance(cfg.scale_target, bool) or not 1 <= cfg.scale_target <= top:
            raise ConfigError(f"scale_target: expected an integer in 1..{top} for {cfg.scale_metric}, "
                              f"got {cfg.scale_target!r}")


def _raw_canaries(isvc: str, canaries: Sequence[RawCanary]) -> list[dict]:
    names = [c.name for c in canaries]
    if len(set(names)) != len(names):
        raise ConfigError(f"canaries: expected unique names, got {names}")
    total = sum(_percent(f"canary {c.name!r} traffic_percent", c.traffic_percent) for c in canaries)
    if total > 100:
        raise ConfigError(f"canaries: expected traffic percentages adding up to at most 100, got {total}")
    entries = []
    for canary in canaries:
        _require_label("canary name", canary.name, 63 - len(isvc) - len("--predictor"))
        if isinstance(canary.replicas, bool) or not isinstance(canary.replicas, int) or canary.replicas < 1:
            raise ConfigError(f"canary {canary.name!r} replicas: expected an integer >= 1, got {canary.replicas!r}")
        predictor = _predictor(isvc, canary.predictor, DeploymentMode.RAW, autoscale=False)
        entries.append({"trafficPercent": canary.traffic_percent,
                        "predictor": {"name": canary.name, "minReplicas": canary.replicas, **predictor}})
    return entries


def _percent(what: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ConfigError(f"{what}: expected an integer percentage in 0..100, got {value!r}")
    return value


def _require_label(what: str, value: str, max_len: int) -> None:
    if not (isinstance(value, str) and _DNS_LABEL.match(value) and len(value) <= max_len):
        raise ConfigError(f"{what}: expected a DNS label (a-z, 0-9, '-', starting with a letter, "
                          f"at most {max_len} characters), got {value!r}")
