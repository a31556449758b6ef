"""The local canary with real `shoprank serve` processes: a tiny model trained on the toy shop
(tests/support/toy_shop.py, NDCG@10 1.0 there) and its score-negated twin (the ranking reversed).

Shown here: a better candidate is promoted through 10 -> 25 -> 50 -> 100% (the `shoprank canary`
command, which starts both servers itself); a worse-ranking candidate is rolled back on the sign
test; a candidate answering 20% of requests with 5xx, or slowly, is rolled back on the SLOs
(a fault-injecting proxy in front of the real server); no shopper search fails in any of them.
"""

import json
import subprocess
import sys

import pytest

from shoprank.core.canary.decision import CanaryPolicy
from shoprank.core.canary.shoppers import SimulatedShoppers
from shoprank.core.data.schema import write_tables
from shoprank.serving.canary_router import Upstream
from shoprank.serving.local_canary import LocalCanaryConfig, run_canary
from shoprank.serving.serve_process import ServeProcess
from support.faulty_upstream import FaultyUpstream
from support.tiny_model import tiny_model_dir
from support.toy_shop import toy_shop_tables, train_toy_models

SERVE_ARGS = ("--runtime", "onnx")
POLICY = CanaryPolicy(min_requests=20, min_sessions=20, max_p99_ms=400.0, shared_host_p99_ratio=1.5)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy-canary")
    tables = toy_shop_tables()
    data = write_tables(tables, root / "data")
    return {"tables": tables, "data": data, **train_toy_models(root, tiny_model_dir(root / "tiny"))}


@pytest.fixture(scope="module")
def servers(toy, tmp_path_factory):
    logs = tmp_path_factory.mktemp("serve-logs")
    good = ServeProcess(toy["good"], "good", logs / "good.log", extra_args=SERVE_ARGS)
    bad = ServeProcess(toy["bad"], "bad", logs / "bad.log", extra_args=SERVE_ARGS)
    try:
        for server in (good, bad):
            server.launch()
        for server in (good, bad):
            server.wait_ready()
        yield {"good": Upstream("good", good.url, "good"), "bad": Upstream("bad", bad.url, "bad")}
    finally:
        for server in (good, bad):
            server.stop()


def _canary(toy, stable, candidate, **policy):
    config = LocalCanaryConfig(policy=CanaryPolicy(**{**POLICY.__dict__, **policy}), check_every=20, max_sessions=1500,
                               settle_sessions=30, seed=3)
    return run_canary(stable, candidate, SimulatedShoppers(toy["tables"], seed=3), config)


def test_shoprank_canary_promotes_a_better_model(toy, tmp_path):
    out = tmp_path / "canary"
    command = [sys.executable, "-m", "shoprank.pipelines.cli", "canary", "--stable", str(toy["bad"]), "--candidate",
               str(toy["good"]), "--data", str(toy["data"]), "--out", str(out), "--runtime", "onnx", "--seed", "3",
               "--min-requests", "20", "--min-sessions", "20", "--check-every", "20", "--max-sessions", "1500"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PROMOTE: SLOs met and significant ranking win" in result.stdout
    summary = json.loads((out / "canary.json").read_text())
    assert summary["promoted"] and summary["shopper_failures"] == {}
    assert [t[2] for t in summary["transitions"]] == [10.0, 25.0, 50.0, 100.0]
    assert summary["arms"]["candidate"] > 0  # served alone after the promotion, with no failed search
    assert "| 50% |" in (out / "decision.md").read_text() and (out / "decision.html").exists()


def test_worse_ranking_candidate_is_rolled_back(toy, servers):
    result = _canary(toy, servers["good"], servers["bad"])
    assert result.final.verdict == "rollback" and "significant ranking loss" in result.final.reason
    assert result.final.ranking["losses"] > 3 * result.final.ranking["wins"]
    assert result.shopper_failures == {} and result.transitions[-1][2] == 0.0


def test_candidate_with_20_percent_5xx_is_rolled_back_without_failing_a_shopper(toy, servers):
    with FaultyUpstream(target_url=servers["good"].url, error_rate=0.2, seed=1) as flaky:
        result = _canary(toy, servers["bad"], Upstream("flaky", flaky.url, "good"))
    assert result.final.verdict == "rollback" and "success rate" in result.final.reason
    assert 0.6 < result.steps[-1].candidate.success_rate < 0.99
    assert result.shopper_failures == {}


def test_slow_candidate_is_rolled_back_on_p99(toy, servers):
    with FaultyUpstream(target_url=servers["good"].url, delay_ms=1000.0) as slow:
        result = _canary(toy, servers["bad"], Upstream("slow", slow.url, "good"))
    assert result.final.verdict == "rollback" and "p99 latency" in result.final.reason
    assert result.steps[-1].candidate.p99_ms > 400 and result.shopper_failures == {}
