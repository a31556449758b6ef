"""Personalised training from the click log: when it is on, which sessions join the training pairs,
and that data without an interactions table trains exactly as before."""

import dataclasses

import pandas as pd
import pytest

from shoprank.core.clicks.personalise import (HISTORY_TOKENS, PersonaliseConfig, history_session_count, personalise_decision,
                                              sessions_table, training_session_rows, with_session_rows)
from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.data.pairs import build_pairs
from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.core.stages.sessions import personalised_training_from_file, read_sessions, write_sessions
from shoprank.core.training.config import TrainConfig


@pytest.fixture(scope="module")
def shop():
    tables = generate_sample(SampleConfig(seed=3, n_products=300, n_queries=80, taste_strength=1.0,
                                          n_shoppers=40)).tables
    pairs = build_pairs(tables, clicks_policy="human")
    return tables, pairs, sessions_table(tables, dict(zip(pairs["query_id"], pairs["split"])))


def test_no_interactions_table_means_no_sessions_and_no_change(shop, tmp_path):
    tables, pairs, _ = shop
    without_log = {name: table for name, table in tables.items() if name != "interactions"}
    assert sessions_table(without_log, dict(zip(pairs["query_id"], pairs["split"]))) is None
    counts = write_sessions(without_log, pairs, tmp_path / "sessions.parquet")
    assert counts == {"sessions": 0, "session_rows": 0, "sessions_with_history_train": 0}
    assert read_sessions(tmp_path / "sessions.parquet") is None
    config = TrainConfig(seed=3)
    same_pairs, same_config, metrics = personalised_training_from_file(pairs, config, tmp_path / "sessions.parquet")
    assert same_pairs is pairs and same_config == config  # the plain run, untouched
    assert metrics == {"personalised": 0.0, "session_rows_trained": 0.0}
    with pytest.raises(SchemaError, match="expected a Parquet file"):
        read_sessions(tmp_path / "missing.parquet")


def test_the_decision_names_its_reason(shop):
    sessions = shop[2]
    with_history = history_session_count(sessions)
    assert with_history >= 50  # the default threshold
    assert personalise_decision(sessions, True)[0]
    on, reason = personalise_decision(sessions, True, PersonaliseConfig(min_history_sessions=with_history))
    assert on and f"{with_history} training sessions" in reason
    on, reason = personalise_decision(sessions, True, PersonaliseConfig(min_history_sessions=with_history + 1))
    assert not on and f"fewer than the {with_history + 1} needed" in reason
    assert personalise_decision(sessions, False) == (False, "off (--no-personalise)")
    assert not personalise_decision(None, True)[0]
    with pytest.raises(ConfigError, match="max_session_rows >= 1"):
        PersonaliseConfig(max_session_rows=0)


def test_training_sessions_are_whole_capped_train_sessions_with_history_first(shop):
    sessions = shop[2]
    train = sessions[sessions["split"] == "train"]
    history_rows = int(train["has_history"].sum())
    cap = history_rows + 25
    rows = training_session_rows(sessions, PersonaliseConfig(max_session_rows=cap, seed=1))
    assert (rows["split"] == "train").all() and 0 < len(rows) <= cap
    assert int(rows["has_history"].sum()) == history_rows  # every session with a history is in
    sizes = train.groupby("query_id").size()
    assert (rows.groupby("query_id").size() == sizes.reindex(rows["query_id"].unique())).all()  # whole sessions
    again = training_session_rows(sessions, PersonaliseConfig(max_session_rows=cap, seed=1))
    assert rows.equals(again)  # same seed, same draw
    everything = training_session_rows(sessions, PersonaliseConfig(max_session_rows=10**6))
    assert len(everything) == len(train)


def test_joined_pairs_keep_the_judged_rows_and_add_histories(shop, tmp_path):
    tables, pairs, sessions = shop
    weighted = pairs.assign(weight=2.0)
    joined = with_session_rows(weighted, sessions, PersonaliseConfig(max_session_rows=400))
    head = joined.iloc[: len(weighted)]
    pd.testing.assert_frame_equal(head.drop(columns="history"), weighted, check_dtype=False)
    assert (head["history"] == "").all()
    added = joined.iloc[len(weighted):]
    assert 0 < len(added) <= 400 and (added["split"] == "train").all()
    assert added["weight"].between(0, 1).all() and (added["history"] != "").any()
    assert list(joined.columns) == list(weighted.columns) + ["history"]

    write_sessions(tables, pairs, tmp_path / "sessions.parquet")
    config = TrainConfig(seed=3)
    trained_on, personal_config, metrics = personalised_training_from_file(
        weighted, config, tmp_path / "sessions.parquet", True)
    assert history_session_count(sessions) >= PersonaliseConfig().min_history_sessions
    assert personal_config == dataclasses.replace(config, shopper_history=True, distill_weight=0.0,
                                                  max_length=config.max_length + HISTORY_TOKENS)
    assert metrics["personalised"] == 1.0 and metrics["session_rows_trained"] == len(trained_on) - len(weighted) > 0
    assert personalised_training_from_file(weighted, config, tmp_path / "sessions.parquet", False)[1] == config
