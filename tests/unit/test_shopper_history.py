"""Shopper history: leak-free per session, bounded in the pair text, optional in requests, and a
request without it scored exactly as the plain model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from shoprank.core.clicks.history import HistoryConfig, session_histories
from shoprank.core.common.errors import ConfigError
from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.core.text.pair_format import PairFormat
from shoprank.core.text.query_features import format_pairs
from shoprank.core.text.shopper_history import history_summary, item_summary, with_history
from shoprank.serving.config import ServingConfig
from shoprank.serving.errors import FieldError, TooLarge
from shoprank.serving.requests import parse_rerank, parse_v1
from shoprank.serving.shopper_context import MAX_RECENT_ITEMS
from support.tiny_model import tiny_model_dir


@pytest.fixture(scope="module")
def sample():
    return generate_sample(SampleConfig(seed=7, n_products=300, n_queries=80, taste_strength=1.0, n_shoppers=60))


def test_no_future_event_enters_a_sessions_history(sample):
    events = sample.tables["interactions"]
    histories = session_histories(events, sample.tables["products"])
    assert len(histories) == events["session_id"].nunique() and (histories["history"] != "").mean() > 0.5
    acted = events[events["clicked"] | events["purchased"]]
    for row in histories.sample(60, random_state=0).itertuples():
        earlier = acted[(acted["user_id"] == row.user_id) & (acted["ts"] < row.start)]
        assert row.history_items == len(earlier)
        assert (row.history == "") == earlier.empty
    # Cutting the log at a time changes no history of a session that began before it.
    cut = events["ts"].quantile(0.5)
    early = session_histories(events[events["ts"] < cut], sample.tables["products"]).set_index("session_id")
    full = histories.set_index("session_id")
    began = full[full["start"] < cut].index.intersection(early.index)
    assert len(began) > 20
    assert full.loc[began, "history"].equals(early.loc[began, "history"])
    # Its own session's clicks never count: a shopper's first session has no history.
    first = histories.sort_values("start").drop_duplicates("user_id")
    assert (first["history"] == "").all() and (first["history_items"] == 0).all()


def test_summary_is_short_bounded_and_names_no_id():
    items = [{"product_id": "P1", "title": "Ashby Pro Mug", "brand": "Ashby", "category": "Home > Kitchen > Mugs",
              "attributes": {"color": "Navy"}}, "Voss Classic Cotton Hoodie - Black, M",
             {"title": "Plain thing without fields"}, {"title": "x", "brand": "Ashby", "category": "Home > Kitchen > Mugs",
                                                       "attributes": '{"color": "navy"}'}]
    assert item_summary(items[0]) == "Ashby navy mugs"
    assert history_summary(items) == "Ashby navy mugs; Voss Classic Cotton Hoodie; Plain thing without fields"
    assert history_summary(items, max_items=1) == "Ashby navy mugs"
    assert len(history_summary(items * 10, max_items=50, max_chars=40)) <= 40
    assert "P1" not in history_summary(items)
    assert with_history("mug", "") == with_history("mug", None) == with_history("mug", "Ashby", version=0) == "mug"
    assert with_history("mug", "Ashby navy mugs") == "mug [recent: Ashby navy mugs]"
    with pytest.raises(ConfigError, match="expected max_items >= 1 and max_chars >= 10, got 0 and 100"):
        HistoryConfig(max_items=0)
    with pytest.raises(ConfigError, match="shopper history version from 0 to 1, got 9"):
        with_history("mug", "x", version=9)


def test_pair_format_reads_history_only_when_trained_with_it():
    rows = [{"query": "mug", "title": "Ashby Mug", "brand": "Ashby", "history": "Ashby navy mugs"},
            {"query": "mug", "title": "Voss Mug", "brand": "Voss", "history": ""}]
    plain, personal = PairFormat(), PairFormat(shopper_history=1)
    assert format_pairs(rows, plain)[0] == ["mug", "mug"]
    assert format_pairs(rows, personal)[0] == ["mug [recent: Ashby navy mugs]", "mug"]
    assert format_pairs(rows, personal)[1] == format_pairs(rows, plain)[1]


def test_requests_carry_optional_shopper_context():
    config = ServingConfig()
    candidates = [{"product_id": "a", "title": "Ashby Mug"}, {"product_id": "b", "title": "Voss Mug"}]
    recent = [{"title": "Ashby Pro Mug", "brand": "Ashby", "category": "Home > Kitchen > Mugs",
               "attributes": {"color": "navy"}}, "Voss Hoodie"]
    with_user = parse_v1({"instances": [{"query": "mug", "candidates": candidates,
                                         "user": {"recent_items": recent}}]}, config)[0]
    assert with_user.history == "Ashby navy mugs; Voss Hoodie"
    assert parse_v1({"instances": [{"query": "mug", "candidates": candidates}]}, config)[0].history is None
    request, _, _ = parse_rerank({"query": "mug", "documents": ["Ashby Mug"], "user": {"recent_items": recent}}, config)
    assert request.history == "Ashby navy mugs; Voss Hoodie"
    bad = [({"recent_items": "Ashby"}, FieldError, "recent_items"), ("u123", FieldError, "user"),
           ({"id": "u1"}, FieldError, r"unknown keys \['id'\]"), ({"recent_items": [{"brand": "Ashby"}]}, FieldError,
                                                                   r"recent_items\[0\].title"),
           ({"recent_items": ["x"] * (MAX_RECENT_ITEMS + 1)}, TooLarge, f"at most {MAX_RECENT_ITEMS}")]
    for user, error, message in bad:
        with pytest.raises(error, match=message):
            parse_rerank({"query": "mug", "documents": ["Ashby Mug"], "user": user}, config)


def test_a_request_without_history_scores_as_the_plain_model(tmp_path):
    from shoprank.core.ranking.reranker import Reranker, score_candidates

    ranker = Reranker.load(tiny_model_dir(tmp_path / "tiny"), device="cpu", precision="fp32", max_length=48)
    candidates = [{"title": "Ashby Classic Ceramic Mug - Navy", "brand": "Ashby", "price": 12.0},
                  {"title": "Voss Pro Glass Mug - Black", "brand": "Voss", "price": 30.0}]
    plain = score_candidates(ranker, "mug", candidates)
    ranker.pair_format = dataclasses.replace(ranker.pair_format, shopper_history=1)
    assert np.array_equal(score_candidates(ranker, "mug", candidates), plain)
    assert np.array_equal(score_candidates(ranker, "mug", candidates, history=""), plain)
    assert not np.array_equal(score_candidates(ranker, "mug", candidates, history="Ashby navy mugs"), plain)
