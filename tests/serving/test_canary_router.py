"""The canary router and controller over real HTTP, with in-process rankers standing in for the
model servers (tests/serving/test_local_canary.py runs the same against `shoprank serve` processes)."""

import httpx
import pytest

from shoprank.core.canary.decision import CanaryPolicy
from shoprank.core.canary.shoppers import SimulatedShoppers
from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.serving.canary_router import CanaryRouter, RouterServer, Upstream
from shoprank.serving.local_canary import LocalCanaryConfig, run_canary
from support.faulty_upstream import FaultyUpstream

POLICY = CanaryPolicy(min_requests=20, min_sessions=20, max_p99_ms=300.0)


@pytest.fixture(scope="module")
def tables():
    return generate_sample(SampleConfig(seed=3, n_products=300, n_queries=40)).tables


@pytest.fixture(scope="module")
def oracle(tables):
    """rank(best=True) ranks by judged label (the best ranker); best=False ranks worst first."""
    qid = dict(zip(tables["queries"]["query"], tables["queries"]["query_id"]))
    judged = tables["judgments"]
    labels = {(q, p): int(g) for q, p, g in zip(judged["query_id"], judged["product_id"], judged["label"])}

    def make(best: bool):
        def rank(query, candidates):
            ids = [c["product_id"] for c in candidates]
            key = lambda p: labels.get((qid[query], p), 0)  # noqa: E731
            return sorted(ids, key=key, reverse=best)
        return rank
    return make


def _run(tables, stable_rank, candidate_rank, error_rate=0.0, delay_ms=0.0, mode="interleave", max_sessions=1500):
    with FaultyUpstream(rank=stable_rank) as stable, \
            FaultyUpstream(rank=candidate_rank, error_rate=error_rate, delay_ms=delay_ms, seed=1) as candidate:
        config = LocalCanaryConfig(mode=mode, policy=POLICY, check_every=20, max_sessions=max_sessions, settle_sessions=30)
        return run_canary(Upstream("v1", stable.url, "m"), Upstream("v2", candidate.url, "m"),
                          SimulatedShoppers(tables, seed=5), config)


def test_better_candidate_steps_through_and_is_promoted_without_a_failed_search(tables, oracle):
    result = _run(tables, oracle(False), oracle(True))
    assert result.final.verdict == "promote", result.final.reason
    assert [t[2] for t in result.transitions] == [10.0, 25.0, 50.0, 100.0]
    assert result.shopper_failures == {} and result.arms.get("candidate", 0) > 0  # served alone after promotion
    assert result.final.ranking["wins"] > 3 * result.final.ranking["losses"]


def test_worse_candidate_is_rolled_back_on_the_sign_test(tables, oracle):
    result = _run(tables, oracle(True), oracle(False))
    assert result.final.verdict == "rollback" and "significant ranking loss" in result.final.reason
    assert result.transitions[-1][2] == 0.0 and result.shopper_failures == {}


def test_erroring_candidate_is_rolled_back_and_shoppers_get_the_stable_page(tables, oracle):
    result = _run(tables, oracle(False), oracle(True), error_rate=0.2)
    assert result.final.verdict == "rollback" and "success rate" in result.final.reason
    assert result.shopper_failures == {}
    assert result.steps[-1].candidate.errors > 0


def test_slow_candidate_is_rolled_back_on_p99(tables, oracle):
    result = _run(tables, oracle(False), oracle(True), delay_ms=400.0)
    assert result.final.verdict == "rollback" and "p99 latency" in result.final.reason
    assert result.steps[-1].candidate.p99_ms > 300 and result.shopper_failures == {}


def test_split_mode_attributes_sessions_and_a_dead_candidate_falls_back(tables, oracle):
    with FaultyUpstream(rank=oracle(True)) as good, FaultyUpstream(rank=oracle(True), error_rate=1.0) as dead:
        router = CanaryRouter(Upstream("v1", good.url, "m"), Upstream("v2", dead.url, "m"), mode="split", candidate_percent=50)
        shoppers = SimulatedShoppers(tables, seed=1)
        with RouterServer(router) as server, httpx.Client(base_url=server.url) as client:
            arms = []
            for session in shoppers.sessions(40):
                body = {"session_id": session.session_id, "query": session.query, "user_hash": session.user_hash,
                        "candidates": shoppers.candidates(session)}
                page = client.post("/search", json=body).json()
                arms.append(page["arm"])
                assert client.post("/feedback", json={"session_id": session.session_id, "clicked": page["product_ids"][:1],
                                                      "purchased": []}).json()["attributed"] == "stable"
            stats = client.get("/stats").json()["versions"]
            assert set(arms) == {"stable"}  # every candidate failure fell back to the stable page
            assert stats["candidate"]["errors"] == stats["candidate"]["requests"] > 5
            assert stats["stable"]["sessions"] == stats["stable"]["click_sessions"] == 40
            assert client.post("/feedback", json={"session_id": "unknown"}).status_code == 404
            assert client.post("/search", json={"query": "x"}).status_code == 400
            assert client.post("/traffic", json={"candidate_percent": 0}).json()["candidate_percent"] == 0.0
