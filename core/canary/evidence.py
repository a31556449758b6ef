"""Ranking evidence between a stable and a candidate ranker: the interleaving sign test and the
two-proportion test of a plain traffic split.

Interleaving (Chapelle et al. 2012, sec. 4): sessions the candidate's team won vs sessions the
stable team won, ties left out, tested with an exact two-sided binomial (sign) test against
p = 0.5 (scipy.stats.binomtest); delta = (wins - losses) / (wins + losses + ties) is their
Delta_AB. A canary looks at the evidence again and again, and a fixed-sample p-value crosses
0.05 by chance far more often than 5% of the time over many looks; `sequential_p_value` is an
always-valid alternative (a mixture sequential probability ratio test: Robbins 1970; Johari,
Pekelis and Walsh 2017, "Always valid inference"), safe to compare with alpha at every look. A traffic split: per version the share of sessions with at least one click (CTR) and
with a purchase, compared with a two-sided two-proportion z-test
(statsmodels.stats.proportion.proportions_ztest, pooled variance).
"""

from __future__ import annotations

import dataclasses
import math

from shoprank.core.common.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class InterleavingTest:
    """Sign test of an interleaving experiment: wins/losses/ties count the candidate's sessions."""

    wins: int
    losses: int
    ties: int
    p_value: float  # two-sided; 1.0 when no session was decided
    delta: float  # (wins - losses) / sessions, in [-1, 1]
    sequential_p_value: float = 1.0  # always valid over repeated looks (sequential_p_value)

    @property
    def decided(self) -> int:
        """Sessions one team won (the sign test's sample size)."""
        return self.wins + self.losses


@dataclasses.dataclass(frozen=True)
class ProportionTest:
    """Two-proportion z-test of candidate vs stable (rates are successes / sessions)."""

    metric: str
    candidate_rate: float
    stable_rate: float
    candidate_n: int
    stable_n: int
    z: float
    p_value: float  # two-sided; 1.0 when either side has no session or both rates are 0 or 1

    @property
    def difference(self) -> float:
        """candidate_rate - stable_rate."""
        return self.candidate_rate - self.stable_rate


def _count(name: str, value: int) -> int:
    if int(value) != value or value < 0:
        raise ConfigError(f"expected {name} as a non-negative whole number, got {value}")
    return int(value)


def interleaving_test(wins: int, losses: int, ties: int = 0) -> InterleavingTest:
    """Exact two-sided sign test of wins vs losses (ties excluded; Chapelle et al. 2012).

    Raises ConfigError for negative or fractional counts.
    """
    from scipy.stats import binomtest

    wins, losses, ties = _count("wins", wins), _count("losses", losses), _count("ties", ties)
    decided = wins + losses
    p_value = float(binomtest(wins, decided, 0.5).pvalue) if decided else 1.0
    sessions = decided + ties
    return InterleavingTest(wins, losses, ties, p_value, (wins - losses) / sessions if sessions else 0.0,
                            sequential_p_value(wins, losses))


MIXTURE_CONCENTRATION = 50.0  # Beta(50, 50) over the win rate: sd 0.05 around 0.5, the size of real ranking effects


def sequential_p_value(wins: int, losses: int, concentration: float = MIXTURE_CONCENTRATION) -> float:
    """Always-valid two-sided p-value of wins vs losses against a fair coin.

    The likelihood ratio of a Beta(c, c) mixture over the win rate against p = 0.5,
    Lambda = B(c + wins, c + losses) / B(c, c) * 2^(wins + losses), is a martingale under the
    null, so P(Lambda ever reaches 1 / alpha) <= alpha (Ville's inequality): min(1, 1 / Lambda)
    may be compared with alpha after every session. Raises ConfigError for bad counts.
    """
    from scipy.special import betaln

    wins, losses = _count("wins", wins), _count("losses", losses)
    if concentration <= 0:
        raise ConfigError(f"expected a mixture concentration > 0, got {concentration}")
    log_ratio = betaln(concentration + wins, concentration + losses) - betaln(concentration, concentration) \
        + (wins + losses) * math.log(2.0)
    return float(min(1.0, math.exp(-log_ratio))) if log_ratio > 0 else 1.0


def two_proportion_test(metric: str, candidate_successes: int, candidate_n: int,
                        stable_successes: int, stable_n: int) -> ProportionTest:
    """Two-sided pooled two-proportion z-test (statsmodels proportions_ztest).

    Raises ConfigError for negative counts or more successes than sessions.
    """
    from statsmodels.stats.proportion import proportions_ztest

    cs, cn = _count(f"{metric} candidate successes", candidate_successes), _count(f"{metric} candidate sessions", candidate_n)
    ss, sn = _count(f"{metric} stable successes", stable_successes), _count(f"{metric} stable sessions", stable_n)
    if cs > cn or ss > sn:
        raise ConfigError(f"{metric}: expected successes <= sessions, got candidate {cs}/{cn}, stable {ss}/{sn}")
    c_rate = cs / cn if cn else 0.0
    s_rate = ss / sn if sn else 0.0
    pooled = (cs + ss) / (cn + sn) if cn + sn else 0.0
    if not cn or not sn or pooled in (0.0, 1.0):
        return ProportionTest(metric, c_rate, s_rate, cn, sn, 0.0, 1.0)
    z, p_value = proportions_ztest([cs, ss], [cn, sn], alternative="two-sided")
    z, p_value = float(z), float(p_value)
    if math.isnan(p_value):
        z, p_value = 0.0, 1.0
    return ProportionTest(metric, c_rate, s_rate, cn, sn, z, p_value)
