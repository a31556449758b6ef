"""The InferenceService builders: both KServe deployment modes, validated against the real CRD."""

import copy

import pytest

from shoprank.components.images import BASE_IMAGE, DEFAULT_IMAGE
from shoprank.core.common.errors import ConfigError
from shoprank.serving.inference_service import (LIVE_PATH, MODE_ANNOTATION, READY_PATH, TAG_ROUTING, DeploymentMode,
                                                PredictorConfig, RawCanary, build_inference_service, serve_command)

STABLE = PredictorConfig("s3://shop/models/v6", BASE_IMAGE)
CANDIDATE = PredictorConfig("s3://shop/models/v7", BASE_IMAGE)


def _container(isvc, canary=None):
    predictor = isvc["spec"]["predictor"] if canary is None else isvc["spec"]["canary"][canary]["predictor"]
    (container,) = predictor["containers"]
    return container


def _env(container):
    return {e["name"]: e.get("value") for e in container["env"]}


@pytest.mark.parametrize("mode", ["Serverless", "Knative", "RawDeployment", "Standard"])
def test_plain_predictor_is_valid_in_both_modes(crd_validator, mode):
    isvc = build_inference_service("reranker", STABLE, mode=mode, namespace="shop")
    crd_validator("InferenceService").validate(isvc)
    assert isvc["metadata"]["annotations"][MODE_ANNOTATION] == DeploymentMode.parse(mode).value
    container = _container(isvc)
    assert container["name"] == "kserve-container" and container["image"] == BASE_IMAGE
    assert container["command"][:8] == ["shoprank", "serve", "/mnt/models", "--name", "shoprank", "--port", "8080",
                                         "--runtime"]
    assert _env(container)["STORAGE_URI"] == "s3://shop/models/v6"
    assert container["readinessProbe"]["httpGet"] == {"path": READY_PATH, "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": LIVE_PATH, "port": 8080}
    assert isvc["spec"]["predictor"]["annotations"]["prometheus.io/port"] == "8080"
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"] and "canary" not in isvc["spec"]


def test_images_setting_reads_the_environment(monkeypatch):
    from shoprank.components.images import project_image

    monkeypatch.delenv("SHOPRANK_IMAGE", raising=False)
    assert project_image() == DEFAULT_IMAGE and project_image("cuda") == DEFAULT_IMAGE + "-cuda"
    monkeypatch.setenv("SHOPRANK_IMAGE", "registry.example/shop/shoprank:2.0")
    assert project_image("cuda") == "registry.example/shop/shoprank:2.0-cuda"
    monkeypatch.setenv("SHOPRANK_IMAGE", "registry.example/shop/shoprank@sha256:" + "ab" * 32)
    with pytest.raises(ConfigError, match="digest"):
        project_image("cuda")
    with pytest.raises(ConfigError, match="variant"):
        project_image("rocm")


def test_serverless_canary_sets_the_percentage_and_tag_routing(crd_validator):
    isvc = build_inference_service("reranker", CANDIDATE, canary_traffic_percent=10)
    crd_validator("InferenceService").validate(isvc)
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert isvc["metadata"]["annotations"] == {MODE_ANNOTATION: "Knative", TAG_ROUTING: "true"}
    assert _env(_container(isvc))["STORAGE_URI"] == "s3://shop/models/v7"   # the predictor is the candidate


def test_raw_canary_is_a_named_spec_canary_entry_without_autoscaling(crd_validator):
    stable = PredictorConfig("s3://shop/models/v6", BASE_IMAGE, min_replicas=2, max_replicas=6, scale_metric="cpu", scale_target=70)
    isvc = build_inference_service("reranker", stable, mode="RawDeployment",
                                   canaries=[RawCanary("v7", CANDIDATE, 10, replicas=2),
                                             RawCanary("v8", PredictorConfig("s3://shop/models/v8", BASE_IMAGE), 0)])
    crd_validator("InferenceService").validate(isvc)
    assert [c["trafficPercent"] for c in isvc["spec"]["canary"]] == [10, 0]
    first = isvc["spec"]["canary"][0]["predictor"]
    assert first["name"] == "v7" and first["minReplicas"] == 2
    assert not {"maxReplicas", "scaleMetric", "scaleTarget"} & set(first)   # canaries run fixed replicas
    assert _env(_container(isvc, 0))["STORAGE_URI"] == "s3://shop/models/v7"
    assert isvc["spec"]["predictor"]["scaleMetric"] == "cpu" and TAG_ROUTING not in isvc["metadata"]["annotations"]


