"""v1, v2 and the rerank API against a real server process (httpx), and what they share:
scores equal to Reranker.score, auth, metrics, the request log."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest

from support.server_process import AUTH, candidates
from shoprank.core.data.request_log import REQUEST_LOG_COLUMNS, read_request_log
from shoprank.core.ranking.reranker import Reranker, score_candidates


@pytest.fixture(scope="module")
def client(token_server):
    with httpx.Client(base_url=token_server.url, headers=AUTH, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def reference(served_model_dir):
    return Reranker.load(served_model_dir, precision="fp32")


def test_v1_locale_reaches_scoring(client, reference):
    cands = candidates(6)
    query = "red shoe under $30"
    r = client.post("/v1/models/shoprank:predict", json={"instances": [
        {"query": query, "candidates": cands, "locale": "xx_XX"}, {"query": query, "candidates": cands}]})
    assert r.status_code == 200, r.text
    with_locale, without = (p["scores"] for p in r.json()["predictions"])
    # a locale with no words table reads no price limit, as evaluation scores such a query
    np.testing.assert_allclose(with_locale, score_candidates(reference, query, cands, locale="xx_XX"), atol=1e-5)
    np.testing.assert_allclose(without, score_candidates(reference, query, cands), atol=1e-5)
    assert not np.allclose(with_locale, without, atol=1e-5)


def test_v1_scores_equal_reranker_score(client, reference):
    cands = candidates(6)
    r = client.post("/v1/models/shoprank:predict", json={"instances": [
        {"query": "red shoe under $30", "candidates": cands, "top_n": 3},
        {"query": "blue hat", "candidates": cands[:2]}]})
    assert r.status_code == 200, r.text
    first, second = r.json()["predictions"]
    expected = score_candidates(reference, "red shoe under $30", cands)
    np.testing.assert_allclose(first["scores"], expected, rtol=0, atol=1e-5)
    # the same pairs through Reranker.score directly, as evaluation calls it (structured rows)
    direct = reference.score([{**c, "query": "red shoe under $30"} for c in cands])
    np.testing.assert_allclose(first["scores"], direct, rtol=0, atol=1e-5)
    order = np.argsort(-np.asarray(first["scores"]), kind="stable")[:3]
    assert first["ranked_product_ids"] == [cands[i]["product_id"] for i in order]
    assert len(second["scores"]) == 2 and len(second["ranked_product_ids"]) == 2


def test_v2_infer_and_metadata(client, reference):
    cands = candidates(3)
    body = {"id": "req-7", "inputs": [
        {"name": "query", "shape": [1], "datatype": "BYTES", "data": ["green lamp"]},
        {"name": "candidates", "shape": [3], "datatype": "BYTES", "data": [json.dumps(c) for c in cands]},
        {"name": "product_ids", "shape": [3], "datatype": "BYTES", "data": [c["product_id"] for c in cands]}],
        "parameters": {"top_n": 2}}
    r = client.post("/v2/models/shoprank/infer", json=body)
    assert r.status_code == 200, r.text
    out = {o["name"]: o for o in r.json()["outputs"]}
    assert r.json()["id"] == "req-7" and out["scores"]["datatype"] == "FP32" and out["scores"]["shape"] == [3]
    np.testing.assert_allclose(out["scores"]["data"], score_candidates(reference, "green lamp", cands), atol=1e-5)
    assert out["ranked_product_ids"]["shape"] == [2] and len(out["ranked_indices"]["data"]) == 2
    meta = client.get("/v2/models/shoprank").json()
    assert [i["name"] for i in meta["inputs"]] == ["query", "candidates", "product_ids", "top_n"]
    assert client.get("/v2/models/shoprank/ready").json()["ready"] is True


def test_rerank_shape_at_both_paths(client, reference):
    docs = ["red shoe | brand: acme", {"title": "blue hat", "price": 15}, {"text": "green lamp"}]
    for path in ("/openai/v1/rerank", "/v1/rerank"):
        r = client.post(path, json={"query": "red shoe", "documents": docs, "top_n": 2, "return_documents": True,
                                    "model": "shoprank"})
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert len(results) == 2 and r.json()["model"] == "shoprank"
        logits = score_candidates(reference, "red shoe", [{"title": "red shoe | brand: acme"},
                                                          {"title": "blue hat", "price": 15}, {"title": "green lamp"}])
        best = np.argsort(-logits, kind="stable")[:2]
        assert [x["index"] for x in results] == best.tolist()
        assert results[0]["relevance_score"] == pytest.approx(1 / (1 + np.exp(-logits[best[0]])), abs=1e-5)
        assert results[0]["document"] in ({"text": docs[0]}, docs[1], docs[2])


def test_token_needed_except_on_health(token_server):
    with httpx.Client(base_url=token_server.url, timeout=30) as anon:
        body = {"instances": [{"query": "x", "candidates": candidates(1)}]}
        assert anon.post("/v1/models/shoprank:predict", json=body).status_code == 401
        bad = anon.post("/v1/rerank", json={"query": "x", "documents": ["y"]}, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
        for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/shoprank/ready", "/v1/models/shoprank",
                     "/metrics"):
            assert anon.get(path).status_code == 200, path


def test_metrics_carry_model_name_and_sha(client, token_server):
    client.post("/v1/rerank", json={"query": "red shoe", "documents": ["red shoe", "blue hat"]})
    client.post("/v1/rerank", json={"query": "red shoe", "documents": ["red shoe", "blue hat"]})  # cache hits
    client.post("/v1/rerank", json={"query": ""})
    text = httpx.get(f"{token_server.url}/metrics").text
    for code in ("200", "422"):
        assert any(l.startswith("shoprank_requests_total{") and 'api="rerank"' in l and f'code="{code}"' in l
                   for l in text.splitlines()), code
    for name in ("shoprank_request_duration_seconds_bucket", "shoprank_candidates_per_request_bucket",
                 "shoprank_batch_pairs_bucket", "shoprank_batch_requests_bucket", "shoprank_cache_hit_rate",
                 'shoprank_cache_lookups_total{model_name="shoprank"', "shoprank_errors_total"):
        assert name in text, name
    lines = [l for l in text.splitlines() if l.startswith("shoprank_") and "model_sha256=" in l]
    assert lines and all('model_name="shoprank"' in l for l in lines)
    hit_rate = [float(l.split()[-1]) for l in lines if l.startswith("shoprank_cache_hit_rate")]
    assert hit_rate and hit_rate[0] > 0
    assert any('kind="invalid_field"' in l for l in lines if l.startswith("shoprank_errors_total"))


def test_request_log_records(client, token_server):
    r = client.post("/v1/models/shoprank:predict", headers={"x-user-id": "shopper-42", "x-request-id": "log-1"},
                    json={"instances": [{"query": "mug under $10", "locale": "en_US", "candidates": candidates(4)}]})
    assert r.status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        frame = read_request_log(token_server.request_log_dir)
        rows = frame[frame["request_id"] == "log-1"]
        if len(rows):
            break
        time.sleep(0.1)
    assert list(frame.columns) == list(REQUEST_LOG_COLUMNS)
    row = rows.iloc[0]
    assert row["query_chars"] == len("mug under $10") and row["has_price_limit"] and row["locale"] == "en_US"
    assert row["candidate_count"] == 4 and len(row["scores"]) == 4 and row["query_tokens"] >= 3
    assert row["top_product_ids"][0] == r.json()["predictions"][0]["ranked_product_ids"][0]
    assert len(row["user_hash"]) == 64 and "shopper-42" not in token_server.request_log_dir.joinpath(
        f"requests-{row['ts']:%Y%m%d}.jsonl").read_text()
    assert "mug under" not in token_server.output()  # no query text in the server's log at INFO
