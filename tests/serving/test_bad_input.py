"""Caller mistakes over all three request shapes: 4xx (never 5xx) with a message naming the field,
and the connection stays usable; a tampered model folder never serves."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import httpx
import pytest

from support.server_process import candidates, server_env

V1 = "/v1/models/shoprank:predict"
V2 = "/v2/models/shoprank/infer"
RR = "/v1/rerank"
JSON = {"content-type": "application/json"}


def v1(**instance):
    return {"instances": [{"query": "red shoe", "candidates": candidates(2), **instance}]}


def v2(*inputs, **extra):
    base = {"query": {"name": "query", "shape": [1], "datatype": "BYTES", "data": ["red shoe"]},
            "candidates": {"name": "candidates", "shape": [2], "datatype": "BYTES", "data": ["red shoe", "blue hat"]}}
    for tensor in inputs:
        base[tensor["name"]] = tensor
    return {"inputs": [t for t in base.values() if t.get("datatype") != "DROP"], **extra}


def cand(**fields):
    return [{"product_id": "p1", "title": "red shoe", **fields}]


# (id, path, body (dict -> JSON, bytes -> raw), expected status, text the message must contain)
CASES = [
    ("v1-malformed-json", V1, b'{"instances": [', 400, "Unrecognized request format"),
    ("v1-not-object", V1, [1, 2], 400, "body: expected a JSON object"),
    ("v1-no-instances", V1, {"inputs": []}, 400, "instances"),
    ("v1-instances-not-list", V1, {"instances": {"query": "x"}}, 400, "instances"),
    ("v1-missing-query", V1, {"instances": [{"candidates": candidates(1)}]}, 400, "instances[0].query"),
    ("v1-query-not-string", V1, v1(query=42), 400, "instances[0].query: expected a non-empty string, got integer 42"),
    ("v1-empty-query", V1, v1(query="   "), 400, "instances[0].query"),
    ("v1-query-too-long", V1, v1(query="x" * 300), 413, "at most 256 characters, got 300"),
    ("v1-no-candidates", V1, v1(candidates=[]), 400, "expected at least one candidate"),
    ("v1-candidates-not-list", V1, v1(candidates="red shoe"), 400, "instances[0].candidates"),
    ("v1-too-many-candidates", V1, v1(candidates=cand() * 1001), 413, "at most 1000 candidates, got 1001"),
    ("v1-candidate-not-object", V1, v1(candidates=["red shoe"]), 400, "instances[0].candidates[0]"),
    ("v1-missing-title", V1, v1(candidates=[{"product_id": "p1"}]), 400, "candidates[0].title"),
    ("v1-missing-product-id", V1, v1(candidates=[{"title": "x"}]), 400, "candidates[0].product_id"),
    ("v1-duplicate-product-id", V1, v1(candidates=cand() + cand(title="blue hat")), 400,
     "instances[0].candidates[1].product_id: expected unique product ids, got 'p1' twice"),
    ("v1-negative-price", V1, v1(candidates=cand(price=-5)), 400, "price: expected a finite number >= 0"),
    ("v1-price-string", V1, v1(candidates=cand(price="12")), 400, "price: expected a finite number >= 0"),
    ("v1-price-infinite", V1, b'{"instances":[{"query":"x","candidates":[{"product_id":"a","title":"t","price":1e999}]}]}',
     400, "infinity"),
    ("v1-price-nan", V1, b'{"instances":[{"query":"x","candidates":[{"product_id":"a","title":"t","price":NaN}]}]}',
     400, "Unrecognized request format"),
    ("v1-brand-not-string", V1, v1(candidates=cand(brand=["acme"])), 400, "candidates[0].brand"),
    ("v1-attributes-not-object", V1, v1(candidates=cand(attributes=[1, 2])), 400, "candidates[0].attributes"),
    ("v1-title-too-long", V1, v1(candidates=cand(title="t" * 5000)), 413, "at most 4096 characters"),
    ("v1-top-n-zero", V1, v1(top_n=0), 400, "top_n: expected an integer >= 1"),
    ("v1-unknown-model", "/v1/models/nope:predict", v1(), 404, "nope"),
    ("v2-malformed-json", V2, b'{"inputs": [{"na', 422, "JSON"),
    ("v2-inputs-not-list", V2, {"inputs": 5}, 422, "inputs"),
    ("v2-missing-query", V2, v2({"name": "query", "datatype": "DROP"}), 400, "inputs.query"),
    ("v2-query-wrong-datatype", V2, v2({"name": "query", "shape": [1], "datatype": "FP32", "data": [1.0]}), 400,
     "inputs.query: expected datatype BYTES, got FP32"),
    ("v2-query-two-elements", V2, v2({"name": "query", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}), 400,
     "inputs.query: expected exactly one element"),
    ("v2-shape-data-mismatch", V2, v2({"name": "candidates", "shape": [3], "datatype": "BYTES", "data": ["a"]}),
     400, "shape [3] holds 3 elements, data has 1"),
    ("v2-candidate-bad-json", V2, v2({"name": "candidates", "shape": [1], "datatype": "BYTES", "data": ["{oops"]}),
     400, "inputs.candidates[0]"),
    ("v2-duplicate-product-ids", V2, v2({"name": "product_ids", "shape": [2], "datatype": "BYTES", "data": ["a", "a"]}),
     400, "inputs.product_ids[1]: expected unique product ids, got 'a' twice"),
    ("v2-ids-count", V2, v2({"name": "product_ids", "shape": [1], "datatype": "BYTES", "data": ["a"]}), 400,
     "one id per candidate (2), got 1"),
    ("v2-unknown-tensor", V2, v2({"name": "image", "shape": [1], "datatype": "BYTES", "data": ["a"]}), 400,
     "unknown ['image']"),
    ("v2-top-n-datatype", V2, v2({"name": "top_n", "shape": [1], "datatype": "FP32", "data": [2.0]}), 400,
     "inputs.top_n"),
    ("v2-unknown-model", "/v2/models/nope/infer", v2(), 404, "nope"),
    ("v2-binary-no-inputs", V2, b'{"id": "x"}', 400, "could not decode it (KeyError: 'inputs')"),
    ("v2-binary-short-data", V2, b'{"id": "y", "inputs": [{"name": "query", "shape": [1], "datatype": "BYTES", '
                                 b'"parameters": {"binary_data_size": 40}}]}', 400, "could not decode"),
    ("rerank-malformed-json", RR, b"{query", 400, "body: expected a JSON object"),
    ("rerank-missing-documents", RR, {"query": "red shoe"}, 422, "documents"),
    ("rerank-documents-not-list", RR, {"query": "x", "documents": "red shoe"}, 422, "documents"),
    ("rerank-empty-documents", RR, {"query": "x", "documents": []}, 422, "at least one candidate"),
    ("rerank-empty-query", RR, {"query": "", "documents": ["a"]}, 422, "query"),
    ("rerank-doc-number", RR, {"query": "x", "documents": [3]}, 422, "documents[0]"),
    ("rerank-top-n-string", RR, {"query": "x", "documents": ["a"], "top_n": "2"}, 422, "top_n"),
    ("rerank-return-documents-string", RR, {"query": "x", "documents": ["a"], "return_documents": "yes"}, 422,
     "return_documents"),
    ("rerank-unknown-model", RR, {"query": "x", "documents": ["a"], "model": "nope"}, 404, "nope"),
    ("rerank-too-many", RR, {"query": "x", "documents": ["a"] * 1001}, 413, "at most 1000"),
]


@pytest.fixture(scope="module")
def client(int8_server):
    with httpx.Client(base_url=int8_server.url, timeout=60) as c:
        yield c


def _post(client, path, body, headers=None):
    if isinstance(body, bytes):
        if body.startswith(b'{"id"'):  # the v2 binary encoding: a JSON header, then raw tensor bytes
            binary = {"content-type": "application/octet-stream", "inference-header-content-length": str(len(body))}
            return client.post(path, content=body, headers=binary)
        return client.post(path, content=body, headers={**JSON, **(headers or {})})
    return client.post(path, content=json.dumps(body), headers={**JSON, **(headers or {})})


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_request_gets_4xx_naming_the_field(client, case):
    _, path, body, status, text = case
    r = _post(client, path, body)
    assert r.status_code == status, r.text
    assert text in r.text, r.text
    assert r.headers.get("connection") != "close"
    # the same connection still serves a good request
    ok = _post(client, V1, v1())
    assert ok.status_code == 200, ok.text


def test_table_covers_three_shapes():
    assert len(CASES) >= 25
    assert {c[1] for c in CASES} >= {V1, V2, RR}


def test_body_over_limit_is_413_and_connection_stays_usable(client):
    big = {"query": "x", "documents": ["word " * 800] * 60}  # about 240 kB > the 200 kB limit
    r = _post(client, RR, big)
    assert r.status_code == 413 and "at most 200000 bytes" in r.text
    chunked = client.post(RR, content=iter([json.dumps(big).encode()]), headers=JSON)  # no Content-Length
    assert chunked.status_code == 413
    assert _post(client, V1, v1()).status_code == 200


def test_no_5xx_was_counted(client, int8_server):
    text = httpx.get(f"{int8_server.url}/metrics").text
    errors = [l for l in text.splitlines() if l.startswith("shoprank_errors_total")]
    assert errors and not any('kind="internal"' in l for l in errors)


@pytest.mark.parametrize("damage", ["changed", "missing", "no-manifest"])
def test_tampered_model_folder_is_refused(served_model_dir, tmp_path, damage):
    folder = tmp_path / "model"
    shutil.copytree(served_model_dir, folder)
    if damage == "changed":
        with open(folder / "model.int8.onnx", "ab") as fh:
            fh.write(b"\0")
        expected = "model.int8.onnx: sha256 expected"
    elif damage == "missing":
        (folder / "hf" / "tokenizer.json").unlink()
        expected = "missing file hf/tokenizer.json"
    else:
        (folder / "manifest.json").unlink()
        expected = "expected manifest.json"
    # `shoprank serve` (the CLI execs the server module) for one case, the module itself for the others
    entry = ["-m", "shoprank.pipelines.cli", "serve"] if damage == "changed" else ["-m", "shoprank.serving.server"]
    result = subprocess.run([sys.executable, *entry, str(folder), "--port", "1", "--runtime", "onnx-int8"],
                            capture_output=True, text=True, env=server_env(), timeout=300)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
