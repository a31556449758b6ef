"""`shoprank schedule` against a stub of the Kubeflow Pipelines REST API (v2beta1) served on 127.0.0.1.

kfp.Client talks to the stub over HTTP as it would to a cluster; the stub records every request
and answers what the API server answers, so the test checks what the command sends.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from shoprank.pipelines.cli import app
from shoprank.pipelines.schedule_command import kfp_cron


class _KfpApiStub(BaseHTTPRequestHandler):
    requests: list = []

    def _reply(self, body: dict, status: int = 200):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        url = urlparse(self.path)
        self.requests.append({"method": self.command, "path": url.path, "query": parse_qs(url.query), "body": body})
        return url.path, body

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path, _ = self._record()
        if path == "/apis/v2beta1/healthz":
            return self._reply({"multi_user": False})
        if path == "/apis/v2beta1/experiments":
            return self._reply({"experiments": [], "total_size": 0})
        return self._reply({"error": f"no route {path}"}, 404)

    def do_POST(self):  # noqa: N802
        path, body = self._record()
        if path == "/apis/v2beta1/experiments":
            return self._reply({**body, "experiment_id": "exp-7"})
        if path == "/apis/v2beta1/recurringruns":
            return self._reply({**body, "recurring_run_id": "rr-42", "status": "ENABLED"})
        return self._reply({"error": f"no route {path}"}, 404)

    def log_message(self, *args):
        pass


@pytest.fixture()
def kfp_api():
    _KfpApiStub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KfpApiStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _KfpApiStub.requests
    server.shutdown()
    server.server_close()


def test_schedule_creates_a_daily_recurring_run_of_monitor_and_retrain(kfp_api):
    host, requests = kfp_api
    result = CliRunner().invoke(app, [
        "schedule", "--cron", "0 6 * * *", "--host", host, "--reference-uri", "s3://shop/windows/reference/",
        "--current-uri", "s3://shop/windows/latest/", "--param", "min_ndcg=0.6", "--param", "embeddings=false",
        "--service-account", "shoprank-pipeline"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "recurring run rr-42 of monitor_and_retrain at cron '0 0 6 * * *' in experiment exp-7" in " ".join(
        result.output.split())
    created = [r for r in requests if r["method"] == "POST"]
    assert [r["path"] for r in created] == ["/apis/v2beta1/experiments", "/apis/v2beta1/recurringruns"]
    assert created[0]["body"]["display_name"] == "shoprank"
    run = created[1]["body"]
    assert run["experiment_id"] == "exp-7" and run["display_name"] == "shoprank-monitor-and-retrain"
    assert run["trigger"] == {"cron_schedule": {"cron": "0 0 6 * * *"}}  # seconds first, as the scheduler reads it
    assert run["mode"] == "ENABLE" and run["no_catchup"] is True and int(run["max_concurrency"]) == 1
    assert run["service_account"] == "shoprank-pipeline"
    assert run["pipeline_spec"]["pipelineInfo"]["name"] == "shoprank-monitor-and-retrain"  # compiled and sent inline
    assert "detect-drift" in run["pipeline_spec"]["root"]["dag"]["tasks"]
    assert run["runtime_config"]["parameters"] == {
        "reference_uri": "s3://shop/windows/reference/", "current_uri": "s3://shop/windows/latest/",
        "data_uri": "s3://shop/windows/latest/", "min_ndcg": 0.6, "embeddings": False}


def test_a_bad_cron_is_refused_before_anything_is_sent(kfp_api):
    host, requests = kfp_api
    result = CliRunner().invoke(app, ["schedule", "--cron", "every day", "--host", host, "--reference-uri", "a",
                                      "--current-uri", "b"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "expected 5 cron fields (minute hour day month weekday)" in " ".join(result.output.split())
    assert requests == []


def test_cron_expressions_as_the_kfp_scheduler_reads_them():
    assert kfp_cron("*/15 * * * *") == "0 */15 * * * *"
    assert kfp_cron("30 0 6 * * 1-5") == "30 0 6 * * 1-5"
    assert kfp_cron("@daily") == "@daily" and kfp_cron("@every 6h") == "@every 6h"
