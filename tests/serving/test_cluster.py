"""serving/cluster.py against a fake Kubernetes API server over real HTTP (tests/support/kserve_api_stub.py).

The kubernetes client sends real requests to the stub, which plays KServe's controller; nothing
of ours is mocked. Objects are also validated against the InferenceService CRD when its schema is
found (SHOPRANK_CRD_DIR, as in tests/manifests).
"""

import pytest

from support.kserve_api_stub import KServeApiStub
from shoprank.core.common.errors import ConfigError
from shoprank.serving.cluster import ClusterError, ClusterTimeout, KServeCluster, canary_percent, merge_patch
from shoprank.serving.inference_service import PredictorConfig, RawCanary, build_inference_service

NS = "shop"
IMAGE = "registry.example/shoprank:0.1.0"


def isvc(version: str, canary: int | None = None, mode: str = "Serverless", image: str = IMAGE) -> dict:
    """The InferenceService the builder renders for model `version` (Serverless: the candidate predictor)."""
    return build_inference_service("reranker", PredictorConfig(f"s3://models/{version}", image), mode=mode,
                                   namespace=NS, canary_traffic_percent=canary)


def raw_stable(version: str, canaries=()) -> dict:
    """RawDeployment: the stable predictor (autoscaled 2..4 on cpu) and optional spec.canary entries."""
    stable_cfg = PredictorConfig(f"s3://models/{version}", IMAGE, min_replicas=2, max_replicas=4, scale_metric="cpu",
                                 scale_target=70)
    return build_inference_service("reranker", stable_cfg, mode="RawDeployment", namespace=NS, canaries=canaries)


def raw_with_canary(stable: str, candidate: str, percent: int) -> dict:
    """The stable predictor plus one spec.canary entry named after the candidate's version."""
    return raw_stable(stable, [RawCanary(candidate, PredictorConfig(f"s3://models/{candidate}", IMAGE), percent)])


def storage_uri(predictor: dict) -> str:
    return next(e["value"] for e in predictor["containers"][0]["env"] if e["name"] == "STORAGE_URI")


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
        first = cluster.apply(isvc("v1", canary=10))  # nothing to canary against: all traffic
        assert canary_percent(first) is None and first["status"]["components"]["predictor"]["traffic"][0]["percent"] == 100
        assert "canaryTrafficPercent" not in first["spec"]["predictor"]
        v1 = first["status"]["components"]["predictor"]["latestReadyRevision"]
        stepped = cluster.apply(isvc("v2", canary=10))
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
        cluster.apply(isvc("v3", canary=10))
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
        cluster.apply(raw_stable("v1"))
        stepped = cluster.apply(raw_with_canary("v1", "v2", 10))
        assert stepped["status"]["canaryStatuses"] == [{"name": "v2", "ready": True, "trafficPercent": 10}]
        assert canary_percent(cluster.set_canary_percent("reranker", 50)) == 50
        promoted = cluster.promote("reranker")
        assert "canary" not in promoted["spec"] and "canaryStatuses" not in promoted["status"]
        predictor = promoted["spec"]["predictor"]
        assert predictor["name"] == "v2" and storage_uri(predictor) == "s3://models/v2"
        assert predictor["maxReplicas"] == 4 and predictor["scaleMetric"] == "cpu"  # the main autoscaling stays
        kept = cluster.apply(raw_with_canary("v2", "v3", 10))  # rendered without a name: the live one keeps "v2"
        assert kept["spec"]["predictor"]["name"] == "v2" and storage_uri(kept["spec"]["canary"][0]["predictor"]) == "s3://models/v3"
        rolled = cluster.rollback("reranker")
        assert rolled["spec"]["canary"][0]["trafficPercent"] == 0 and rolled["spec"]["predictor"]["name"] == "v2"
        assert rolled["status"]["canaryStatuses"][0]["trafficPercent"] == 0


def test_a_candidate_that_never_gets_ready_times_out_with_the_conditions_and_rolls_back():
    with KServeApiStub(failing_images={"registry.example/broken:1"}) as stub:
        cluster = cluster_for(stub, timeout_s=1.0)
        cluster.apply(isvc("v1"))
        with pytest.raises(ClusterTimeout, match=r"expected Ready with the candidate at 10% within 1 s.*Ready=False \(RevisionFailed"):
            cluster.apply(isvc("v2", canary=10, image="registry.example/broken:1"))
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
        cluster.apply(isvc("v1", mode="Standard"))
        with pytest.raises(ClusterError, match="expected a spec.canary entry to promote"):
            cluster.promote("reranker")
    with KServeApiStub(validate=lambda obj: ["spec.predictor.minReplicas: -1 is less than the minimum of 0"]) as stub:
        with pytest.raises(ClusterError, match="HTTP 422.*minReplicas"):
            cluster_for(stub).apply(isvc("v1"))


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
    assert validate(isvc("v1")) == [] and validate(raw_with_canary("v1", "v2", 10)) == []
    bad = isvc("v1")
    bad["spec"]["predictor"]["canaryTrafficPercnt"] = 10
    assert any("canaryTrafficPercnt" in e for e in validate(bad))


def test_deploy_stage_creates_then_canaries_the_next_model(tmp_path):
    from kubernetes import client

    from shoprank.serving.rollout_stages import ClusterTarget, run_deploy_stage

    model = tmp_path / "model"
    model.mkdir()
    (model / "manifest.json").write_text("{}")
    with KServeApiStub() as stub:
        api = client.ApiClient(client.Configuration(host=stub.url))
        first = run_deploy_stage(model, tmp_path / "a.json", target="cluster", name="reranker",
                                 cluster=ClusterTarget(NS, "s3://models/v1", IMAGE, api_client=api, timeout_s=5))
        assert first["candidate_percent"] == 100 and first["url"] == "http://reranker.shop.example.com"
        second = run_deploy_stage(model, tmp_path / "b.json", target="cluster", name="reranker",
                                  cluster=ClusterTarget(NS, "s3://models/v2", IMAGE, api_client=api, timeout_s=5))
        assert second["candidate_percent"] == 10 and second["predictor_revision"] == "reranker-predictor-00002"
        raw = ClusterTarget(NS, "s3://models/v2", IMAGE, mode="RawDeployment", api_client=api, timeout_s=5)
        with pytest.raises(ConfigError, match="live model's storage URI"):
            run_deploy_stage(model, tmp_path / "c.json", target="cluster", name="reranker", cluster=raw)
