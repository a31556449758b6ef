"""serving/cluster.py against a fake Kubernetes API server over real HTTP (tests/support/kserve_api_stub.py).

The kubernetes client sends real requests to the stub, which plays KServe's controller; nothing
of ours is mocked. Objects are also validated against the InferenceService CRD when its schema is
found (SHOPRANK_CRD_DIR, as in tests/manifests).
"""

import copy

import pytest

from support.kserve_api_stub import KServeApiStub
from shoprank.core.common.errors import ConfigError
from shoprank.serving.cluster import ClusterError, ClusterTimeout, KServeCluster, canary_percent, merge_patch

NS = "shop"
IMAGE = "registry.example/shoprank:0.1.0"


def isvc(storage_uri: str, canary: int | None = None, mode: str = "Serverless", image: str = IMAGE,
         variant: str = "v1") -> dict:
    """A minimal InferenceService (custom predictor container), as the builders render one."""
    container = {"name": "kserve-container", "image": image, "args": ["shoprank", "serve", "/mnt/models", "--port", "8080"],
                 "env": [{"name": "STORAGE_URI", "value": storage_uri}]}
    predictor = {"name": variant if mode == "RawDeployment" else None, "minReplicas": 1, "containers": [container]}
    predictor = {k: v for k, v in predictor.items() if v is not None}
    if canary is not None and mode == "Serverless":
        predictor["canaryTrafficPercent"] = canary
    obj = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "metadata": {"name": "reranker", "namespace": NS, "annotations": {"serving.kserve.io/deploymentMode": mode}},
           "spec": {"predictor": predictor}}
    return obj


def raw_with_canary(stable: str, candidate: str, percent: int) -> dict:
    """Stable and candidate variants named after their model versions (v1, v2, ...)."""
    obj = isvc(f"s3://models/{stable}", mode="RawDeployment", variant=stable)
    candidate = copy.deepcopy(isvc(f"s3://models/{candidate}", mode="RawDeployment", variant=candidate)["spec"]["predictor"])
    obj["spec"]["canary"] = [{"predictor": candidate, "trafficPercent": percent}]
    return obj


@pytest.fixture(scope="module")
def validate():
    try:
        from manifests.conftest import CrdValidator, _load_crd, crd_dir
    except ImportError:
        return None
    crd = _load_crd(crd_dir(), "InferenceService") if crd_dir().is_dir() else None
    return CrdValidator(crd).errors if crd else None


def cluster_for(stub, timeout_s=5.0):
    from kubernetes import client

    configuration = client.Configuration(host=stub.url)
    return KServeCluster(NS, api_client=client.ApiClient(configuration), timeout_s=timeout_s, poll_s=0.05)


def test_serverless_canary_steps_promote_and_rollback(validate):
    with KServeApiStub(validate=validate) as stub:
        cluster = cluster_for(stub)
        first = cluster.apply(isvc("s3://models/v1", canary=10))  # nothing to canary against: all traffic
        assert canary_percent(first) is None and first["status"]["components"]["predictor"]["traffic"][0]["percent"] == 100
        assert "canaryTrafficPercent" not in first["spec"]["predictor"]
        v1 = first["status"]["components"]["predictor"]["latestReadyRevision"]
        stepped = cluster.apply(isvc("s3://models/v2", canary=10))
        traffic = {t["tag"]: t for t in stepped["status"]["components"]["predictor"]["traffic"]}
        assert traffic["prev"]["revisionName"] == v1 and traffic["prev"]["percent"] == 90 and traffic["latest"]["percent"] == 10
        for percent in (25, 50):
            assert canary_percent(cluster.set_canary_percent("reranker", percent)) == percent
        promoted = cluster.promote("reranker")
        assert "canaryTrafficPercent" not in promoted["spec"]["predictor"]
        component = promoted["status"]["components"]["predictor"]
        assert component["traffic"] == [{"revisionName": component["latestReadyRevision"], "percent": 100,
                                         "latestRevision": True, "tag": "latest"}]
        assert component["previousRolledoutRevision"] == v1
        # Next candidate, rolled back: the promoted revision serves everything again, the candidate stays deployed.
        cluster.apply(isvc("s3://models/v3", canary=10))
        rolled = cluster.rollback("reranker")
        assert rolled["spec"]["predictor"]["canaryTrafficPercent"] == 0
        traffic = {t["tag"]: t for t in rolled["status"]["components"]["predictor"]["traffic"]}
        assert traffic["prev"]["revisionName"] == component["latestReadyRevision"] and traffic["prev"]["percent"] == 100
        assert traffic["latest"]["percent"] == 0
        methods = {(m, ct) for m, _, ct in stub.requests}
        assert ("PATCH", "application/merge-patch+json") in methods and any(m == "POST" for m, _ in methods)


