"""Compare the new reranker with baselines on held-out queries, and decide its blessing.

Every ranker scores the same held-out pairs; each gets NDCG@k, MRR and Recall@k
(shoprank.core.evaluation.metrics), and the new model gets per-query wins / losses / ties against each
of the others. The gate follows one rule (DESIGN style #3): a model is blessed only when
at least one configured threshold applies and every applicable threshold passes. With no
threshold configured it is never blessed.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Callable, Mapping, Sequence

import numpy as np

from shoprank.core.common.errors import ConfigError
from shoprank.core.evaluation.metrics import DEFAULT_K, per_query_metrics, relevant_label, summarise

log = logging.getLogger(__name__)

CANDIDATE = "model"
CHAMPION = "champion"
# Per-query metric differences smaller than this count as ties (float noise, equal rankings).
TIE_TOLERANCE = 1e-9

# A ranker: pairs frame in, one score per row out (higher ranks first).
Scorer = Callable[["pandas.DataFrame"], "np.ndarray | Sequence[float]"]


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """When the new model may be blessed for deployment.

    min_ndcg: absolute floor on the new model's `metric`; None means not configured.
    min_gain_over_champion: the new model's `metric` minus the champion's must reach this
        (may be negative to allow a small regression); None means not configured. It only
        applies when a champion is evaluated.
    metric: the rank metric both thresholds read, e.g. "ndcg@10", "mrr", "recall@10".
    """

    min_ndcg: float | None = None
    min_gain_over_champion: float | None = None
    metric: str = "ndcg@10"

    def __post_init__(self):
        for name in ("min_ndcg", "min_gain_over_champion"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ConfigError(f"gate {name}: expected a finite number or None, got {value}")

    @property
    def configured(self) -> bool:
        return self.min_ndcg is not None or self.min_gain_over_champion is not None


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Metrics per ranker, one row per query and ranker, and candidate-vs-other summaries."""

    metrics: dict[str, dict[str, float | None]]  # per ranker: means (None: no query) and query counts
    per_query: "object"  # DataFrame [query_id, ranker, ndcg@k, mrr, recall@k, candidates, left_out]
    versus: dict[str, dict[str, float]]


def score_rankers(frame, scorers: Mapping[str, Scorer]):
    """A copy of `frame` with one `score_<name>` column per ranker (scorer(frame) -> scores)."""
    out = frame.copy()
    for name, scorer in scorers.items():
        scores = np.asarray(scorer(frame), dtype=np.float64)
        if scores.shape != (len(frame),):
            raise ConfigError(
                f"ranker '{name}': expected {len(frame)} scores, one per pair, got shape {scores.shape}"
            )
        bad = int(np.sum(~np.isfinite(scores)))
        if bad:
            raise ConfigError(f"ranker '{name}': expected finite scores, got {bad} NaN/inf")
        out[f"score_{name}"] = scores
        log.info("evaluation: scored %d pairs with %s", len(frame), name)
    return out


def compare_rankers(scored, rankers: Sequence[str], candidate: str = CANDIDATE, k: int = DEFAULT_K,
                    relevant: int | None = None) -> Comparison:
    """Rank metrics of each ranker's `score_<name>` column, and per-query wins of `candidate`.

    relevant: the MRR/Recall threshold (None: relevant_label of the scored labels). Queries left
    out of a metric (metrics.py) are counted per ranker and take no part in wins and losses.
    """
    import pandas as pd

    if candidate not in rankers:
        raise ConfigError(f"expected the candidate '{candidate}' among the rankers, got {list(rankers)}")
    relevant = relevant_label(scored["label"]) if relevant is None else relevant
    tables = []
    for name in rankers:
        table = per_query_metrics(scored, score_column=f"score_{name}", k=k, relevant=relevant)
        table.insert(1, "ranker", name)
        tables.append(table)
    per_query = pd.concat(tables, ignore_index=True)
    metrics = {name: summarise(table, k) for name, table in zip(rankers, tables)}
    mine = tables[list(rankers).index(candidate)].set_index("query_id")[f"ndcg@{k}"]
    versus = {
        name: _wins_losses(mine, table.set_index("query_id")[f"ndcg@{k}"])
        for name, table in zip(rankers, tables)
        if name != candidate
    }
    return Comparison(metrics=metrics, per_query=per_query, versus=versus)


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact sign test: the chance of a split at least this uneven from fair coin flips."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def _wins_losses(mine, theirs) -> dict[str, float]:
    """Per-query NDCG wins / losses / ties, the mean delta, and a two-sided sign-test p-value."""
    delta = (mine - theirs.reindex(mine.index)).dropna().to_numpy()
    wins = int(np.sum(delta > TIE_TOLERANCE))
    losses = int(np.sum(delta < -TIE_TOLERANCE))
    p_value = sign_test_p(wins, losses)
    return {
        "wins": wins,
        "losses": losses,
        "ties": int(delta.size - wins - losses),
        "mean_delta": float(delta.mean()) if delta.size else math.nan,
        "sign_test_p": float(p_value),
    }


