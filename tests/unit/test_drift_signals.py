"""Drift building blocks: searches and units, signals, the statistical tests' levels, the config."""

import numpy as np
import pandas as pd
import pytest

from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.drift.config import DriftConfig, SignalSpec
from shoprank.core.drift.embeddings import classifier_threshold, embedding_drift
from shoprank.core.drift.signals import reference_vocabulary, unseen_token_share
from shoprank.core.drift.stattests import chisquare_2sample
from shoprank.core.drift.windows import Window, paired_units, searches


def _interactions(rows):
    frame = pd.DataFrame(rows, columns=["session_id", "query", "product_id", "position", "clicked", "purchased"])
    frame["ts"] = pd.Timestamp("2026-10-01", tz="UTC")
    frame["model_version"] = "v1"
    return frame


def test_a_search_is_a_sessions_query_with_its_first_click_and_purchase():
    frame = _interactions([
        ("s1", "red mug", "P1", 1, False, False), ("s1", "red mug", "P2", 2, True, False),
        ("s1", "red mug", "P3", 3, True, True), ("s2", "red mug", "P1", 1, False, False),
        ("s1", "blue mug", "P4", 1, False, False),
    ])
    table, row_search = searches(frame, seed=0)
    assert len(table) == 3 and row_search.tolist() == [0, 0, 0, 1, 2]
    first = table.set_index("search_id")
    assert first.loc[0, "first_click"] == 2 and bool(first.loc[0, "purchased"])
    assert first.loc[0, "clicked_product"] in ("P2", "P3") and first.loc[0, "clicked_rank"] in (2, 3)
    assert np.isnan(first.loc[1, "first_click"]) and first.loc[1, "clicked_product"] is None
    assert first.loc[0, "shown_product"] in ("P1", "P2", "P3")


def test_units_are_one_search_per_distinct_query_from_equally_many_searches():
    ref = pd.DataFrame({"search_id": range(100), "query": [f"q{i % 10}" for i in range(100)]})
    cur = pd.DataFrame({"search_id": range(30), "query": [f"Q{i}  " for i in range(30)]})  # 30 distinct, messy spaces
    ref_units, cur_units = paired_units(ref, cur, max_units=1000, seed=1)
    assert len(ref_units) == ref_units["query_norm"].nunique() >= 8  # 30 of the 100 searches; at most 10 queries
    assert len(cur_units) == 30 and set(cur_units["query_norm"]) == {f"q{i}" for i in range(30)}
    again, _ = paired_units(ref, cur, max_units=1000, seed=1)
    assert again["search_id"].tolist() == ref_units["search_id"].tolist()  # seeded
    assert len(paired_units(ref, cur, max_units=12, seed=1)[1]) == 12


def test_unseen_words_leave_the_query_itself_out_so_both_windows_score_alike():
    frequency, distinct = reference_vocabulary(pd.DataFrame({"query": ["red mug", "Blue  mug"]}))
    assert unseen_token_share("red mug", frequency, distinct) == 0.5  # "red" only in itself
    assert unseen_token_share("green mug", frequency, distinct) == 0.5  # a current query: "green" never seen
    assert unseen_token_share("blue mug", frequency, distinct) == 0.5
    assert unseen_token_share("red blue", frequency, distinct) == 0.0  # a new query of seen words
    assert np.isnan(unseen_token_share("", frequency, distinct))


def test_two_sample_chi_square_holds_its_level_where_evidentlys_goodness_of_fit_does_not():
    from evidently.legacy.calculations.stattests import get_stattest
    from evidently.legacy.core import ColumnType

    rng = np.random.default_rng(0)
    shares = [0.4, 0.25, 0.15, 0.12, 0.08]
    ours = evidently = 0
    for _ in range(300):
        a = pd.Series(rng.choice(list("abcde"), size=300, p=shares))
        b = pd.Series(rng.choice(list("abcde"), size=300, p=shares))
        ours += chisquare_2sample(a, b) < 0.05
        evidently += get_stattest(a, b, ColumnType.Categorical, "chisquare")(a, b, ColumnType.Categorical, 0.05).drifted
    assert 0.02 <= ours / 300 <= 0.09  # about 5% false alarms at a 5% level
    assert evidently / 300 >= 0.15  # the goodness-of-fit test ignores the reference's noise
    shifted = pd.Series(rng.choice(list("abcde"), size=300, p=[0.25, 0.25, 0.2, 0.15, 0.15]))
    assert chisquare_2sample(a, shifted) < 0.01
    assert chisquare_2sample(pd.Series(["x"] * 5), pd.Series(["x"] * 7)) == 1.0


def test_the_embedding_classifier_threshold_gives_the_asked_false_alarm_rate():
    rng = np.random.default_rng(0)
    false_alarms = detected = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        ref, cur = rng.normal(size=(150, 16)), rng.normal(size=(150, 16))
        false_alarms += embedding_drift(ref, cur, "classifier", alpha=0.05)["drifted"]
        detected += embedding_drift(ref, cur + 0.4, "classifier", alpha=0.05)["drifted"]
    assert false_alarms <= 4  # expected 1.5 of 30 at a 5% level
    assert detected >= 27
    assert classifier_threshold(1000, 1000, 0.01) < classifier_threshold(100, 100, 0.01) < 1


def test_config_names_what_it_expected():
    config = DriftConfig.from_json('{"family_alpha": 0.05, "signals": {"shown.price": {"method": "wasserstein"}}}')
    assert config.spec("shown.price") == SignalSpec("wasserstein", None, True)
    assert config.spec("queries.chars").method == "ks"
    with pytest.raises(ConfigError, match="unknown \\['shown.colour'\\]"):
        DriftConfig(signals={"shown.colour": SignalSpec()})
    with pytest.raises(ConfigError, match="signal 'shown.price': expected a method from"):
        DriftConfig(signals={"shown.price": SignalSpec("chisquare_2sample")})  # a categorical test on prices
    with pytest.raises(ConfigError, match="expected keys from"):
        DriftConfig.from_json('{"alpha": 0.05}')
    with pytest.raises(ConfigError, match="0 < family_alpha < 1"):
        DriftConfig(family_alpha=1.5)
    with pytest.raises(ConfigError, match="invalid JSON"):
        DriftConfig.from_json("{family_alpha: 1")


def test_a_window_names_the_column_it_lacks():
    frame = _interactions([("s1", "mug", "P1", 1, True, False)]).drop(columns=["position"])
    with pytest.raises(SchemaError, match="current window: interactions: expected columns .* missing \\['position'\\]"):
        Window("current", interactions=frame)
    with pytest.raises(SchemaError, match="expected interactions or request-log rows, got 0 interactions rows"):
        Window("current", interactions=frame.iloc[:0].assign(position=1))
