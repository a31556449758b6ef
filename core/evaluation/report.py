"""The evaluation page: a self-contained HTML report a person reads top-down.

Top: the verdict and its reason, and the gate's checks. Then the metric comparison (bar chart +
table), the shipped model's paired test against every opponent (mean gain, confidence interval,
p-value, wins / losses / ties, the gate's verdict on it), the per-query delta plot, and the
queries the new model loses most on; then the held-out search sessions, when the data has a
click log (core/evaluation/session_report.py).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from shoprank.core.common.html_page import escape, figure_png, page, table, verdict
from shoprank.core.evaluation.session_report import render_sessions_section
from shoprank.core.evaluation.shipped import shipped_section

_WORST_QUERIES = 10


def _num(value):
    """Floats as floats (the table formats them), missing values as 'n/a'."""
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _metric_bars(rankers: Mapping[str, Mapping[str, float]], metrics: tuple[str, ...]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rankers)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(metrics))
    for i, name in enumerate(names):
        values = [rankers[name].get(m) or 0.0 for m in metrics]
        bars = ax.bar(x + i * width - 0.4 + width / 2, values, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks(x, [m.upper() for m in metrics])
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("mean over held-out queries")
    ax.legend(fontsize=8, ncol=len(names), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    ax.spines[["top", "right"]].set_visible(False)
    return figure_png(fig)


def _delta_plot(per_query, candidate: str, versus: Mapping[str, Mapping], metric: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = list(versus)
    wide = per_query.pivot(index="query_id", columns="ranker", values=metric)
    fig, axes = plt.subplots(1, len(others), figsize=(3.2 * len(others), 2.8), sharey=True, squeeze=False)
    for ax, other in zip(axes[0], others):
        delta = np.sort((wide[candidate] - wide[other]).dropna().to_numpy())[::-1]
        colors = np.where(delta > 0, "#34a853", np.where(delta < 0, "#d93025", "#9e9e9e"))
        ax.bar(np.arange(delta.size), delta, width=1.0, color=colors)
        ax.axhline(0, color="#444", linewidth=0.6)
        counts = versus[other]
        ax.set_title(f"{candidate} − {other}  ({counts['wins']} W / {counts['losses']} L / {counts['ties']} T)",
                     fontsize=9)
        ax.set_xlabel("queries, sorted", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel(f"per-query {metric.upper()} delta", fontsize=8)
    return figure_png(fig)


def render_evaluation_report(result: Mapping, per_query, query_text: Mapping[str, str] | None = None,
                             title: str = "shoprank evaluation") -> str:
    """HTML for an evaluation `result` (core.evaluation.evaluate) and its per-query table."""
    candidate, k = result["candidate"], result["k"]
    gate_metric = result.get("metric", f"ndcg@{k}")
    metric, metrics = f"ndcg@{k}", (f"ndcg@{k}", "mrr", f"recall@{k}")
    others = [name for name in result["rankers"] if name != candidate]
    blessed = bool(result["blessed"])
    mine = result["rankers"][candidate]
    headline = ", ".join(f"{escape(o)} {_fmt3(result['rankers'][o].get(metric))}" for o in others)
    parts = [
        verdict(f"{'BLESSED' if blessed else 'NOT BLESSED'} — {result['reason'].split(': ', 1)[-1]}", blessed),
        f"<p>Shipped ranker <b>{escape(result.get('shipped', candidate))}</b>: {metric.upper()} "
        f"<b>{_fmt3(mine.get(metric))}</b> on {mine.get('queries')} held-out queries "
        f"({headline or 'no baselines'}).</p>",
    ]
    parts.append(shipped_section(result))  # core/evaluation/shipped.py: which candidate ships and why
    if result.get("checks"):
        parts.append(table(["check", "rule", "result"],
                           [[c["name"], c["rule"], "pass" if c["passed"] else "FAIL"] for c in result["checks"]]))
    parts += [
        "<h2>Ranking quality per ranker</h2>", _metric_bars(result["rankers"], metrics),
        table(["ranker", *[m.upper() for m in metrics], "queries (NDCG)", "queries (MRR, Recall)", "left out"],
              [[name, *[_num(values.get(m)) for m in metrics], values.get("queries"),
                values.get("queries_with_relevant"), _left_out(values)]
               for name, values in result["rankers"].items()]),
        "<p class='muted'>Left out of a mean: queries with a single candidate or with every candidate "
        "labelled the same (no order is better than another), and for MRR and Recall queries with no "
        f"relevant candidate (label &gt;= {escape(result.get('relevant_label', 2))}). Metrics by ranx; tied "
        "scores count as the mean over the orders of the tied candidates (every order, or 256 seeded "
        "random ones for large ties).</p>",
    ]
    if result.get("versus"):
        parts += [
            f"<h2>Paired tests of the shipped model ({escape(result.get('shipped', candidate))})</h2>",
            f"<p>Per opponent, over the queries both define: the mean {escape(gate_metric.upper())} gain, its "
            f"{_level(result)} bootstrap confidence interval, the two-sided p-value of a paired randomisation "
            "test, and the queries the shipped model wins, loses and ties. The gate column is its check.</p>",
            table(["shipped vs", "mean gain", "CI low", "CI high", "p-value", "queries", "wins", "losses", "ties",
                   "gate"],
                  [[name, _num(v.get("delta")), _num(v.get("ci_low")), _num(v.get("ci_high")), _num(v.get("p_value")),
                    v.get("queries"), v.get("wins"), v.get("losses"), v.get("ties"), _gate_cell(result, name)]
                   for name, v in result["versus"].items()]),
            _delta_plot(per_query, candidate, result["versus"], gate_metric),
        ]
    if others:
        parts.append(_worst_queries(per_query, candidate, others, metric, query_text or {}))
    parts.append(render_sessions_section(result.get("sessions")))
    gate = result.get("gate", {})
    parts.append("<h2>Gate</h2><p class='muted'>" + ", ".join(
        f"{escape(key)} {escape(_num(value))}" for key, value in gate.items()) + "</p>")
    return page(title, "\n".join(parts))


def _level(result: Mapping) -> str:
    alpha = result.get("gate", {}).get("alpha")
    return f"{1 - alpha:.0%}" if alpha else "95%"


def _gate_cell(result: Mapping, opponent: str) -> str:
    for check in result.get("checks", []):
        if check.get("opponent") == opponent:
            return "pass" if check["passed"] else "FAIL"
    return "not gated"


def _left_out(values: Mapping) -> str:
    from shoprank.core.evaluation.metrics import LEFT_OUT_REASONS

    parts = [f"{values[f'left_out_{r}']} {r.replace('_', ' ')}" for r in LEFT_OUT_REASONS if values.get(f"left_out_{r}")]
    return ", ".join(parts) or "none"


def _fmt3(value) -> str:
    return "n/a" if _num(value) == "n/a" else f"{value:.3f}"


def _worst_queries(per_query, candidate: str, others: list[str], metric: str, query_text: Mapping) -> str:
    """The queries where the new model trails the best other ranker by the most."""
    wide = per_query.pivot(index="query_id", columns="ranker", values=metric).dropna()
    if wide.empty:
        return ""
    best_other = wide[others].max(axis=1)
    best_name = wide[others].idxmax(axis=1)
    delta = (wide[candidate] - best_other).sort_values().head(_WORST_QUERIES)
    delta = delta[delta < 0]
    if delta.empty:
        return "<p>The new model trails no other ranker on any query.</p>"
    rows = [[str(qid), str(query_text.get(qid, "")), float(wide.at[qid, candidate]),
             f"{best_other[qid]:.4f} ({best_name[qid]})", float(d)] for qid, d in delta.items()]
    return "<h2>Largest losses</h2>" + table(["query_id", "query", candidate, "best other", "delta"], rows)
