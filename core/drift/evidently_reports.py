"""Evidently 0.7 for the drift check: the per-signal tests, the Reports behind the page, one HTML for all.

Decisions: `column_drift` runs the Evidently drift method registered under a signal's method
name (the same registry and call Evidently's ValueDrift metric makes), without drawing plots, so
a check that needs no page (a test over many seeds, a benchmark) costs a fraction of a second.
Page: each unit table (core/drift/signals.py) becomes an Evidently Dataset pair and each signal
a ValueDrift metric with the same method and threshold (include_tests=True marks the drifted
ones); online ranking quality uses Evidently's ranking metrics (MRR@k, HitRate@k = CTR@k) on the
impressions of the sampled searches. The widgets of every report are rendered into one HTML
document, so the page carries Evidently's JavaScript once (about 3.5 MB), not once per report.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings

import shoprank.core.drift.stattests  # noqa: F401  (registers chisquare_2sample with Evidently)

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ColumnTest:
    """One ValueDrift metric: column (a signal name), kind ("num" or "cat"), method, threshold."""

    column: str
    kind: str
    method: str
    threshold: float | None


def column_drift(reference, current, test: ColumnTest) -> tuple[float, bool, float]:
    """(score, drifted, threshold used) of one signal's Evidently drift method; missing values are left out."""
    from evidently.legacy.calculations.stattests import get_stattest
    from evidently.legacy.core import ColumnType

    column_type = ColumnType.Numerical if test.kind == "num" else ColumnType.Categorical
    ref, cur = reference.dropna(), current.dropna()
    if test.kind == "num":
        ref, cur = ref.astype(float), cur.astype(float)
    with warnings.catch_warnings():  # scipy's KS notes when it falls back to the asymptotic p-value; expected
        warnings.filterwarnings("ignore", message="ks_2samp: Exact calculation unsuccessful")
        outcome = get_stattest(ref, cur, column_type, test.method)(ref, cur, column_type, test.threshold)
    return float(outcome.drift_score), bool(outcome.drifted), float(outcome.actual_threshold)


def value_drift(reference, current, tests: list[ColumnTest]):
    """Run Evidently ValueDrift on each column; returns ({column: (score, drifted, threshold)}, widgets).

    reference, current: DataFrames holding the tested columns (missing values are left out by
    Evidently). The threshold is the one Evidently used (its default where None was given).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    if not tests:
        return {}, []
    columns = [t.column for t in tests]
    definition = DataDefinition(numerical_columns=[t.column for t in tests if t.kind == "num"],
                                categorical_columns=[t.column for t in tests if t.kind == "cat"])
    report = Report([ValueDrift(column=t.column, method=t.method, threshold=t.threshold) for t in tests],
                    include_tests=True)
    snapshot = report.run(Dataset.from_pandas(current[columns], data_definition=definition),
                          Dataset.from_pandas(reference[columns], data_definition=definition))
    data = snapshot.dict()
    failed = {test["metric_config"]["metric_id"]: test["status"] == "FAIL" for test in data["tests"]}
    results = {}
    for metric in data["metrics"]:
        config = metric["config"]
        results[config["column"]] = (float(metric["value"]), failed.get(metric["id"], False), config.get("threshold"))
    return results, snapshot.to_snapshot_model().widgets


def ranking_quality(reference, current, k: int, with_widgets: bool = True):
    """Evidently MRR@10 and HitRate@k (the share of searches with a click in the top k: CTR@k)
    of the current and reference impressions; returns ({"mrr", "ctr_at_k"}: (reference, current), widgets).

    reference, current: impressions with columns search, product_id, position (served rank,
    1 = top) and clicked (0/1); searches without a click count (no_feedback_users=True).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.core.datasets import Recsys
    from evidently.metrics import MRR, HitRate

    definition = DataDefinition(
        numerical_columns=["position", "clicked"], categorical_columns=["search", "product_id"],
        ranking=[Recsys(user_id="search", item_id="product_id", prediction="position", target="clicked",
                        recommendations_type="rank")])
    report = Report([MRR(k=10, no_feedback_users=True), HitRate(k=k, no_feedback_users=True)])
    snapshot = report.run(Dataset.from_pandas(current, data_definition=definition),
                          Dataset.from_pandas(reference, data_definition=definition))
    values = {}
    for metric, name, cutoff in zip(snapshot.dict()["metrics"], ("mrr", "ctr_at_k"), (10, k)):
        result = snapshot.metric_results[metric["id"]]
        reference_result = snapshot.context.get_reference_metric_result(metric["id"])
        values[name] = (_at_cutoff(reference_result.value, cutoff), _at_cutoff(result.value, cutoff))
    return values, (snapshot.to_snapshot_model().widgets if with_widgets else [])


def _at_cutoff(frame, k: int) -> float | None:
    """Evidently's ranking results hold one value per cut-off 1..K, in order; the one at k."""
    series = frame["value"].tolist()
    return float(series[min(k, len(series)) - 1]) if series else None


def render_html(sections: list[tuple[str, list]]) -> str:
    """One self-contained Evidently HTML document showing each (title, widgets) section."""
    from evidently.core.metric_types import render_widgets
    from evidently.legacy.renderers.html_widgets import group_widget

    widgets = [group_widget(title=title, widgets=list(items)) for title, items in sections if items]
    return render_widgets(widgets, as_iframe=False)
