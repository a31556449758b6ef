"""Simulated shoppers and the click model they share with the sample."""

import numpy as np
import pytest

from shoprank.core.canary.shoppers import SimulatedShoppers
from shoprank.core.common.errors import ConfigError
from shoprank.core.data.sample.click_model import ClickModel
from shoprank.core.data.sample.generator import SampleConfig, generate_sample


@pytest.fixture(scope="module")
def tables():
    return generate_sample(SampleConfig(seed=2, n_products=300, n_queries=40)).tables


def test_same_seed_same_sessions_other_seed_other_sessions(tables):
    one, two, other = SimulatedShoppers(tables, seed=1), SimulatedShoppers(tables, seed=1), SimulatedShoppers(tables, seed=2)
    assert list(one.sessions(50)) == list(two.sessions(50))
    assert [s.query_id for s in one.sessions(50)] != [s.query_id for s in other.sessions(50)]
    session = one.session(7)
    shown = list(session.product_ids[:10])
    assert np.array_equal(one.react(session, shown).clicked, two.react(session, shown).clicked)
    assert len({s.query_id for s in one.sessions(200)}) > 30  # queries drawn from the whole set


def test_sessions_carry_judged_candidates_and_hashed_users(tables):
    shoppers = SimulatedShoppers(tables, seed=0)
    session = shoppers.session(3)
    judged = tables["judgments"][tables["judgments"]["query_id"] == session.query_id]
    assert sorted(session.product_ids) == sorted(judged["product_id"])
    assert len(session.user_hash) == 64 and int(session.user_hash, 16) >= 0
    records = shoppers.candidates(session)
    assert [r["product_id"] for r in records] == list(session.product_ids) and records[0]["title"]
    assert shoppers.labels(session, ["not-judged"]).tolist() == [0]


def test_better_rankings_get_more_clicks_and_purchases_and_clicks_are_position_biased(tables):
    shoppers = SimulatedShoppers(tables, seed=4)
    good = {"click": 0, "buy": 0}
    bad = {"click": 0, "buy": 0}
    by_rank = np.zeros(10)
    for session in shoppers.sessions(3000):
        labels = shoppers.labels(session, session.product_ids)
        best = [session.product_ids[i] for i in np.argsort(-labels, kind="stable")][:10]
        worst = [session.product_ids[i] for i in np.argsort(labels, kind="stable")][:10]
        for page, counts in ((best, good), (worst, bad)):
            reaction = shoppers.react(session, page)
            counts["click"] += reaction.any_click
            counts["buy"] += reaction.any_purchase
        by_rank += shoppers.react(session, list(session.product_ids[:10])).clicked  # an unsorted page
    assert good["click"] > 1.5 * bad["click"] and good["buy"] > 3 * bad["buy"]
    assert by_rank[0] > 2 * by_rank[7]


def test_query_ids_restrict_the_stream_and_empty_selection_is_refused(tables):
    chosen = sorted(tables["queries"]["query_id"])[:3]
    shoppers = SimulatedShoppers(tables, query_ids=chosen)
    assert {s.query_id for s in shoppers.sessions(100)} == set(chosen)
    with pytest.raises(ConfigError, match="expected queries with judged candidates, got none"):
        SimulatedShoppers(tables, query_ids=["nope"])


def test_click_model_checks_its_probabilities_and_examines_only_its_depth():
    with pytest.raises(ConfigError, match="attractiveness as probabilities"):
        ClickModel(attractiveness=(0.1, 1.2, 0.3, 0.4))
    model = ClickModel(examination=(1.0, 1.0), attractiveness=(0.0, 1.0), purchase=(0.0, 1.0))
    clicked, purchased = model.session([1, 0, 1, 1], np.random.default_rng(0))
    assert clicked.tolist() == [True, False, False, False] and purchased.tolist() == [True, False, False, False]
