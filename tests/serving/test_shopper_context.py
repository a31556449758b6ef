"""A personalised model served over HTTP: `user.recent_items` in v1 and the rerank shape changes
the scores; a request without it scores exactly as the same model on the plain query text."""

from __future__ import annotations

import dataclasses

import httpx
import numpy as np
import pytest

from support.server_process import TOKEN, ServerProcess, candidates
from support.tiny_model import tiny_model_dir, toy_pairs

AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECENT = [{"title": "red shoe", "brand": "acme", "category": "Shoes > Red Shoes", "attributes": {"color": "red"}},
          "blue hat"]


@pytest.fixture(scope="module")
def personal_model(tmp_path_factory):
    """A tiny model trained a few steps on pairs whose queries carry shopper history."""
    from shoprank.core.stages.train import run_train_stage
    from shoprank.core.training.config import TrainConfig

    root = tmp_path_factory.mktemp("personal-model")
    pairs = toy_pairs(n_queries=10)
    pairs = pairs.assign(weight=1.0, history=np.where(np.arange(len(pairs)) % 2 == 0, "acme red shoes", ""))
    pairs.to_parquet(root / "pairs.parquet", index=False)
    config = TrainConfig(init_model_dir=str(tiny_model_dir(root / "tiny")), epochs=1, batch_size=8, max_length=48,
                         lr=1e-3, num_threads=1, max_steps=4, shopper_history=True)
    run_train_stage(root / "pairs.parquet", root / "model", config)
    return root / "model"


@pytest.fixture(scope="module")
def client(personal_model, tmp_path_factory):
    (tmp_path_factory.mktemp("personal-token") / "token").write_text(TOKEN + "\n")
    server = ServerProcess(personal_model, "--runtime", "torch", "--precision", "fp32", "--cache-entries", "0",
                           log_path=tmp_path_factory.mktemp("personal-server") / "server.log").wait_ready()
    try:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
            yield c
    finally:
        server.stop()


def test_recent_items_change_scores_and_their_absence_scores_as_plain(client, personal_model):
    from shoprank.core.ranking.reranker import Reranker, score_candidates

    reference = Reranker.load(personal_model, precision="fp32")
    assert reference.pair_format.shopper_history == 1  # stored with the model
    cands = candidates(5)
    url = "/v1/models/shoprank:predict"
    plain = client.post(url, json={"instances": [{"query": "red shoe", "candidates": cands}]})
    personal = client.post(url, json={"instances": [{"query": "red shoe", "candidates": cands,
                                                     "user": {"recent_items": RECENT}}]})
    assert plain.status_code == personal.status_code == 200, (plain.text, personal.text)
    plain_scores = plain.json()["predictions"][0]["scores"]
    personal_scores = personal.json()["predictions"][0]["scores"]
    # Without shopper context: the same model on the plain query text (its format without the feature).
    as_plain = dataclasses.replace(reference.pair_format, shopper_history=0)
    reference.pair_format = as_plain
    np.testing.assert_allclose(plain_scores, score_candidates(reference, "red shoe", cands), rtol=0, atol=1e-5)
    reference.pair_format = dataclasses.replace(as_plain, shopper_history=1)
    expected = score_candidates(reference, "red shoe", cands, history="acme red red shoes; blue hat")
    np.testing.assert_allclose(personal_scores, expected, rtol=0, atol=1e-5)
    assert not np.allclose(personal_scores, plain_scores)
    empty = client.post(url, json={"instances": [{"query": "red shoe", "candidates": cands,
                                                  "user": {"recent_items": []}}]})
    assert empty.json()["predictions"][0]["scores"] == plain_scores
    rerank = client.post("/v1/rerank", json={"query": "red shoe", "documents": [c["title"] for c in cands],
                                             "user": {"recent_items": RECENT}})
    assert rerank.status_code == 200, rerank.text


def test_bad_shopper_context_is_a_4xx(client):
    """400 on v1; 422 on the rerank route, as FastAPI-based rerank servers answer (serving/errors.py)."""
    r = client.post("/v1/rerank", json={"query": "red shoe", "documents": ["red shoe"],
                                        "user": {"user_id": "shopper-42"}})
    assert r.status_code == 422 and "unknown keys ['user_id']" in r.text
    r = client.post("/v1/models/shoprank:predict", json={"instances": [
        {"query": "red shoe", "candidates": candidates(2), "user": {"recent_items": [7]}}]})
    assert r.status_code == 400 and "instances[0].user.recent_items[0]" in r.text
