"""kfp component `detect_drift`: a thin body around shoprank.core.stages.drift."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def detect_drift(
    reference: Input[Dataset],
    current: Input[Dataset],
    report: Output[HTML],
    metrics: Output[Metrics],
    verdict: Output[Artifact],
    config_json: str = "",
    seed: int = 0,
    family_alpha: float = 0.01,
    max_units: int = 5000,
    embeddings: bool = True,
    embedding_cache_dir: str = "",
    pushgateway_url: str = "",
    model_name: str = "shoprank",
) -> bool:
    """Compare the current window of traffic with the reference window; returns `drifted`.

    reference / current: folders with the interactions table (and products, queries, the
    request log's requests-*.jsonl) or an interactions file. config_json: a DriftConfig as JSON
    ("" = defaults; core/drift/config.py); seed, family_alpha, max_units and embeddings override it.
    embedding_cache_dir: a persistent folder for query embeddings ("" = none).
    pushgateway_url: a Prometheus Pushgateway to publish the verdict to as shoprank_drift_detected
    (grouped by model_name), which the cluster's ShoprankDriftDetected alert reads ("" = none).
    Writes the on-call page (report), the JSON verdict (verdict; metadata drifted, verdict,
    severity) and metrics (drifted 1/0, signals tested and drifted, each tested signal's score).
    Returns True when the verdict is "drift" (kfp names this output `Output`; dsl.If branches
    on it; kfp.local 2.17 cannot branch on a named output).
    """
    import dataclasses

    from shoprank.core.drift.config import DriftConfig, SignalSpec
    from shoprank.core.stages.drift import rerun_command, run_drift_stage

    config = DriftConfig.from_json(config_json)
    signals = dict(config.signals)
    if not embeddings:
        signals["queries.embedding"] = SignalSpec(enabled=False)
    config = dataclasses.replace(config, seed=seed, family_alpha=family_alpha, max_units=max_units, signals=signals,
                                 embedding_cache_dir=embedding_cache_dir or None)
    rerun = rerun_command(reference.uri, current.uri, "drift-out", dataclasses.replace(config, embedding_cache_dir=None))
    result = run_drift_stage(reference.path, current.path, report.path, verdict.path, config, rerun=rerun,
                             pushgateway=pushgateway_url, model_name=model_name)
    metrics.log_metric("drifted", int(result["drifted"]))
    metrics.log_metric("severity", ["none", "low", "medium", "high"].index(result["severity"]))
    metrics.log_metric("signals_tested", result["signals_tested"])
    metrics.log_metric("signals_drifted", result["signals_drifted"])
    metrics.log_metric("html_mb", round(result["html_bytes"] / 2**20, 3))
    if pushgateway_url:
        metrics.log_metric("pushed", int(result["pushed"]))
    for signal in result["signals"]:
        if signal["score"] is not None:
            metrics.log_metric(f"{signal['name']}.score", float(signal["score"]))
    verdict.metadata.update({"drifted": result["drifted"], "verdict": result["verdict"], "severity": result["severity"]})
    return bool(result["drifted"])
