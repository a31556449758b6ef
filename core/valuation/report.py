"""HTML page of the value stage: summary, value histogram per label, the most suspicious pairs."""

from __future__ import annotations

import numpy as np

from shoprank.core.common.html_page import figure_png, page, table, verdict
from shoprank.core.data.schema import LABEL_NAMES


def render_value_report(train_rows, metrics: dict, top_n: int = 50) -> str:
    """HTML for scored train rows (columns query_id, product_id, query, product_text, label,
    value, weight, label_issue) and the stage metrics."""
    share = metrics.get("estimated_noisy_share", 0.0)
    headline = (f"{metrics.get('method')}: {metrics.get('n')} training pairs valued; estimated noisy share "
                f"{100 * share:.1f}%; policy {metrics.get('policy')} touched "
                f"{100 * metrics.get('down_weighted_share', 0.0):.1f}% of pairs "
                f"({metrics.get('n_dropped', 0)} dropped) in {metrics.get('seconds', 0):.1f}s")
    summary = table(["metric", "value"], [(k, v) for k, v in metrics.items()])
    suspects = train_rows.sort_values(["value", "query_id", "product_id"], kind="stable").head(top_n)
    suspect_rows = [
        (i + 1, r.query, _title(r.product_text), f"{int(r.label)} {LABEL_NAMES.get(int(r.label), '')}",
         f"{r.value:.3e}", float(r.weight), "yes" if bool(r.label_issue) else "")
        for i, r in enumerate(suspects.itertuples(index=False))
    ]
    body = (
        # Yellow when the estimate says much of the data is suspect: worth a look before training.
        verdict(headline, True if share < 0.1 else None)
        + "<p class='muted'>Higher value = the pair helps a model predict held-out grades; the lowest "
        "values are the likeliest wrong labels. Weights below 1.0 shrink a pair's influence on training. "
        "The cleanlab flag (confident learning on out-of-fold probabilities) is an independent second opinion.</p>"
        + "<h2>Value by label</h2>" + _histograms(train_rows)
        + f"<h2>The {len(suspect_rows)} most suspicious pairs (lowest value)</h2>"
        + table(["#", "query", "title", "label", "value", "weight", "cleanlab flag"], suspect_rows)
        + "<h2>Metrics</h2>" + summary
    )
    return page("Data value of training pairs", body)


def _histograms(train_rows) -> str:
    """One histogram per label, cleanlab-flagged rows stacked in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted(int(v) for v in train_rows["label"].unique())
    values = train_rows["value"].to_numpy(dtype=float)
    edges = np.histogram_bin_edges(values[np.isfinite(values)], bins=40)
    fig, axes = plt.subplots(1, len(labels), figsize=(3.2 * len(labels), 2.6), sharex=True, squeeze=False)
    for ax, label in zip(axes[0], labels):
        rows = train_rows[train_rows["label"] == label]
        flagged = rows["label_issue"].to_numpy(dtype=bool)
        v = rows["value"].to_numpy(dtype=float)
        ax.hist([v[~flagged], v[flagged]], bins=edges, stacked=True, color=["#4c78a8", "#e45756"],
                label=["not flagged", "cleanlab flag"])
        ax.set_title(f"label {label} {LABEL_NAMES.get(label, '')} (n={len(rows)})", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.locator_params(axis="x", nbins=4)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
    axes[0][0].legend(fontsize=7)
    fig.supxlabel("value", fontsize=8)
    return figure_png(fig)


def _title(product_text: str) -> str:
    """The title is the first field of core.text.product_text."""
    return str(product_text).split(" | ", 1)[0]
