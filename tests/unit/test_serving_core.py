"""The core pieces serving stands on: length buckets, score_queries (= score_candidates), the
score cache, the request log, the pruned student."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.data.request_log import (REQUEST_LOG_COLUMNS, RequestLogWriter, hash_user_id, read_request_log,
                                            request_record)
from shoprank.core.ranking.buckets import length_buckets, pad_batch, padding_share
from shoprank.core.ranking.score_cache import ScoreCache
from support.tiny_model import tiny_model_dir


def test_length_buckets_cover_once_and_cut_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(8, 64, size=500).tolist()
    batches = length_buckets(lengths, batch_size=32, max_tokens=1024)
    assert sorted(np.concatenate(batches).tolist()) == list(range(500))
    assert all(len(b) <= 32 and len(b) * max(lengths[i] for i in b) <= 1024 for b in batches)
    one_batch_per_request = [np.arange(s, s + 50) for s in range(0, 500, 50)]  # what a plain server pads
    assert padding_share(lengths, batches) < 0.1 < padding_share(lengths, one_batch_per_request)
    assert length_buckets([300, 5], batch_size=8, max_tokens=100)[-1].tolist() == [0]  # too long: alone
    ids, mask, types = pad_batch([([1, 2, 3], [0, 0, 1]), ([4], [0])], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and mask.sum() == 4 and types.tolist() == [[0, 0, 1], [0, 0, 0]]


@pytest.fixture(scope="module")
def ranker(tmp_path_factory):
    from shoprank.core.ranking.reranker import Reranker

    return Reranker.load(tiny_model_dir(tmp_path_factory.mktemp("tiny")), device="cpu", precision="fp32",
                         max_length=32)


CANDS = [{"title": "red shoe", "price": 20}, {"title": "blue hat", "brand": "acme"},
         {"title": "green lamp with a very long name " * 3}, {"title": "black mug", "price": 4.5}]


def test_score_queries_equals_score_candidates_and_cache_returns_same(ranker):
    from shoprank.core.ranking.reranker import score_candidates, score_queries

    requests = [("red shoe under $30", CANDS), ("cheap mug", CANDS[1:]), ("lamp", CANDS[:1])]
    together = score_queries(ranker, requests, batch_size=3, max_tokens=64)
    for (query, cands), scores in zip(requests, together):
        np.testing.assert_allclose(scores, score_candidates(ranker, query, cands), atol=1e-5)
    cache = ScoreCache("sha-a", max_entries=100)
    first = score_queries(ranker, requests, cache=cache)
    assert cache.misses == 8 and cache.hits == 0
    again = score_queries(ranker, requests, cache=cache)
    assert cache.hits == 8 and cache.hit_rate == 0.5
    for a, b, c in zip(first, again, together):
        np.testing.assert_allclose(a, b, atol=0)
        np.testing.assert_allclose(a, c, atol=1e-5)


def test_score_cache_is_bounded_lru_keyed_by_model():
    cache = ScoreCache("sha-a", max_entries=2)
    cache.store(["q", "q"], ["a", "b"], [1.0, 2.0])
    cache.lookup(["q"], ["a"])  # a is now the most recent
    cache.store(["q"], ["c"], [3.0])
    scores, missing = cache.lookup(["q", "q", "q"], ["a", "b", "c"])
    assert missing.tolist() == [1] and scores[0] == 1.0 and scores[2] == 3.0 and len(cache) == 2
    other = ScoreCache("sha-b", max_entries=2)
    assert other._key("q", "a") != cache._key("q", "a")
    assert len(ScoreCache("x", max_entries=0).lookup(["q"], ["a"])[1]) == 1


def test_request_log_roundtrip_without_raw_query_or_user(tmp_path):
    ts = dt.datetime(2026, 5, 1, 23, 59, 59, tzinfo=dt.timezone.utc)
    record = request_record(ts=ts, model_name="m", model_sha256="ab" * 32, request_id="r1",
                            query="running shoes under $80", query_tokens=5, locale="en_US",
                            scores=[0.1, 0.9, 0.5] + [0.0] * 9, product_ids=[f"p{i}" for i in range(12)],
                            latency_ms=12.3456, user_id="user-7")
    assert list(record) == list(REQUEST_LOG_COLUMNS)
    assert record["top_product_ids"][:3] == ["p1", "p2", "p0"] and len(record["top_product_ids"]) == 10
    assert record["has_price_limit"] and record["query_chars"] == 23 and record["user_hash"] == hash_user_id("user-7")
    RequestLogWriter(tmp_path).write([record, {**record, "request_id": "r2", "user_hash": None}])
    text = (tmp_path / "requests-20260501.jsonl").read_text()
    assert "running" not in text and "user-7" not in text
    frame = read_request_log(tmp_path)
    assert list(frame.columns) == list(REQUEST_LOG_COLUMNS) and len(frame) == 2
    assert str(frame["ts"].dt.tz) == "UTC" and frame["scores"].iloc[0][1] == 0.9
    assert read_request_log(tmp_path / "none").empty
    (tmp_path / "requests-20260502.jsonl").write_text(json.dumps({"ts": "x"}) + "\n")
    with pytest.raises(SchemaError, match=r"requests-20260502.jsonl line 1: expected columns .* missing"):
        read_request_log(tmp_path)


def test_pruned_student_keeps_lower_layers(tmp_path):
    from shoprank.core.ranking.reranker import Reranker
    from shoprank.core.training.student import make_student, prune_upper_layers

    teacher = tiny_model_dir(tmp_path / "teacher", layers=3)
    with pytest.raises(ConfigError, match="keep_layers must be from 1 to 2"):
        prune_upper_layers(teacher, tmp_path / "bad", 3)
    manifest = make_student(teacher, tmp_path / "student", keep_layers=1)
    assert manifest["training_config"]["student"]["keep_layers"] == 1
    student = Reranker.load(tmp_path / "student", device="cpu", precision="fp32")
    assert student.model.config.num_hidden_layers == 1 and len(student.model.base_model.encoder.layer) == 1
    full = Reranker.load(teacher, device="cpu", precision="fp32")
    assert np.allclose(student.model.base_model.embeddings.word_embeddings.weight.detach(),
                       full.model.base_model.embeddings.word_embeddings.weight.detach())
