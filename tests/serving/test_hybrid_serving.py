"""A model folder whose hybrid blend ships, served by a real server process: the scores it returns
are the evaluation path's hybrid scores; a tampered hybrid.json stops start-up."""

from __future__ import annotations

import json
import shutil

import httpx
import numpy as np
import pytest

from support.server_process import ServerProcess
from support.tiny_model import toy_pairs
from shoprank.core.data.pairs import PRODUCT_FIELDS
from shoprank.core.ranking.hybrid import HYBRID_FILE, Blend, BM25Stats
from shoprank.core.training.export import write_manifest


@pytest.fixture(scope="module")
def blended(served_model_dir, tmp_path_factory):
    """The session's served model folder with a shipped blend of all three components."""
    root = tmp_path_factory.mktemp("blended")
    model_dir = root / "model"
    shutil.copytree(served_model_dir, model_dir)
    pairs = toy_pairs(n_queries=10)
    blend = Blend(weights={"model": 0.4, "bm25": 0.4, "zeroshot": 0.2}, ships=True, reason="test",
                  bm25=BM25Stats.from_texts(pairs["product_text"].tolist()))
    blend.save(model_dir)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    write_manifest(model_dir, manifest["training_config"], manifest["data_fingerprint"], manifest["metrics"])
    server = ServerProcess(model_dir, "--runtime", "torch", "--precision", "fp32", log_path=root / "server.log")
    try:
        yield model_dir, blend, pairs, server.wait_ready()
    finally:
        server.stop()


def test_served_hybrid_scores_equal_the_evaluation_path(blended):
    from shoprank.core.ranking.reranker import Reranker

    model_dir, blend, pairs, server = blended
    reference = Reranker.load(model_dir, precision="fp32")
    groups = list(pairs.groupby("query_id", sort=True))[:2]
    instances = [{"query": g["query"].iloc[0], "candidates": g[["product_id", *PRODUCT_FIELDS]]
                  .astype(object).where(g[["product_id", *PRODUCT_FIELDS]].notna(), None).to_dict("records")}
                 for _, g in groups]
    with httpx.Client(base_url=server.url, timeout=120) as client:
        first = client.post("/v1/models/shoprank:predict", json={"instances": instances})
        again = client.post("/v1/models/shoprank:predict", json={"instances": instances})  # from the score cache
    assert first.status_code == 200, first.text
    for (_, group), served, cached in zip(groups, first.json()["predictions"], again.json()["predictions"]):
        group = group.reset_index(drop=True)
        model = reference.score(group)  # the evaluate stage's model scores of the query's pairs
        expected = blend.score_frame(group, model)  # and its hybrid scorer
        np.testing.assert_allclose(served["scores"], expected, atol=1e-4)
        np.testing.assert_allclose(cached["scores"], expected, atol=1e-4)
        assert not np.allclose(served["scores"], model, atol=1e-3)  # the blend, not the model alone
    assert "the hybrid ships" in server.output()


def test_a_tampered_blend_stops_start_up(blended, tmp_path):
    model_dir, *_ = blended
    tampered = tmp_path / "model"
    shutil.copytree(model_dir, tampered)
    data = json.loads((tampered / HYBRID_FILE).read_text())
    data["weights"] = {"model": 1.0, "bm25": 0.0, "zeroshot": 0.0}
    (tampered / HYBRID_FILE).write_text(json.dumps(data))
    server = ServerProcess(tampered, "--runtime", "torch", log_path=tmp_path / "server.log")
    try:
        with pytest.raises(RuntimeError, match="server exited"):
            server.wait_ready(timeout=90)
        assert HYBRID_FILE in server.output() and "manifest" in server.output()
    finally:
        server.stop()


def test_the_engine_blends_cached_scores_as_score_candidates_does(served_model_dir):
    """In process: a BM25-only blend answers a repeated request from the score cache (on the event
    loop) with the same blended scores the first pass and score_candidates give."""
    import asyncio

    from shoprank.core.ranking.reranker import Reranker, score_candidates
    from shoprank.core.ranking.score_cache import ScoreCache
    from shoprank.serving.config import ServingConfig
    from shoprank.serving.engine import ScoringEngine
    from shoprank.serving.requests import RankRequest
    from support.server_process import candidates

    ranker = Reranker.load(served_model_dir, precision="fp32")
    cands = candidates(5)
    blend = Blend(weights={"model": 0.5, "bm25": 0.5}, ships=True,
                  bm25=BM25Stats.from_texts(["red shoe", "blue hat", "green lamp", "black mug", "red hat"]))
    cache = ScoreCache("sha", 100)
    engine = ScoringEngine(ranker, ServingConfig(), {"model_name": "m", "model_sha256": "sha"}, cache, blend=blend)

    async def twice():
        first = await engine.score([RankRequest(query="red shoe", candidates=cands, product_ids=[])])
        second = await engine.score([RankRequest(query="red shoe", candidates=cands, product_ids=[])])
        return first[0].scores, second[0].scores

    try:
        first, second = asyncio.run(twice())
    finally:
        engine.close()
    expected = score_candidates(ranker, "red shoe", cands, blend=blend)
    np.testing.assert_allclose(first, expected, atol=1e-5)
    np.testing.assert_allclose(second, expected, atol=1e-5)
    assert cache.hits == len(cands)
    assert not np.allclose(expected, score_candidates(ranker, "red shoe", cands), atol=1e-3)
