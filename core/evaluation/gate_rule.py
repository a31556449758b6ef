"""The blessing rule: GateConfig and decide().

What "beats" means (a decision, README "The gate"): the candidate beats an opponent when its mean
gate metric over the held-out queries is at least `margin` above the opponent's AND the paired
test does not find it significantly worse; significance of the gain (p < alpha) is required only
with `require_significance=True`. Why: a typical shop's test split holds 20-30 queries, and
per-query NDCG@10 deltas spread with standard deviations of 0.08-0.16 (the free baselines on
esci-us-150's 20 test queries), so a two-sided test at alpha 0.05 detects (with 80% power) only
gains of about 0.05-0.10; requiring significance would refuse real 0.01-0.03 gains on small sets
for ever. The mean rule still never blesses a model that a
baseline beats on these queries: with margin >= 0 a baseline whose mean is higher fails it,
whatever the set's size. The p-value and the confidence interval of every comparison are
reported, so a reader sees how strong the evidence is; `require_significance` demands it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

from shoprank.core.common.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """When the shipped model may be blessed for deployment.

    beat_baselines: the candidate must beat every evaluated baseline and the champion (if one is
        evaluated) on `metric` (default True: the baseline rule is the default gate).
    margin: the mean gain over each of them the candidate must reach (default 0.01, in units of
        the metric; negative tolerates a small regression). Must lie in (-1, 1).
    min_queries: fewest held-out queries `metric` is defined on; fewer -> not blessed (default 15).
    alpha: significance level of the paired tests; the confidence intervals are at 1 - alpha
        (default 0.05 -> 95% intervals).
    require_significance: also require each gain to be significant (p < alpha); default False.
    resamples: random swaps of the randomisation test and bootstrap resamples (default 9999).
    seed: seeds the paired tests (same seed, same p-values and intervals); the metrics' sampled tie
        orders keep their own fixed seed, so every stage reports the same means.
    min_ndcg: extra absolute floor on the candidate's `metric`; None means not configured.
    min_gain_over_champion: required mean gain over the champion, in place of `margin` for the
        champion (may be negative to allow a small regression); None means `margin` applies.
        Without beat_baselines it is the only champion check.
    metric: the rank metric every check reads: "ndcg@10", "mrr" or "recall@10".
    Raises ConfigError for a value outside its range.
    """

    beat_baselines: bool = True
    margin: float = 0.01
    min_queries: int = 15
    alpha: float = 0.05
    require_significance: bool = False
    resamples: int = 9999
    seed: int = 0
    min_ndcg: float | None = None
    min_gain_over_champion: float | None = None
    metric: str = "ndcg@10"

    def __post_init__(self):
        for name in ("min_ndcg", "min_gain_over_champion"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ConfigError(f"gate {name}: expected a finite number or None, got {value}")
        if not (math.isfinite(self.margin) and -1.0 < self.margin < 1.0):
            raise ConfigError(f"gate margin: expected a number in (-1, 1), got {self.margin}")
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"gate alpha: expected a number in (0, 1), got {self.alpha}")
        if self.min_queries < 1:
            raise ConfigError(f"gate min_queries: expected at least 1, got {self.min_queries}")
        if self.resamples < 99:
            raise ConfigError(f"gate resamples: expected at least 99, got {self.resamples}")


def decide(candidate: Mapping, versus: Mapping[str, Mapping], gate: GateConfig, champion: str = "champion",
           shipped: str = "model") -> dict:
    """The blessing: {"blessed", "reason", "checks"}.

    candidate: the shipped ranker's metrics (means and query counts, metrics.summarise).
    versus: per opponent, the paired test of the candidate against it (significance.paired_test).
    `champion` names the champion among the opponents, if it is there; `shipped` names the candidate
    in the reasons ("model", or "hybrid" when the blend ships).
    """
    if gate.metric not in candidate:
        raise ConfigError(f"gate metric: expected one of {sorted(candidate)}, got '{gate.metric}'")
    judged = [name for name in versus
              if gate.beat_baselines or (name == champion and gate.min_gain_over_champion is not None)]
    if not judged and gate.min_ndcg is None:
        if gate.min_gain_over_champion is not None:
            reason = ("not blessed: the only configured threshold is min_gain_over_champion and there is no "
                      "champion to compare with; set min_ndcg or keep beat_baselines to bless a first model")
        else:
            reason = ("not blessed: no threshold is configured (no baseline or champion to beat, no min_ndcg); "
                      "a model is never blessed without one")
        return {"blessed": False, "reason": reason, "checks": []}
    queries = int(candidate.get("queries" if gate.metric.startswith("ndcg") else "queries_with_relevant", 0))
    checks = [_check("min_queries", queries >= gate.min_queries, queries, gate.min_queries,
                     f"{queries} held-out queries define {gate.metric}, at least {gate.min_queries} needed"
                     + ("" if queries >= gate.min_queries else " (too few to judge)"))]
    for name in judged:
        checks.append(_versus_check(name, versus[name], gate, name == champion, shipped))
    if gate.min_ndcg is not None:
        value = _number(candidate[gate.metric])
        checks.append(_check("min_ndcg", not math.isnan(value) and value >= gate.min_ndcg, value, gate.min_ndcg,
                             f"{gate.metric} {value:.4f} >= floor {gate.min_ndcg:.4f}"))
    failed = [c for c in checks if not c["passed"]]
    passed = [c for c in checks if c["passed"]]
    summary = "; ".join([f"{c['rule']} (FAIL)" for c in failed] + [f"{c['rule']} (pass)" for c in passed])
    return {"blessed": not failed, "reason": f"{'not blessed' if failed else 'blessed'}: {summary}", "checks": checks}


def _versus_check(name: str, test: Mapping, gate: GateConfig, is_champion: bool, shipped: str = "model") -> dict:
    """Does the candidate beat `name`: mean gain >= margin, not significantly worse, and (if
    required) significantly better."""
    custom = is_champion and gate.min_gain_over_champion is not None
    margin = gate.min_gain_over_champion if custom else gate.margin
    delta, p_value = _number(test.get("delta")), _number(test.get("p_value"))
    significant = not math.isnan(p_value) and p_value < gate.alpha
    worse = significant and delta < 0
    enough = not math.isnan(delta) and delta >= margin
    better = significant and delta > 0
    passed = enough and not worse and (better or not gate.require_significance)
    ci = f"{1 - gate.alpha:.0%} CI [{_fmt(test.get('ci_low'))}, {_fmt(test.get('ci_high'))}]"
    rule = (f"{gate.metric} gain over {name} {_fmt(delta)} {'>=' if enough else 'below'} margin {margin:+.4f} "
            f"({ci}, p={_fmt(p_value, None)}, "
            f"{test.get('queries', 0)} queries)")
    if not enough and not math.isnan(delta) and delta < 0:
        rule = f"{name} beats the {shipped}: " + rule
    if worse:
        rule += f", significantly worse at alpha {gate.alpha}"
    elif gate.require_significance and not better:
        rule += f", not significant at alpha {gate.alpha}"
    check = _check("min_gain_over_champion" if custom else f"beats {name}", passed, delta, margin, rule)
    check.update({"opponent": name, "p_value": p_value, "ci_low": test.get("ci_low"), "ci_high": test.get("ci_high")})
    return check


def _number(value) -> float:
    """A metric's mean as a float; NaN when no query defines it (a check on it never passes)."""
    return math.nan if value is None else float(value)


def _fmt(value, sign: str | None = "+") -> str:
    """4 decimals, signed (a gain) or not (sign=None: a p-value); "n/a" for a missing value."""
    value = _number(value)
    return "n/a" if math.isnan(value) else f"{value:{sign or ''}.4f}"


def _check(name: str, passed: bool, value: float, threshold: float, rule: str) -> dict:
    return {"name": name, "rule": rule, "value": value, "threshold": threshold, "passed": bool(passed)}
