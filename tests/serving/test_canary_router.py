"""The canary router over real HTTP, with in-process rankers standing in for the model servers:
split-mode attribution, fallback to the stable page when the candidate fails, and the admin and
error routes (tests/serving/test_local_canary.py runs whole canaries against `shoprank serve`)."""

import httpx
import pytest

from shoprank.core.canary.shoppers import SimulatedShoppers
from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.serving.canary_router import CanaryRouter, Upstream
from shoprank.serving.router_server import RouterServer
from support.faulty_upstream import FaultyUpstream

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
