"""The one module that talks to a cluster: create or patch a KServe InferenceService, step its
canary traffic, promote or roll back, and wait on its status.

Through the kubernetes Python client's CustomObjectsApi (serving.kserve.io/v1beta1,
inferenceservices); patches are JSON merge patches (RFC 7386: a null removes a field). Both KServe
deployment modes (docs: kserve.github.io/website "Canary rollout"):
- Serverless (Knative): `spec.predictor.canaryTrafficPercent` splits traffic between the latest
  revision and the previously rolled-out one (`status.components.predictor.traffic`, tags
  `latest` / `prev`); promote removes the field (latest takes 100%); roll back sets it to 0 (the
  previous revision takes 100% again, the latest stays deployed).
- RawDeployment (KServe >= 0.20): `spec.canary` lists variants `{predictor: {name, ...},
  trafficPercent}` (`status.canaryStatuses`); promote makes the canary's predictor the main one
  (same name, so no restart; the main predictor's autoscaling kept) and removes the list; roll
  back sets its trafficPercent to 0.
Objects come from the pure builders in serving/inference_service.py.
Every change waits until the controller has observed it (status.observedGeneration >=
metadata.generation), the Ready condition is True and the traffic reads as asked, or raises
ClusterTimeout naming what it waited for and the last conditions seen.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Callable

from shoprank.core.common.errors import ConfigError, ShoprankError

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
SERVERLESS, RAW = "Serverless", "RawDeployment"
# The main predictor's autoscaling survives a RawDeployment promotion (a canary runs fixed replicas).
AUTOSCALING_KEYS = ("minReplicas", "maxReplicas", "scaleMetric", "scaleTarget")


class ClusterError(ShoprankError, RuntimeError):
    """The cluster refused a request or an InferenceService is not in the state an operation needs."""


class ClusterTimeout(ClusterError):
    """An InferenceService did not reach the awaited state in time."""


def deployment_mode(isvc: dict) -> str:
    """SERVERLESS (KServe's default; Knative) or RAW (RawDeployment; Standard), from the
    annotation or the status; raises ConfigError for another value."""
    from shoprank.serving.inference_service import DeploymentMode

    annotated = (isvc.get("metadata", {}).get("annotations") or {}).get(MODE_ANNOTATION)
    mode = DeploymentMode.parse(annotated or (isvc.get("status") or {}).get("deploymentMode") or SERVERLESS)
    return RAW if mode is DeploymentMode.RAW else SERVERLESS


def condition(isvc: dict, kind: str = "Ready") -> dict:
    """The status condition of that type ({} when absent)."""
    return next((c for c in (isvc.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {})


def observed(isvc: dict) -> bool:
    """The controller has seen the latest spec and says Ready."""
    status = isvc.get("status") or {}
    generation = isvc.get("metadata", {}).get("generation", 0)
    return status.get("observedGeneration", -1) >= generation and condition(isvc).get("status") == "True"


def canary_percent(isvc: dict) -> int | None:
    """The traffic percent the candidate serves now, read from the status (None when there is no canary)."""
    status = isvc.get("status") or {}
    if deployment_mode(isvc) == RAW:
        entries = status.get("canaryStatuses") or []
        return sum(int(e.get("trafficPercent", 0)) for e in entries if e.get("ready")) if entries else None
    traffic = ((status.get("components") or {}).get("predictor") or {}).get("traffic") or []
    if len(traffic) < 2:
        return None
    return sum(int(t.get("percent", 0)) for t in traffic if t.get("latestRevision"))


def merge_patch(old: dict, new: dict) -> dict:
    """The RFC 7386 merge patch that turns `old` into `new` (keys only in old become null)."""
    patch = {k: None for k in old if k not in new}
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(old.get(key), dict):
            sub = merge_patch(old[key], value)
            if sub:
                patch[key] = sub
        elif old.get(key) != value or key not in old:
            patch[key] = copy.deepcopy(value)
    return patch


class KServeCluster:
    """InferenceServices in one namespace, through a kubernetes ApiClient.

    api_client: a configured kubernetes.client.ApiClient (default: from the kubeconfig, or the
    in-cluster service account). timeout_s: how long an operation waits for its state (s);
    poll_s: seconds between status reads.
    """

    def __init__(self, namespace: str, api_client=None, timeout_s: float = 300.0, poll_s: float = 2.0):
        from kubernetes import client

        if api_client is None:
            api_client = _default_api_client()
        self.namespace = namespace
        self.api = client.CustomObjectsApi(api_client)
        self.timeout_s = timeout_s
        self.poll_s = poll_s

    # ------------------------------------------------------------------ raw REST
    def get(self, name: str) -> dict | None:
        """The InferenceService, or None when there is none of that name."""
        try:
            return self.api.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)
        except Exception as exc:  # noqa: BLE001 - ApiException and transport errors
            if getattr(exc, "status", None) == 404:
                return None
            raise _cluster_error(f"read InferenceService {self.namespace}/{name}", exc) from exc

    def _patch(self, name: str, body: dict) -> dict:
        try:
            return self.api.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name, body)
        except Exception as exc:  # noqa: BLE001
            raise _cluster_error(f"patch InferenceService {self.namespace}/{name}", exc) from exc

    def _create(self, body: dict) -> dict:
        try:
            return self.api.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, body)
        except Exception as exc:  # noqa: BLE001
            raise _cluster_error(f"create InferenceService {self.namespace}/{body['metadata']['name']}", exc) from exc

    def _require(self, name: str) -> dict:
        isvc = self.get(name)
        if isvc is None:
            raise ClusterError(f"expected InferenceService {self.namespace}/{name}, found none")
        return isvc

    # ------------------------------------------------------------------ operations
    def apply(self, isvc: dict) -> dict:
        """Create the InferenceService, or patch an existing one to this spec, labels and
        annotations; waits until it is Ready with the canary traffic the spec asks for.

        A first deployment has no previous revision, so it is created without a canary (the
        candidate takes all traffic). In RawDeployment mode a predictor rendered without a name
        keeps the live one's (a promoted canary's), so the stable Deployment is not restarted.
        Returns the object as last read.
        """
        name = isvc["metadata"]["name"]
        current = self.get(name)
        if current is None:
            body = _without_canary(isvc)
            log.info("creating InferenceService %s/%s (%s)", self.namespace, name, deployment_mode(body))
            self._create(body)
            return self.wait(name, lambda o: observed(o) and canary_percent(o) in (None, 100), "Ready, serving all traffic")
        spec = copy.deepcopy(isvc["spec"])
        live_name = (current.get("spec", {}).get("predictor") or {}).get("name")
        if deployment_mode(isvc) == RAW and live_name and "name" not in spec.get("predictor", {}):
            spec["predictor"]["name"] = live_name  # renaming the live predictor would restart it
        patch = {"metadata": {k: isvc["metadata"][k] for k in ("labels", "annotations") if k in isvc["metadata"]},
                 "spec": merge_patch(current.get("spec", {}), spec)}
        wanted = _asked_percent(isvc)
        log.info("patching InferenceService %s/%s (canary %s%%)", self.namespace, name, wanted)
        self._patch(name, patch)
        return self.wait(name, lambda o: observed(o) and (wanted is None or canary_percent(o) == wanted),
                         f"Ready with the candidate at {wanted}%" if wanted is not None else "Ready")

    def set_canary_percent(self, name: str, percent: int) -> dict:
        """Step the candidate's share of traffic to `percent` (0..100)."""
        if not 0 <= int(percent) <= 100 or int(percent) != percent:
            raise ConfigError(f"expected a canary percent from 0 to 100, got {percent}")
        percent = int(percent)
        isvc = self._require(name)
        if deployment_mode(isvc) == RAW:
            variants = copy.deepcopy(isvc["spec"].get("canary") or [])
            if not variants:
                raise ClusterError(f"InferenceService {self.namespace}/{name}: expected a spec.canary entry to step, found none")
            variants[0]["trafficPercent"] = percent
            self._patch(name, {"spec": {"canary": variants}})
        else:
            self._patch(name, {"spec": {"predictor": {"canaryTrafficPercent": percent}}})
        log.info("InferenceService %s/%s: candidate at %d%%", self.namespace, name, percent)
        return self.wait(name, lambda o: observed(o) and canary_percent(o) == percent, f"the candidate at {percent}%")

    def promote(self, name: str) -> dict:
        """The candidate takes 100% and the canary field is removed."""
        isvc = self._require(name)
        if deployment_mode(isvc) == RAW:
            variants = isvc["spec"].get("canary") or []
            if not variants:
                raise ClusterError(f"InferenceService {self.namespace}/{name}: expected a spec.canary entry to promote, found none")
            stable = isvc["spec"]["predictor"]
            predictor = {**variants[0]["predictor"], **{k: stable[k] for k in AUTOSCALING_KEYS if k in stable}}
            self._patch(name, {"spec": {"predictor": merge_patch(stable, predictor), "canary": None}})
            done = lambda o: observed(o) and not (o.get("status") or {}).get("canaryStatuses")  # noqa: E731
        else:
            self._patch(name, {"spec": {"predictor": {"canaryTrafficPercent": None}}})
            done = lambda o: observed(o) and canary_percent(o) in (None, 100)  # noqa: E731
        log.info("InferenceService %s/%s: promoting the candidate", self.namespace, name)
        return self.wait(name, done, "the candidate promoted (100%, no canary)")

    def rollback(self, name: str) -> dict:
        """The candidate's share goes to 0%; the previous revision serves everything and both stay
        deployed. Waits for the controller to observe it and for the candidate to hold no traffic,
        not for Ready: a broken candidate may be why it rolls back."""
        isvc = self._require(name)
        if deployment_mode(isvc) == RAW:
            variants = copy.deepcopy(isvc["spec"].get("canary") or [])
            for variant in variants:
                variant["trafficPercent"] = 0
            if variants:
                self._patch(name, {"spec": {"canary": variants}})
        else:
            self._patch(name, {"spec": {"predictor": {"canaryTrafficPercent": 0}}})
        log.info("InferenceService %s/%s: rolled back, candidate at 0%%", self.namespace, name)

        def done(o):
            status = o.get("status") or {}
            current = status.get("observedGeneration", -1) >= o.get("metadata", {}).get("generation", 0)
            return current and canary_percent(o) in (0, None)

        return self.wait(name, done, "the candidate at 0% (previous revision serving)")

    def wait(self, name: str, done: Callable[[dict], bool], what: str, timeout_s: float | None = None) -> dict:
        """Read the object until done(obj) or the timeout; raises ClusterTimeout with the last conditions."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            last = self.get(name)
            if last is not None and done(last):
                return last
            if time.monotonic() >= deadline:
                raise ClusterTimeout(f"InferenceService {self.namespace}/{name}: expected {what} within {timeout_s:g} s; "
                                     f"last status: {_describe(last)}")
            time.sleep(min(self.poll_s, max(deadline - time.monotonic(), 0.0)))


def _asked_percent(isvc: dict) -> int | None:
    spec = isvc.get("spec", {})
    if deployment_mode(isvc) == RAW:
        variants = spec.get("canary") or []
        return sum(int(v.get("trafficPercent", 0)) for v in variants) if variants else None
    value = (spec.get("predictor") or {}).get("canaryTrafficPercent")
    return None if value is None else int(value)


def _without_canary(isvc: dict) -> dict:
    body = copy.deepcopy(isvc)
    body.pop("status", None)
    body["spec"].get("predictor", {}).pop("canaryTrafficPercent", None)
    body["spec"].pop("canary", None)
    return body


def _describe(isvc: dict | None) -> str:
    if isvc is None:
        return "not found"
    status = isvc.get("status") or {}
    conditions = ", ".join(f"{c.get('type')}={c.get('status')}" + (f" ({c.get('reason')}: {c.get('message', '')})" if c.get("reason") else "")
                           for c in status.get("conditions") or []) or "no conditions"
    return (f"{conditions}; observedGeneration {status.get('observedGeneration')} of generation "
            f"{isvc.get('metadata', {}).get('generation')}; canary at {canary_percent(isvc)}%")


def _cluster_error(what: str, exc: Exception) -> ClusterError:
    status, reason = getattr(exc, "status", None), getattr(exc, "reason", None)
    body = getattr(exc, "body", None)
    detail = f"HTTP {status} {reason}: {body}" if status else f"{type(exc).__name__}: {exc}"
    return ClusterError(f"could not {what}: {detail}")


def _default_api_client():
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()
