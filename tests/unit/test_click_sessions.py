"""Session pairs and the held-out session metrics (bought / clicked NDCG@10, with and without history)."""

import numpy as np
import pandas as pd
import pytest

from shoprank.core.clicks.history import session_histories
from shoprank.core.clicks.propensity import fit_pbm
from shoprank.core.clicks.sessions import session_metrics, session_pairs
from shoprank.core.data.pairs import build_pairs, read_pairs
from shoprank.core.data.sample.generator import SampleConfig, generate_sample


@pytest.fixture(scope="module")
def sessions():
    sample = generate_sample(SampleConfig(seed=7, n_products=300, n_queries=80, taste_strength=1.0, n_shoppers=60))
    tables = sample.tables
    pairs = build_pairs(tables, clicks_policy="human")
    splits = dict(zip(pairs["query_id"], pairs["split"]))
    fit = fit_pbm(tables["interactions"])
    return session_pairs(tables, session_histories(tables["interactions"], tables["products"]), splits, fit), \
        tables, splits, fit


def test_session_pairs_follow_the_log_and_the_query_split(sessions):
    frame, tables, splits, fit = sessions
    read_pairs(frame)  # the pairs contract holds
    assert len(frame) == len(tables["interactions"])
    assert (frame["split"] == frame["base_query_id"].map(splits)).all()
    pages = frame.groupby("query_id")
    assert (pages["session_id"].nunique() == 1).all() and (pages.size() == 10).all()
    bought, clicked = frame["purchased"].astype(bool), frame["clicked"].astype(bool)
    assert (frame.loc[bought, "label"] == 3).all() and (frame.loc[clicked & ~bought, "label"] == 2).all()
    assert (frame.loc[~clicked, "label"] == 0).all()
    assert (frame.loc[clicked, "weight"] == 1.0).all()
    skipped = frame[~clicked]
    assert np.allclose(skipped["weight"], fit.propensity(skipped["position"].to_numpy()))
    assert frame["has_history"].equals(frame["history"] != "")


def test_session_metrics_count_each_group_and_reward_the_right_order(sessions):
    frame = sessions[0]
    perfect = session_metrics(frame.assign(score=frame["purchased"].astype(float) * 2 + frame["clicked"]))
    assert perfect["bought_all"]["ndcg@10"] == pytest.approx(1.0) and perfect["bought_all"]["mrr"] == pytest.approx(1.0)
    assert perfect["clicked_all"]["ndcg@10"] == pytest.approx(1.0)
    worst = session_metrics(frame.assign(score=-frame["clicked"].astype(float)))
    assert worst["clicked_all"]["ndcg@10"] < 0.6
    with_bought = frame.groupby("query_id").filter(lambda p: 0 < p["purchased"].sum() < len(p))
    counts = with_bought.drop_duplicates("query_id")["has_history"].value_counts()
    assert perfect["bought_history"]["sessions"] == counts.get(True, 0)
    assert perfect["bought_nohistory"]["sessions"] == counts.get(False, 0)
    assert perfect["bought_all"]["sessions"] == len(with_bought["query_id"].unique())
