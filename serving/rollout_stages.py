"""The deploy and canary stages: one function each, reading and writing the stage's files.

deploy (target "local"): records the blessed model as the candidate and the champion (if any)
as the stable version; nothing keeps running after the stage. Target "cluster": renders the
InferenceService (serving/inference_service.py) and applies it through serving/cluster.py, the
candidate as a canary at the first step when a version is live.
canary (target "local"): with a champion, the local canary (serving/local_canary.py) over the
held-out queries' simulated shoppers decides promote or rollback; without one there is nothing
to compare against, so the candidate is promoted as the first model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

from shoprank.core.canary.decision import PROMOTE, CanaryPolicy, Decision
from shoprank.core.common.errors import ConfigError

log = logging.getLogger(__name__)

TARGETS = ("local", "cluster")
MANIFEST = "manifest.json"


def model_revision(model_dir: str | Path) -> str:
    """sha256 of the model folder's manifest (which lists every file's sha256); of the folder's
    file names and sizes when it has none."""
    model_dir = Path(model_dir)
    manifest = model_dir / MANIFEST
    if manifest.exists():
        return hashlib.sha256(manifest.read_bytes()).hexdigest()
    listing = sorted((p.relative_to(model_dir).as_posix(), p.stat().st_size) for p in model_dir.rglob("*") if p.is_file())
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def run_deploy_stage(model_dir: str | Path, out_path: str | Path, target: str = "local", name: str = "shoprank-reranker",
                     champion_dir: str | Path | None = None, first_percent: int = 10, cluster=None) -> dict:
    """Write the deployment record (JSON) to out_path and return it.

    Record: target, name, model_dir, revision (model_revision), stable_model_dir (the champion
    or None), stable_revision, candidate_percent (the first canary step, or 100 with no champion).
    target "cluster" needs `cluster` (a ClusterTarget) and applies the InferenceService instead
    (see `deploy_to_cluster`). Raises ConfigError for an unknown target or a missing model folder.
    """
    if target not in TARGETS:
        raise ConfigError(f"deploy: expected target in {TARGETS}, got {target!r}")
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ConfigError(f"deploy: expected a model folder at {model_dir}, found none")
    if target == "cluster":
        if cluster is None:
            raise ConfigError("deploy: expected cluster settings (namespace, storage URIs, image) for target 'cluster', got none")
        record = deploy_to_cluster(cluster, name, model_revision(model_dir), first_percent)
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_text(json.dumps(record, indent=2))
        return record
    champion = Path(champion_dir) if champion_dir else None
    if champion is not None and not champion.is_dir():
        raise ConfigError(f"deploy: expected the champion's model folder at {champion}, found none")
    record = {"target": target, "name": name, "model_dir": str(model_dir.resolve()), "revision": model_revision(model_dir),
              "stable_model_dir": str(champion.resolve()) if champion else None,
              "stable_revision": model_revision(champion) if champion else None,
              "candidate_percent": first_percent if champion else 100, "url": None}
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(record, indent=2))
    log.info("deploy: %s revision %s (stable: %s)", name, record["revision"][:12], record["stable_revision"] and record["stable_revision"][:12])
    return record


@dataclasses.dataclass(frozen=True)
class ClusterTarget:
    """Where and how the cluster deploy goes.

    namespace: the InferenceService's namespace. storage_uri: the candidate model's URI (s3://,
    gs://, pvc://). stable_storage_uri: the live model's URI (RawDeployment needs it to render the
    stable predictor; "" = none). image: the project image. mode: Serverless (Knative) or
    RawDeployment (Standard). api_client: a kubernetes ApiClient (None: kubeconfig or in-cluster).
    timeout_s: how long to wait for the rollout.
    """

    namespace: str
    storage_uri: str
    image: str
    stable_storage_uri: str = ""
    mode: str = "Serverless"
    api_client: object = None
    timeout_s: float = 600.0


def deploy_to_cluster(target: ClusterTarget, name: str, revision: str, first_percent: int) -> dict:
    """Create the InferenceService, or roll the candidate out as a canary at first_percent next to
    the live version (Serverless: canaryTrafficPercent; RawDeployment: a spec.canary entry named
    after the revision), through serving/cluster.py; returns the deployment record."""
    from shoprank.serving.cluster import KServeCluster, canary_percent
    from shoprank.serving.inference_service import DeploymentMode, PredictorConfig, RawCanary, build_inference_service

    mode = DeploymentMode.parse(target.mode)
    cluster = KServeCluster(target.namespace, api_client=target.api_client, timeout_s=target.timeout_s)
    live = cluster.get(name) is not None
    candidate = PredictorConfig(target.storage_uri, target.image)
    if not live:
        isvc = build_inference_service(name, candidate, mode=mode, namespace=target.namespace)
    elif mode is DeploymentMode.SERVERLESS:
        isvc = build_inference_service(name, candidate, mode=mode, namespace=target.namespace,
                                       canary_traffic_percent=first_percent)
    else:
        if not target.stable_storage_uri:
            raise ConfigError(f"deploy: expected the live model's storage URI to render {name}'s stable predictor "
                              "in RawDeployment mode, got none")
        isvc = build_inference_service(name, PredictorConfig(target.stable_storage_uri, target.image), mode=mode,
                                       namespace=target.namespace,
                                       canaries=[RawCanary(f"r{revision[:8]}", candidate, first_percent)])
    applied = cluster.apply(isvc)
    status = applied.get("status") or {}
    percent = canary_percent(applied)
    return {"target": "cluster", "name": name, "namespace": target.namespace, "mode": mode.value, "revision": revision,
            "storage_uri": target.storage_uri, "stable_storage_uri": target.stable_storage_uri or None,
            "candidate_percent": 100 if percent is None else percent, "url": status.get("url"),
            "predictor_revision": ((status.get("components") or {}).get("predictor") or {}).get("latestReadyRevision")}


def run_canary_stage(deployment: dict, data_dir: str | Path, pairs_path: str | Path | None, out_dir: str | Path,
                     markdown_path: str | Path, html_path: str | Path, config=None) -> dict:
    """Run the canary for a deployment record and write the decision page (Markdown and HTML).

    data_dir: the validated tables (the shoppers' queries, products and judgments). pairs_path:
    the pairs table; when given, shoppers search the 'test' queries only. config: a
    LocalCanaryConfig. Returns {verdict, reason, promoted, live_model_dir, metrics, ...}.
    """
    from shoprank.core.canary.report import decision_html, decision_markdown
    from shoprank.core.canary.shoppers import SimulatedShoppers
    from shoprank.core.data.schema import read_tables
    from shoprank.serving.local_canary import LocalCanaryConfig, local_canary

    config = config or LocalCanaryConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if deployment.get("target") != "local":
        raise ConfigError(f"canary: expected a local deployment record, got target {deployment.get('target')!r}")
    if not deployment.get("stable_model_dir"):
        decision = Decision(PROMOTE, "no champion to compare against: the blessed model is the first one, so it "
                            "takes all traffic without a canary", 100.0)
        summary = {"verdict": decision.verdict, "reason": decision.reason, "promoted": True, "sessions": 0,
                   "shopper_failures": {}, "steps": [], "metrics": {"steps": 0.0, "promoted": 1.0, "rolled_back": 0.0}}
        Path(markdown_path).write_text(f"# shoprank canary\n\n**PROMOTE: {decision.reason}**\n")
        Path(html_path).write_text(_first_model_html(decision))
    else:
        tables = read_tables(data_dir)
        query_ids = _test_queries(pairs_path) if pairs_path else None
        shoppers = SimulatedShoppers(tables, seed=config.seed, query_ids=query_ids)
        result = local_canary(deployment["stable_model_dir"], deployment["model_dir"], shoppers, out_dir, config)
        summary = result.to_dict()
        Path(markdown_path).write_text(decision_markdown(result.steps, config.policy))
        Path(html_path).write_text(decision_html(result.steps, config.policy))
    live = deployment["model_dir"] if summary["promoted"] else deployment["stable_model_dir"]
    summary.update(live_model_dir=live, live_revision=deployment["revision"] if summary["promoted"] else deployment["stable_revision"])
    (out_dir / "canary.json").write_text(json.dumps(summary, indent=2, default=str))
    log.info("canary: %s (%s); live model %s", summary["verdict"], summary["reason"], live)
    return summary


def _test_queries(pairs_path: str | Path) -> list[str] | None:
    import pandas as pd

    pairs = pd.read_parquet(pairs_path, columns=["query_id", "split"])
    test = sorted(pairs.loc[pairs["split"] == "test", "query_id"].astype(str).unique())
    return test or None


def _first_model_html(decision: Decision) -> str:
    from shoprank.core.common.html_page import page, verdict

    return page("shoprank canary", verdict(f"PROMOTE: {decision.reason}", True))


def policy_from_params(min_requests: int, min_sessions: int, min_success_rate: float, max_p99_ms: float,
                       mode: str) -> CanaryPolicy:
    """The canary policy from kfp parameters (mode "interleave" or "split")."""
    from shoprank.serving.local_canary import LOCAL_POLICY

    return CanaryPolicy(min_requests=min_requests, min_sessions=min_sessions, min_success_rate=min_success_rate,
                        max_p99_ms=max_p99_ms, evidence="interleaving" if mode == "interleave" else "ab",
                        shared_host_p99_ratio=LOCAL_POLICY.shared_host_p99_ratio)