def test_raw_mode_refuses_canary_traffic_percent_it_would_ignore():
    with pytest.raises(ConfigError, match="ignores predictor.canaryTrafficPercent") as info:
        build_inference_service("reranker", CANDIDATE, mode="RawDeployment", canary_traffic_percent=10)
    assert "spec.canary" in str(info.value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(canaries=[RawCanary("v7", CANDIDATE, 10)]), "Knative canaries use canary_traffic_percent"),
    (dict(canary_traffic_percent=101), "0..100"),
    (dict(canary_traffic_percent=True), "0..100"),
    (dict(mode="Raw", canaries=[RawCanary("v7", CANDIDATE, 60), RawCanary("v8", CANDIDATE, 50)]), "at most 100"),
    (dict(mode="Raw", canaries=[RawCanary("v7", CANDIDATE, 5), RawCanary("v7", CANDIDATE, 5)]), "unique"),
    (dict(mode="Raw", canaries=[RawCanary("V7", CANDIDATE, 5)]), "DNS label"),
    (dict(mode="Raw", canaries=[RawCanary("v7", CANDIDATE, 5, replicas=0)]), "replicas"),
    (dict(mode="ModelMesh"), "Serverless"),
])
def test_bad_canary_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_inference_service("reranker", STABLE, **kwargs)


@pytest.mark.parametrize("config, mode, message", [
    (dict(scale_metric="cpu"), "Serverless", "concurrency"),
    (dict(scale_metric="concurrency"), "RawDeployment", "cpu"),
    (dict(scale_metric="cpu", scale_target=150), "RawDeployment", "1..100"),
    (dict(min_replicas=0), "RawDeployment", "min_replicas"),
    (dict(min_replicas=3, max_replicas=2), "Serverless", "max_replicas"),
    (dict(image="registry.example/shoprank:latest"), "Serverless", "latest"),
    (dict(image="registry.example/shoprank"), "Serverless", "pinned tag"),
    (dict(storage_uri=""), "Serverless", "storage_uri"),
    (dict(runtime="tensorrt"), "Serverless", "onnx-int8"),
    (dict(model_name="my model"), "Serverless", "model_name"),
    (dict(gpus=-1), "Serverless", "gpus"),
])
def test_bad_predictor_settings_are_refused(config, mode, message):
    with pytest.raises(ConfigError, match=message):
        build_inference_service("reranker", PredictorConfig(**{"storage_uri": "s3://m", "image": BASE_IMAGE, **config}), mode=mode)


@pytest.mark.parametrize("name", ["Reranker", "re_ranker", "7reranker", "r" * 49])
def test_names_kserve_cannot_derive_hosts_from_are_refused(name):
    with pytest.raises(ConfigError, match="InferenceService name"):
        build_inference_service(name, STABLE)


def test_scale_to_zero_and_digest_pinned_images_are_accepted(crd_validator):
    image = "registry.example/shoprank@sha256:" + "ab" * 32
    isvc = build_inference_service("reranker", PredictorConfig("s3://m", image, min_replicas=0, max_replicas=3,
                                                               scale_metric="concurrency", scale_target=8))
    crd_validator("InferenceService").validate(isvc)
    assert isvc["spec"]["predictor"]["minReplicas"] == 0 and _container(isvc)["image"] == image


def test_gpu_request_log_claim_and_token_mount(crd_validator):
    config = PredictorConfig("s3://m", BASE_IMAGE, gpus=1, runtime="torch", request_log_claim="shoprank-logs",
                             token_secret="shoprank-token", anti_affinity=True, node_selector={"gpu": "a100"})
    isvc = build_inference_service("reranker", config)
    crd_validator("InferenceService").validate(isvc)
    predictor, container = isvc["spec"]["predictor"], _container(isvc)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in predictor["tolerations"]
    assert container["command"] == serve_command("shoprank", "torch", 8080, "/var/log/shoprank",
                                                 "/var/run/secrets/shoprank/token")
    log_mount = next(m for m in container["volumeMounts"] if m["name"] == "request-log")
    assert log_mount["subPathExpr"] == "$(POD_NAME)"          # each replica writes its own folder
    assert {"name": "request-log", "persistentVolumeClaim": {"claimName": "shoprank-logs"}} in predictor["volumes"]
    term = predictor["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["podAffinityTerm"]["labelSelector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "reranker"}}


@pytest.mark.parametrize("path, value, expected", [
    (("spec", "canary", 0, "trafficPercent"), 101, "trafficPercent"),       # the CRD's own bound
    (("spec", "canary", 0, "predictor", "replicas"), 2, "replicas"),        # unknown field
    (("spec", "predictor", "minReplicas"), "two", "minReplicas"),
    (("spec", "predictor", "scaleMetric"), "gpu", "scaleMetric"),
])
def test_broken_objects_are_rejected_by_the_crd(crd_validator, path, value, expected):
    isvc = build_inference_service("reranker", STABLE, mode="RawDeployment", canaries=[RawCanary("v7", CANDIDATE, 10)])
    broken = copy.deepcopy(isvc)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = crd_validator("InferenceService").errors(broken)
    assert errors and any(expected in e for e in errors), errors