def decide(metrics: Mapping[str, Mapping[str, float]], gate: GateConfig, candidate: str = CANDIDATE,
           champion: str = CHAMPION) -> dict:
    """The blessing: {"blessed", "reason", "checks"}; `champion` counts only if in `metrics`."""
    if not gate.configured:
        return {
            "blessed": False,
            "reason": "not blessed: no threshold is configured (set min_ndcg and/or "
            "min_gain_over_champion); a model is never blessed without one",
            "checks": [],
        }
    if gate.metric not in metrics[candidate]:
        raise ConfigError(f"gate metric: expected one of {sorted(metrics[candidate])}, got '{gate.metric}'")
    value = _number(metrics[candidate][gate.metric])
    checks = []
    if gate.min_ndcg is not None:
        checks.append(_check("min_ndcg", f"{gate.metric} {value:.4f} >= floor {gate.min_ndcg:.4f}",
                             value, gate.min_ndcg))
    if gate.min_gain_over_champion is not None and champion in metrics:
        gain = value - _number(metrics[champion][gate.metric])
        checks.append(_check("min_gain_over_champion",
                             f"gain over champion {gain:+.4f} >= {gate.min_gain_over_champion:+.4f}",
                             gain, gate.min_gain_over_champion))
    if not checks:
        return {
            "blessed": False,
            "reason": "not blessed: the only configured threshold is min_gain_over_champion and "
            "there is no champion to compare with; set min_ndcg to bless a first model",
            "checks": [],
        }
    failed = [c for c in checks if not c["passed"]]
    summary = "; ".join(f"{c['rule']} ({'pass' if c['passed'] else 'FAIL'})" for c in checks)
    if gate.min_gain_over_champion is None and champion in metrics:
        summary += f"; gain over champion {value - _number(metrics[champion][gate.metric]):+.4f} (not gated)"
    return {"blessed": not failed, "reason": f"{'not blessed' if failed else 'blessed'}: {summary}", "checks": checks}


def _number(value: float | None) -> float:
    """A metric's mean as a float; NaN when no query defines it (a check on it never passes)."""
    return math.nan if value is None else float(value)


def _check(name: str, rule: str, value: float, threshold: float) -> dict:
    # NaN (e.g. no held-out query with a relevant result) never passes.
    passed = bool(not math.isnan(value) and value >= threshold)
    return {"name": name, "rule": rule, "value": value, "threshold": threshold, "passed": passed}


def evaluate(scored, rankers: Sequence[str], gate: GateConfig, k: int = DEFAULT_K,
             candidate: str = CANDIDATE, relevant: int | None = None) -> tuple[dict, Comparison]:
    """Compare and decide on scored pairs; returns (JSON-serialisable result, comparison)."""
    relevant = relevant_label(scored["label"]) if relevant is None else relevant
    comparison = compare_rankers(scored, rankers, candidate=candidate, k=k, relevant=relevant)
    decision = decide(comparison.metrics, gate, candidate=candidate)
    result = {
        "candidate": candidate,
        "metric": gate.metric,
        "k": k,
        "relevant_label": relevant,
        "rankers": comparison.metrics,
        "versus": comparison.versus,
        "gate": dataclasses.asdict(gate),
        **decision,
    }
    log.info("evaluation: %s", decision["reason"])
    return _json_safe(result), comparison


def _json_safe(value):
    """NaN/inf become None so the result is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
