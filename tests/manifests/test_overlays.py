"""Every kustomize overlay renders with the real kustomize, validates, meets the container policy
and matches its golden file; the generated manifests equal their builders' output."""

import copy
import os
from pathlib import Path

import pytest
import yaml

from shoprank.components.images import DEFAULT_IMAGE
from shoprank.pipelines.manifests_policy import violations
from shoprank.pipelines.manifests_render import overlay_names, render_objects
from shoprank.pipelines.manifests_sources import GENERATED, ISVC_NAME, stale_files

OVERLAYS = ["dev", "prod", "gpu", "canary", "canary-raw", "cluster"]
GOLDEN = Path(__file__).parent / "golden"
UPDATE_ENV = "SHOPRANK_UPDATE_GOLDEN"
ISVC_POD_LABEL = {"serving.kserve.io/inferenceservice": ISVC_NAME}


def _by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def _one(objects, kind):
    (obj,) = _by_kind(objects, kind)
    return obj


def test_every_overlay_is_listed():
    assert overlay_names() == sorted(OVERLAYS[:-1]) + ["cluster"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_and_meets_the_policy(rendered, manifest_validator, overlay):
    objects = rendered(overlay)
    assert objects
    assert manifest_validator.errors_by_object(objects) == {}
    assert violations(objects) == []
    assert not _by_kind(objects, "Secret")          # credentials come from a Secret the user creates
    assert not {"ClusterRole", "ClusterRoleBinding"} & {o["kind"] for o in objects}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_matches_its_golden_file(rendered, overlay):
    golden = GOLDEN / f"{overlay}.yaml"
    actual = rendered(overlay)
    if os.environ.get(UPDATE_ENV) == "1" or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(yaml.safe_dump_all(actual, sort_keys=True))
        if os.environ.get(UPDATE_ENV) != "1":
            pytest.fail(f"golden file {golden} was missing and has been written; review and commit it")
    expected = [d for d in yaml.safe_load_all(golden.read_text()) if d]
    assert actual == expected, f"overlay {overlay} differs from {golden.name}; if intended, rerun with {UPDATE_ENV}=1"


def test_generated_manifests_equal_their_builders_output(rendered):
    assert stale_files() == []
    for relative, (_, build) in GENERATED.items():
        overlay = relative.split("/")[1] if relative.startswith("overlays/") else "dev"
        objects = rendered(overlay)
        for built in build():
            (live,) = [o for o in objects if (o["kind"], o["metadata"]["name"]) ==
                       (built["kind"], built["metadata"]["name"])]
            live = copy.deepcopy(live)
            assert live["metadata"].pop("namespace") == "shoprank"
            if relative.startswith("overlays/"):          # the overlay's patch replaced the base object whole
                assert live == built, relative


def test_policy_catches_each_missing_setting(rendered):
    isvc = _one(rendered("dev"), "InferenceService")
    breaks = {
        "runAsNonRoot": lambda c: c["securityContext"].pop("runAsNonRoot"),
        "readOnlyRootFilesystem": lambda c: c["securityContext"].update(readOnlyRootFilesystem=False),
        "allowPrivilegeEscalation": lambda c: c["securityContext"].pop("allowPrivilegeEscalation"),
        "drop does not include ALL": lambda c: c["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        "RuntimeDefault": lambda c: c["securityContext"].update(seccompProfile={"type": "Unconfined"}),
        "limits.cpu": lambda c: c["resources"]["limits"].pop("cpu"),
        "requests.memory": lambda c: c["resources"]["requests"].pop("memory"),
        "latest": lambda c: c.update(image="registry.example/shoprank:latest"),
        "/tmp": lambda c: c.update(volumeMounts=[]),
    }
    for expected, breaker in breaks.items():
        broken = copy.deepcopy(isvc)
        breaker(broken["spec"]["predictor"]["containers"][0])
        found = violations([broken])
        assert len(found) == 1 and expected in found[0], (expected, found)


def test_policy_reaches_every_container_kind(rendered):
    objects = rendered("canary-raw") + rendered("cluster")
    unhardened = copy.deepcopy(objects)
    for obj in unhardened:
        _strip_security(obj)
    names = {line.split(", container ")[1].split(":")[0] for line in violations(unhardened)}
    assert names == {"'kserve-container'", "'ray-head'", "'ray-worker'", "'ray-job-submitter'", "'node'"}


def _strip_security(node):
    if isinstance(node, dict):
        node.pop("securityContext", None)
        for value in node.values():
            _strip_security(value)
    elif isinstance(node, list):
        for item in node:
            _strip_security(item)


def test_rbac_is_least_privilege(rendered):
    objects = rendered("prod")
    role = _one(objects, "Role")
    granted = {(group, resource): set(rule["verbs"])
               for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]}
    assert set(granted) == {(g, r) for g, base in [("serving.kserve.io", "inferenceservices"), ("ray.io", "rayjobs"),
                                                   ("trainer.kubeflow.org", "trainjobs")]
                            for r in (base, f"{base}/status")}
    assert all(verbs == {"get"} for (_, resource), verbs in granted.items() if resource.endswith("/status"))
    assert all("delete" not in v and "*" not in v for v in granted.values())
    binding = _one(objects, "RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "shoprank-pipeline", "namespace": "shoprank"}]
    predictor_sa = next(o for o in objects if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "shoprank-predictor")
    assert predictor_sa["automountServiceAccountToken"] is False
    assert predictor_sa["secrets"] == [{"name": "shoprank-storage"}]
    assert _one(objects, "InferenceService")["spec"]["predictor"]["serviceAccountName"] == "shoprank-predictor"


def test_network_policy_admits_only_the_gateway_path_and_prometheus(rendered):
    policy = _one(rendered("dev"), "NetworkPolicy")
    assert policy["spec"]["podSelector"] == {"matchLabels": ISVC_POD_LABEL}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    sources = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
               for rule in policy["spec"]["ingress"] for peer in rule["from"]}
    assert sources == {"istio-system", "knative-serving", "monitoring"}
    assert all("podSelector" in peer for rule in policy["spec"]["ingress"] for peer in rule["from"])


def test_dev_and_prod_sizes(rendered):
    dev = _one(rendered("dev"), "InferenceService")["spec"]["predictor"]
    assert (dev["minReplicas"], dev["maxReplicas"]) == (1, 1)
    assert _one(rendered("dev"), "RayJob")["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 1
    objects = rendered("prod")
    prod = _one(objects, "InferenceService")["spec"]["predictor"]
    assert (prod["minReplicas"], prod["maxReplicas"], prod["scaleMetric"], prod["scaleTarget"]) == (2, 10, "concurrency", 8)
    assert "podAntiAffinity" in prod["affinity"]
    pdb = _one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"] == {"matchLabels": ISVC_POD_LABEL} and pdb["spec"]["minAvailable"] == 1


def test_gpu_overlay_asks_for_gpus_on_gpu_nodes_with_the_cuda_image(rendered):
    objects = rendered("gpu")
    predictor = _one(objects, "InferenceService")["spec"]["predictor"]
    assert predictor["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert any(t["key"] == "nvidia.com/gpu" for t in predictor["tolerations"])
    worker = _one(objects, "RayJob")["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"]
    assert worker["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert _one(objects, "TrainJob")["spec"]["trainer"]["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == 4
    images = set(_images(objects))
    assert images == {DEFAULT_IMAGE + "-cuda"}
    assert set(_images(rendered("dev"))) == {DEFAULT_IMAGE}


def _images(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image":
                yield value
            else:
                yield from _images(value)
    elif isinstance(node, list):
        for item in node:
            yield from _images(item)


def test_canary_overlays(rendered):
    serverless = _one(rendered("canary"), "InferenceService")
    assert serverless["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert serverless["metadata"]["annotations"]["serving.kserve.io/enable-tag-routing"] == "true"
    raw = _one(rendered("canary-raw"), "InferenceService")
    assert raw["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert "canaryTrafficPercent" not in raw["spec"]["predictor"]
    assert [(c["predictor"]["name"], c["trafficPercent"]) for c in raw["spec"]["canary"]] == [("candidate", 10)]


def test_namespace_option_moves_every_object_and_the_binding():
    objects = render_objects("dev", namespace="team-a")
    assert {o["metadata"]["namespace"] for o in objects} == {"team-a"}
    assert _one(objects, "RoleBinding")["subjects"][0]["namespace"] == "team-a"


def test_cluster_target_holds_only_the_cluster_scoped_runtime(rendered):
    (runtime,) = rendered("cluster")
    assert runtime["kind"] == "ClusterTrainingRuntime" and "namespace" not in runtime["metadata"]
    assert all(o["kind"] != "ClusterTrainingRuntime" for name in OVERLAYS[:-1] for o in rendered(name))