def test_raw_deployment_canary_list_steps_and_promotes_without_renaming(validate):
    with KServeApiStub(validate=validate) as stub:
        cluster = cluster_for(stub)
        cluster.apply(isvc("s3://models/v1", mode="RawDeployment"))
        stepped = cluster.apply(raw_with_canary("v1", "v2", 10))
        assert stepped["status"]["canaryStatuses"] == [{"name": "v2", "ready": True, "trafficPercent": 10}]
        assert canary_percent(cluster.set_canary_percent("reranker", 50)) == 50
        promoted = cluster.promote("reranker")
        assert "canary" not in promoted["spec"] and "canaryStatuses" not in promoted["status"]
        predictor = promoted["spec"]["predictor"]
        assert predictor["name"] == "v2" and predictor["containers"][0]["env"][0]["value"] == "s3://models/v2"
        cluster.apply(raw_with_canary("v2", "v3", 10))
        rolled = cluster.rollback("reranker")
        assert rolled["spec"]["canary"][0]["trafficPercent"] == 0 and rolled["spec"]["predictor"]["name"] == "v2"
        assert rolled["status"]["canaryStatuses"][0]["trafficPercent"] == 0


def test_a_candidate_that_never_gets_ready_times_out_with_the_conditions_and_rolls_back():
    with KServeApiStub(failing_images={"registry.example/broken:1"}) as stub:
        cluster = cluster_for(stub, timeout_s=1.0)
        cluster.apply(isvc("s3://models/v1"))
        with pytest.raises(ClusterTimeout, match=r"expected Ready with the candidate at 10% within 1 s.*Ready=False \(RevisionFailed"):
            cluster.apply(isvc("s3://models/v2", canary=10, image="registry.example/broken:1"))
        rolled = cluster.rollback("reranker")
        assert rolled["status"]["components"]["predictor"]["traffic"][0]["percent"] == 100


def test_refusals_are_typed_and_name_what_was_expected():
    with KServeApiStub() as stub:
        cluster = cluster_for(stub)
        with pytest.raises(ClusterError, match="expected InferenceService shop/missing, found none"):
            cluster.promote("missing")
        assert cluster.get("missing") is None
        with pytest.raises(ConfigError, match="canary percent from 0 to 100, got 120"):
            cluster.set_canary_percent("reranker", 120)
        cluster.apply(isvc("s3://models/v1", mode="RawDeployment"))
        with pytest.raises(ClusterError, match="expected a spec.canary entry to promote"):
            cluster.promote("reranker")
    with KServeApiStub(validate=lambda obj: ["spec.predictor.minReplicas: -1 is less than the minimum of 0"]) as stub:
        with pytest.raises(ClusterError, match="HTTP 422.*minReplicas"):
            cluster_for(stub).apply(isvc("s3://models/v1"))


def test_merge_patch_turns_the_old_object_into_the_new():
    from support.kserve_api_stub import apply_merge_patch

    old = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}
    new = {"a": 1, "b": {"c": 5}, "e": [3], "f": None or 0}
    patch = merge_patch(old, new)
    assert patch == {"b": {"c": 5, "d": None}, "e": [3], "f": 0}
    assert apply_merge_patch(old, patch) == new


def test_the_stub_checks_objects_against_the_crd(validate):
    if validate is None:
        pytest.skip("InferenceService CRD schema not found (SHOPRANK_CRD_DIR)")
    assert validate(isvc("s3://models/v1")) == [] and validate(raw_with_canary("v1", "v2", 10)) == []
    bad = isvc("s3://models/v1")
    bad["spec"]["predictor"]["canaryTrafficPercnt"] = 10
    assert any("canaryTrafficPercnt" in e for e in validate(bad))
