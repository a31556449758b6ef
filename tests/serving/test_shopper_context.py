"""A personalised model served over HTTP: `user.recent_items` in v1 and the rerank shape changes
the scores; a request without it scores exactly as the same model on the plain query text.

The model: a tiny BERT trained through the train stage on toy pairs whose labels follow the
shopper's brand (support/taste_pairs.py), so a shopper's taste must move their brand up."""

from __future__ import annotations

import dataclasses

import httpx
import numpy as np
import pytest

from support.server_process import TOKEN, ServerProcess, candidates
from support.taste_pairs import BRANDS, recent_item, taste_pairs
from support.tiny_model import tiny_model_dir

AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECENT = [{"title": "red shoe", "brand": "acme", "category": "Shoes > Red Shoes", "attributes": {"color": "red"}},
          "blue hat"]


@pytest.fixture(scope="module")
def personal_model(tmp_path_factory):
    """A tiny model trained (550 steps, about 10 s) on pairs whose labels follow the shopper's brand."""
    from shoprank.core.stages.train import run_train_stage
    from shoprank.core.training.config import TrainConfig

    root = tmp_path_factory.mktemp("personal-model")
    taste_pairs(n_queries=120).to_parquet(root / "pairs.parquet", index=False)
    config = TrainConfig(init_model_dir=str(tiny_model_dir(root / "tiny")), epochs=10, batch_size=16, max_length=48,
                         lr=2e-3, num_threads=1, shopper_history=True, patience=0, ema_decay=0.0, distill_weight=0.0,
                         checkpoint_every=0, seed=0)
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


def test_a_shopper_with_a_taste_sees_their_brand_first_and_one_without_sees_the_plain_order(client, personal_model):
    from shoprank.core.ranking.reranker import Reranker, score_candidates

    cands = [{"product_id": f"c{i}", "title": f"{color} mug", "brand": BRANDS[i % 2]}
             for i, color in enumerate(("red", "red", "blue", "blue", "green", "green"))]

    def ranked(user=None):
        instance = {"query": "red mug", "candidates": cands, **({"user": user} if user is not None else {})}
        r = client.post("/v1/models/shoprank:predict", json={"instances": [instance]})
        assert r.status_code == 200, r.text
        scores = np.asarray(r.json()["predictions"][0]["scores"])
        return [cands[i]["product_id"] for i in np.argsort(-scores, kind="stable")], scores

    plain_order, plain_scores = ranked()
    brand_of = {c["product_id"]: c["brand"] for c in cands}
    orders = {}
    for brand in BRANDS:
        orders[brand], _ = ranked({"recent_items": [recent_item(brand, "blue", "mug"), recent_item(brand, "red", "bag")]})
        assert [brand_of[p] for p in orders[brand][:3]] == [brand] * 3, (brand, orders[brand])
    # Whichever brand the plain order puts first, the other brand's shopper sees a different order.
    assert orders["acme"] != orders["zenith"] and sum(order != plain_order for order in orders.values()) >= 1
    for without in ({"recent_items": []}, None):
        order, scores = ranked(without)
        assert order == plain_order and np.array_equal(scores, plain_scores)
    # The plain order is the model's order on the query text alone.
    reference = Reranker.load(personal_model, precision="fp32")
    expected = score_candidates(reference, "red mug", cands)
    np.testing.assert_allclose(plain_scores, expected, rtol=0, atol=1e-5)


def test_bad_shopper_context_is_a_4xx(client):
    """400 on v1; 422 on the rerank route, as FastAPI-based rerank servers answer (serving/errors.py)."""
    r = client.post("/v1/rerank", json={"query": "red shoe", "documents": ["red shoe"],
                                        "user": {"user_id": "shopper-42"}})
    assert r.status_code == 422 and "unknown keys ['user_id']" in r.text
    r = client.post("/v1/models/shoprank:predict", json={"instances": [
        {"query": "red shoe", "candidates": candidates(2), "user": {"recent_items": [7]}}]})
    assert r.status_code == 400 and "instances[0].user.recent_items[0]" in r.text
