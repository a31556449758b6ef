"""`shoprank drift` as an on-call person or a cron job runs it: the summary, the files, the exit code."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.pipelines.cli import app

SIZE = dict(seed=3, n_queries=200, n_products=600)


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    """`shoprank sample` folders: the reference fortnight, the next one (batch 1) and the drift batch."""
    root = tmp_path_factory.mktemp("windows")
    return {name: generate_sample(SampleConfig(**SIZE, **extra)).write(root / name)
            for name, extra in (("reference", {}), ("fresh", {"batch": 1}), ("drifted", {"drift": 1.0}))}


def _drift(*args):
    return CliRunner().invoke(app, ["drift", *map(str, args)], catch_exceptions=False)


def test_the_drift_batch_exits_3_with_the_summary_and_the_page(windows, tmp_path):
    out = tmp_path / "out"
    result = _drift("--reference", windows["reference"], "--current", windows["drifted"], "--out", out)
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert text.startswith("DRIFT (severity") and "queries.category" in text and "next:" in text
    assert f"rerun: shoprank drift --reference {windows['reference']} --current {windows['drifted']}" in text
    verdict = json.loads((out / "drift_verdict.json").read_text())
    assert verdict["drifted"] is True and verdict["html_bytes"] == len((out / "drift_report.html").read_bytes())
    # The query texts themselves, through the pretrained encoder: the drift batch asks for other things.
    embedding = next(s for s in verdict["signals"] if s["name"] == "queries.embedding")
    assert embedding["status"] == "drift" and embedding["n_reference"] == embedding["n_current"] == 200
    assert embedding["score"] > embedding["threshold"] > 0.5  # held-out ROC AUC above what chance reaches
    assert "Query embeddings (PCA projection)" in (out / "drift_report.html").read_text()


def test_a_fresh_fortnight_exits_0(windows, tmp_path):
    result = _drift("--reference", windows["reference"], "--current", windows["fresh"], "--out", tmp_path,
                    "--no-embeddings")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("NO DRIFT: 0 of 16 signals drifted")


def test_a_tiny_window_exits_4_and_says_not_enough_data(windows, tmp_path):
    interactions = pd.read_parquet(windows["fresh"] / "interactions.parquet")
    tiny = interactions[interactions["session_id"].isin(interactions["session_id"].unique()[:10])]
    tiny.to_parquet(tmp_path / "interactions.parquet", index=False)
    result = _drift("--reference", windows["reference"], "--current", tmp_path / "interactions.parquet",
                    "--out", tmp_path / "out", "--no-embeddings")
    assert result.exit_code == 4, result.output
    assert result.output.startswith("NOT ENOUGH DATA")


def test_bad_input_exits_1_with_the_message_not_a_traceback(windows, tmp_path):
    interactions = pd.read_parquet(windows["fresh"] / "interactions.parquet").drop(columns=["clicked"])
    interactions.to_parquet(tmp_path / "interactions.parquet", index=False)
    result = _drift("--reference", windows["reference"], "--current", tmp_path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "drift check stopped: current window: interactions (interactions.parquet): expected columns" in text
    assert "missing ['clicked']" in text and "Traceback" not in result.output
    result = _drift("--reference", windows["reference"], "--current", windows["fresh"], "--config-json",
                    '{"signals": {"shown.price": {"method": "chisquare"}}}')
    assert result.exit_code == 1 and "signal 'shown.price': expected a method from" in " ".join(result.output.split())


def test_the_verdict_is_pushed_where_the_clusters_drift_alert_reads_it(windows, tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pushed = []

    class Pushgateway(BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 (http.server's naming)
            pushed.append((self.path, self.rfile.read(int(self.headers["Content-Length"])).decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pushgateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = _drift("--reference", windows["reference"], "--current", windows["drifted"], "--out", tmp_path,
                        "--no-embeddings", "--pushgateway", url, "--model-name", "shoprank-eu")
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 3, result.output
    (path, body), = pushed
    assert path == "/metrics/job/shoprank-drift/model_name/shoprank-eu"
    assert "shoprank_drift_detected 1.0" in body and "shoprank_drift_severity" in body
    assert json.loads((tmp_path / "drift_verdict.json").read_text())["pushed"] is True
    # A gateway that does not answer is reported, and the verdict (exit 3) still stands.
    result = _drift("--reference", windows["reference"], "--current", windows["drifted"], "--out", tmp_path,
                    "--no-embeddings", "--pushgateway", url)
    assert result.exit_code == 3 and "verdict not published" in result.output
