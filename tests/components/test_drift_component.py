"""The drift component through python_func: its page, verdict, metrics and the returned `drifted` flag."""

import json

from kfp.dsl import HTML, Artifact, Dataset, Metrics

from shoprank.components.drift.component import detect_drift
from shoprank.core.data.sample.generator import SampleConfig, generate_sample


def test_the_component_returns_drifted_and_writes_page_verdict_and_metrics(tmp_path):
    size = dict(seed=4, n_queries=150, n_products=400)
    reference = generate_sample(SampleConfig(**size)).write(tmp_path / "reference")
    current = generate_sample(SampleConfig(**size, drift=1.0)).write(tmp_path / "current")
    outputs = {"report": HTML(uri=str(tmp_path / "report.html")), "metrics": Metrics(uri=str(tmp_path / "metrics.json")),
               "verdict": Artifact(uri=str(tmp_path / "verdict.json"))}
    drifted = detect_drift.python_func(reference=Dataset(uri=str(reference)), current=Dataset(uri=str(current)),
                                       embeddings=False, **outputs)
    assert drifted is True
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert verdict["verdict"] == "drift" and outputs["verdict"].metadata["severity"] == verdict["severity"]
    assert verdict["rerun_command"].startswith(f"shoprank drift --reference {reference} --current {current}")
    metrics = outputs["metrics"].metadata
    assert metrics["drifted"] == 1 and metrics["signals_drifted"] == verdict["signals_drifted"] >= 1
    assert metrics["queries.category.score"] < verdict["per_signal_alpha"]
    assert 3 < metrics["html_mb"] < 10 and "shoprank drift check" in (tmp_path / "report.html").read_text()[:400]
