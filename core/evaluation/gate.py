"""Compare the shipped reranker with baselines and the champion on held-out queries, and decide
its blessing.

Every ranker scores the same held-out pairs; each gets NDCG@k, MRR and Recall@k
(shoprank.core.evaluation.metrics, through ranx), and the shipped candidate gets a paired test
over queries against every opponent (core/evaluation/significance.py): mean delta, p-value,
confidence interval, wins / losses / ties.

The rule (GateConfig): blessed only when at least one check applies and every check passes
(DESIGN style #3); by default the checks are "enough queries" and "beats every baseline and the
champion by `margin` on the gate metric", so a default run can bless a model that earns it and
never one a free baseline beats. min_ndcg and min_gain_over_champion are extra thresholds.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Callable, Mapping, Sequence

import numpy as np

from shoprank.core.common.errors import ConfigError
from shoprank.core.evaluation.gate_rule import GateConfig, decide
from shoprank.core.evaluation.metrics import DEFAULT_K, per_query_metrics, relevant_label, summarise
from shoprank.core.evaluation.significance import paired_test

log = logging.getLogger(__name__)

CANDIDATE = "model"
CHAMPION = "champion"

# A ranker: pairs frame in, one score per row out (higher ranks first).
Scorer = Callable[["pandas.DataFrame"], "np.ndarray | Sequence[float]"]

__all__ = ["CANDIDATE", "CHAMPION", "Comparison", "GateConfig", "compare_rankers", "decide", "evaluate",
           "score_rankers"]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Metrics per ranker, one row per query and ranker, and candidate-vs-opponent paired tests."""

    metrics: dict[str, dict[str, float | None]]  # per ranker: means (None: no query) and query counts
    per_query: "object"  # DataFrame [query_id, ranker, ndcg@k, mrr, recall@k, candidates, left_out]
    versus: dict[str, dict[str, float]]  # per opponent: paired_test's dict on the gate metric


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
                    relevant: int | None = None, opponents: Sequence[str] | None = None,
                    gate: GateConfig = GateConfig()) -> Comparison:
    """Rank metrics of each ranker's `score_<name>` column, and paired tests of `candidate`
    against each of `opponents` (None: every other ranker) on `gate.metric`.

    relevant: the MRR/Recall threshold (None: relevant_label of the scored labels). Queries left
    out of a metric (metrics.py) are counted per ranker and take no part in the paired tests.
    Raises ConfigError for a candidate, opponent or gate metric that is not there.
    """
    import pandas as pd

    if candidate not in rankers:
        raise ConfigError(f"expected the candidate '{candidate}' among the rankers, got {list(rankers)}")
    opponents = [r for r in rankers if r != candidate] if opponents is None else list(opponents)
    missing = [o for o in opponents if o not in rankers or o == candidate]
    if missing:
        raise ConfigError(f"opponents: expected rankers other than '{candidate}' among {list(rankers)}, got {missing}")
    metric = _metric_column(gate.metric, k)
    relevant = relevant_label(scored["label"]) if relevant is None else relevant
    tables = {}
    for name in rankers:
        table = per_query_metrics(scored, score_column=f"score_{name}", k=k, relevant=relevant)
        table.insert(1, "ranker", name)
        tables[name] = table
    per_query = pd.concat(tables.values(), ignore_index=True)
    metrics = {name: summarise(table, k) for name, table in tables.items()}
    mine = tables[candidate].set_index("query_id")[metric]
    versus = {}
    for name in opponents:
        theirs = tables[name].set_index("query_id")[metric].reindex(mine.index)
        versus[name] = paired_test(mine.to_numpy(), theirs.to_numpy(), resamples=gate.resamples, seed=gate.seed,
                                   confidence=1.0 - gate.alpha)
        versus[name]["metric"] = gate.metric
    return Comparison(metrics=metrics, per_query=per_query, versus=versus)


def _metric_column(metric: str, k: int) -> str:
    allowed = (f"ndcg@{k}", "mrr", f"recall@{k}")
    if metric not in allowed:
        raise ConfigError(f"gate metric: expected one of {list(allowed)}, got '{metric}'")
    return metric


def evaluate(scored, rankers: Sequence[str], gate: GateConfig, k: int = DEFAULT_K, candidate: str = CANDIDATE,
             relevant: int | None = None, opponents: Sequence[str] | None = None,
             champion: str = CHAMPION) -> tuple[dict, Comparison]:
    """Compare and decide on scored pairs; returns (JSON-serialisable result, comparison).

    opponents: the rankers the candidate must beat (None: every other ranker); `champion`, if
    among them, is the current champion (its margin may be min_gain_over_champion).
    The result keeps `rankers`, `versus` (per opponent: delta, p_value, ci_low, ci_high,
    queries, wins, losses, ties), `shipped` (the candidate judged), `blessed`, `reason`, `checks`.
    """
    relevant = relevant_label(scored["label"]) if relevant is None else relevant
    comparison = compare_rankers(scored, rankers, candidate=candidate, k=k, relevant=relevant,
                                 opponents=opponents, gate=gate)
    decision = decide(comparison.metrics[candidate], comparison.versus, gate, champion=champion, shipped=candidate)
    result = {
        "candidate": candidate,
        "shipped": candidate,
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
