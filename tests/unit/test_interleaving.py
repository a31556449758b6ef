"""Team-draft interleaving, the sign test and the two-proportion test."""

import math

import numpy as np
import pytest
from scipy.stats import binom

from shoprank.core.canary.evidence import interleaving_test, two_proportion_test
from shoprank.core.canary.interleaving import A, B, team_draft
from shoprank.core.common.errors import ConfigError

RANK_A = ["a", "b", "c", "d", "e", "f"]
RANK_B = ["d", "a", "f", "b", "g", "c"]


@pytest.mark.parametrize("seed", range(20))
def test_team_draft_keeps_each_teams_order_and_balance(seed):
    merged = team_draft(RANK_A, RANK_B, np.random.default_rng(seed), length=6)
    assert len(merged.items) == len(set(merged.items)) == 6
    for prefix in range(1, 7):
        teams = merged.teams[:prefix]
        assert abs(teams.count(A) - teams.count(B)) <= 1  # picks alternate in rounds
    # Every pick is that team's best result not yet shown.
    shown = set()
    for item, team in zip(merged.items, merged.teams):
        ranking = RANK_A if team == A else RANK_B
        assert item == next(x for x in ranking if x not in shown)
        shown.add(item)


def test_team_draft_same_seed_same_list_and_default_length_takes_all():
    one = team_draft(RANK_A, RANK_B, np.random.default_rng(3))
    two = team_draft(RANK_A, RANK_B, np.random.default_rng(3))
    assert one == two and set(one.items) == set(RANK_A) | set(RANK_B)
    with pytest.raises(ConfigError, match="non-negative length"):
        team_draft(RANK_A, RANK_B, np.random.default_rng(0), length=-1)


def test_click_attribution():
    merged = team_draft(RANK_A, RANK_B, np.random.default_rng(0), length=4)
    clicks_on = lambda team: [t == team for t in merged.teams]  # noqa: E731
    assert merged.winner(clicks_on(A)) == A and merged.winner(clicks_on(B)) == B
    assert merged.winner([False] * 4) is None
    first_a, first_b = merged.teams.index(A), merged.teams.index(B)
    both = [i in (first_a, first_b) for i in range(4)]
    assert merged.winner(both) is None


def test_identical_rankers_and_random_clicks_win_equally_often():
    """Fairness (Radlinski et al. 2008): clicks that ignore the ranking favour neither team."""
    rng = np.random.default_rng(7)
    wins = {A: 0, B: 0, None: 0}
    for _ in range(4000):
        merged = team_draft(RANK_A, RANK_A, rng, length=6)
        wins[merged.winner(rng.random(6) < 0.2)] += 1
    assert interleaving_test(wins[A], wins[B]).p_value > 0.01
    assert abs(wins[A] - wins[B]) < 0.1 * (wins[A] + wins[B])


def test_sign_test_matches_the_binomial_tail():
    test = interleaving_test(60, 40, ties=100)
    assert test.p_value == pytest.approx(2 * binom.sf(59, 100, 0.5), rel=1e-9)
    assert test.delta == pytest.approx(0.1) and test.decided == 100
    assert interleaving_test(0, 0, 5).p_value == 1.0
    with pytest.raises(ConfigError, match="wins as a non-negative whole number, got -1"):
        interleaving_test(-1, 3)


def test_two_proportion_test_matches_the_pooled_z_formula():
    test = two_proportion_test("ctr", 550, 1000, 500, 1000)
    pooled = 1050 / 2000
    z = (0.55 - 0.5) / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert test.z == pytest.approx(z) and test.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    assert test.difference == pytest.approx(0.05)
    assert two_proportion_test("ctr", 0, 10, 0, 10).p_value == 1.0
    assert two_proportion_test("ctr", 5, 10, 0, 0).p_value == 1.0
    with pytest.raises(ConfigError, match="successes <= sessions"):
        two_proportion_test("ctr", 11, 10, 0, 10)


def test_sequential_p_value_is_valid_over_many_looks_and_still_finds_a_real_effect():
    from shoprank.core.canary.evidence import sequential_p_value

    rng = np.random.default_rng(11)
    looks = np.arange(10, 1001, 10)
    false_fixed = false_sequential = 0
    for _ in range(200):  # fair coins, looked at after every 10 sessions up to 1000
        wins = np.cumsum(rng.random(1000) < 0.5)[looks - 1]
        losses = looks - wins
        # binomtest's two-sided p for a fair coin is twice the smaller tail (checked against it below)
        fixed = np.minimum(1.0, 2 * binom.cdf(np.minimum(wins, losses), looks, 0.5))
        false_fixed += bool((fixed < 0.05).any())
        false_sequential += any(sequential_p_value(int(w), int(n - w)) < 0.05 for w, n in zip(wins, looks))
    assert interleaving_test(int(wins[-1]), int(losses[-1])).p_value == pytest.approx(fixed[-1])
    assert false_fixed / 200 > 0.2  # the fixed-sample test crosses 0.05 by chance at some look
    assert false_sequential / 200 <= 0.05
    assert sequential_p_value(700, 300) < 1e-6 and sequential_p_value(0, 0) == 1.0
    assert sequential_p_value(300, 700) == sequential_p_value(700, 300)  # two-sided
