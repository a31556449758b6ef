"""The official clients against a real server (kserve's InferenceRESTClient v1 and v2,
tritonclient[http] v2), 16 concurrent clients with zero errors, and health during long requests."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from shoprank.core.ranking.reranker import OnnxReranker, score_candidates
from support.server_process import AUTH, candidates


@pytest.fixture(scope="module")
def int8_reference(served_model_dir):
    return OnnxReranker.load(served_model_dir, quantized=True, threads=1)


def test_kserve_rest_client_v1_and_v2(token_server):
    from kserve import InferenceRESTClient, RESTConfig
    from kserve.protocol.infer_type import InferInput, InferRequest

    cands = candidates(5)

    async def run():
        v1 = InferenceRESTClient(RESTConfig(protocol="v1", retries=0))
        v2 = InferenceRESTClient(RESTConfig(protocol="v2", retries=0))
        try:
            out1 = await v1.infer(token_server.url, {"instances": [{"query": "red shoe", "candidates": cands}]},
                                  model_name="shoprank", headers=AUTH)
            request = InferRequest(model_name="shoprank", request_id="c-1", infer_inputs=[
                InferInput("query", [1], "BYTES", ["red shoe"]),
                InferInput("candidates", [5], "BYTES", [json.dumps(c) for c in cands]),
                InferInput("product_ids", [5], "BYTES", [c["product_id"] for c in cands])])
            out2 = await v2.infer(token_server.url, request, model_name="shoprank", headers=AUTH)
            ready = await v2.is_model_ready(token_server.url, "shoprank")
            return out1, out2, ready
        finally:
            await v1.close()
            await v2.close()

    out1, out2, ready = asyncio.run(run())
    scores_v1 = out1["predictions"][0]["scores"]
    assert ready and len(scores_v1) == 5
    scores_v2 = out2.get_output_by_name("scores").as_numpy()
    np.testing.assert_allclose(scores_v2, scores_v1, atol=1e-5)
    ranked_ids = [x if isinstance(x, str) else x.decode() for x in out2.get_output_by_name("ranked_product_ids").data]
    assert ranked_ids == out1["predictions"][0]["ranked_product_ids"]


def test_tritonclient_http_v2(int8_server, int8_reference):
    import tritonclient.http as triton

    cands = candidates(6)
    client = triton.InferenceServerClient(url=int8_server.url.removeprefix("http://"))
    try:
        assert client.is_server_live() and client.is_model_ready("shoprank")
        meta = client.get_model_metadata("shoprank")
        assert {o["name"] for o in meta["outputs"]} == {"scores", "ranked_product_ids", "ranked_indices"}
        query = triton.InferInput("query", [1], "BYTES")
        query.set_data_from_numpy(np.array(["black mug"], dtype=np.object_))  # binary tensor data
        items = triton.InferInput("candidates", [6], "BYTES")
        items.set_data_from_numpy(np.array([json.dumps(c) for c in cands], dtype=np.object_), binary_data=False)
        outputs = [triton.InferRequestedOutput("scores", binary_data=True),
                   triton.InferRequestedOutput("ranked_indices", binary_data=False)]
        result = client.infer("shoprank", [query, items], outputs=outputs)
        scores = result.as_numpy("scores")
        assert scores.dtype == np.float32 and scores.shape == (6,)
        np.testing.assert_allclose(scores, score_candidates(int8_reference, "black mug", cands), atol=1e-5)
        assert result.as_numpy("ranked_indices").tolist() == np.argsort(-scores, kind="stable").tolist()
    finally:
        client.close()


def test_sixteen_concurrent_clients_zero_errors(int8_server):
    queries = ["red shoe", "blue hat", "green lamp", "black mug"]

    def client_run(k: int) -> list[int]:
        statuses = []
        with httpx.Client(base_url=int8_server.url, timeout=60) as c:
            for i in range(6):
                body = {"query": queries[(k + i) % 4], "documents": [x["title"] for x in candidates(20, f"c{k} ")]}
                r = c.post("/v1/rerank", json=body)
                statuses.append(r.status_code)
                assert len(r.json()["results"]) == 20
        return statuses

    with ThreadPoolExecutor(16) as pool:
        statuses = [s for run in pool.map(client_run, range(16)) for s in run]
    assert statuses == [200] * 96
    text = httpx.get(f"{int8_server.url}/metrics").text
    batch = {l.split("{")[0]: float(l.split()[-1]) for l in text.splitlines()
             if l.startswith("shoprank_batch_requests_") and ("_count" in l or 'le="1.0"' in l)}
    # some passes of the scorer took more than one request: requests arriving together share a pass
    assert batch["shoprank_batch_requests_bucket"] < batch["shoprank_batch_requests_count"]


def test_health_answers_during_long_requests(int8_server):
    slow_seconds, health = [], []

    def long_request(round_, k):
        # unique texts every round, so the score cache cannot answer them
        docs = [{"title": f"product {round_}-{k}-{i} " + "very long words here " * 6, "price": i} for i in range(1000)]
        start = time.perf_counter()
        r = httpx.post(f"{int8_server.url}/v1/rerank", json={"query": f"query {round_} {k}", "documents": docs},
                       timeout=120)
        slow_seconds.append(time.perf_counter() - start)
        assert r.status_code == 200

    # a fast machine may finish one round before a health check lands, so go on until three land during scoring
    for round_ in range(6):
        threads = [threading.Thread(target=long_request, args=(round_, k)) for k in range(8)]
        for t in threads:
            t.start()
        with httpx.Client(base_url=int8_server.url, timeout=30) as c:
            while any(t.is_alive() for t in threads) and len(health) < 200:
                start = time.perf_counter()
                assert c.get("/v2/health/live").status_code == 200
                health.append((time.perf_counter() - start, any(t.is_alive() for t in threads)))
                time.sleep(0.005)
        for t in threads:
            t.join()
        if sum(busy for _, busy in health) >= 3:
            break
    during = [seconds for seconds, busy in health if busy]
    assert len(during) >= 3, f"only {len(during)} health checks were answered while scoring ran"
    assert max(slow_seconds) > 3 * np.median(during)  # health did not wait for the scoring
    assert np.median(during) < 0.5
