"""HTML page of a search: the answer, validation NDCG@10 over steps per trial in one plot, the
trials sorted by score, the chosen config and the space."""

from __future__ import annotations

import json

from shoprank.core.common.html_page import escape, figure_png, new_figure, page, table, verdict
from shoprank.core.tuning.trainable import METRIC

TITLE = "Hyperparameter search"


def render_search_report(result: dict) -> str:
    """HTML for a SearchResult.to_dict(): best trial, curves, trials table, chosen config, space."""
    trials, metrics, best = result["trials"], result["metrics"], result["best_trial"]
    defaults = next((t for t in trials if t["number"] == 0), None) if result["settings"].get("include_defaults") else None
    against = (f" (the defaults, trial 0: {defaults['best_ndcg@10']:.4f})"
               if defaults and defaults["best_ndcg@10"] is not None and best != 0 else "")
    headline = (f"best: trial {best}, validation NDCG@10 {metrics['best_ndcg@10']:.4f}{against}; "
                f"{metrics['trials_run']} trials: {metrics['trials_completed']} ran their budget, "
                f"{metrics['trials_stopped_early']} stopped early, {metrics['trials_failed']} failed"
                + (f", {metrics['trials_unscored']} not scored (time budget)" if metrics.get("trials_unscored") else "")
                + "; "
                f"{metrics['trial_seconds']:.0f} trial-seconds in {metrics['wall_seconds']:.0f} s"
                + (" (resumed)" if metrics.get("resumed") else ""))
    chosen = {"train_overrides": result["train_overrides"], "value_policy": result["value_policy"]}
    body = (
        verdict(headline, True)
        + "<p class='muted'>Each trial is a short fine-tune (the train stage's own code) on a seeded subset of the "
        "training pairs, scored on validation queries every few steps; ASHA stops trials that trail at a rung. "
        "The chosen trial has the highest validation NDCG@10 reached; the train stage then trains with its config "
        "over all the pairs. Test queries are never seen here.</p>"
        + "<h2>Validation NDCG@10 over training steps</h2>" + _curves(trials, best)
        + "<h2>Trials, best first</h2>" + _trials_table(trials, best)
        + "<h2>Chosen config</h2><pre>" + escape(json.dumps(chosen, indent=2, sort_keys=True)) + "</pre>"
        + "<h2>Search space</h2>" + table(["dimension", "declared as"],
                                          [(k, json.dumps(v)) for k, v in result["space"].items()])
        + "<h2>Settings</h2>" + table(["setting", "value"], [(k, _cell(v)) for k, v in result["settings"].items()])
        + f"<p class='muted'>Ray Tune results: {escape(result['experiment_dir'])}</p>"
    )
    return page(TITLE, body)


def render_skipped_report(reason: str) -> str:
    """The page when no search ran (tuning turned off)."""
    return page(TITLE, verdict(reason, None))


def _curves(trials: list, best: int) -> str:
    fig, ax = new_figure(8.0, 4.0)
    drawn = 0
    for trial in trials:
        history = trial["history"]
        if not history:
            continue
        steps, scores = [h["step"] for h in history], [h[METRIC] for h in history]
        is_best = trial["number"] == best
        ax.plot(steps, scores, marker="o", markersize=3, linewidth=2.6 if is_best else 1.0,
                linestyle="-" if trial["status"] == "completed" else "--", zorder=3 if is_best else 2,
                label=f"trial {trial['number']}" + (" (chosen)" if is_best else "")
                + (" stopped" if trial["status"] == "stopped" else ""))
        drawn += 1
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation NDCG@10")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=7, ncol=2 if drawn > 8 else 1, loc="best")
    return figure_png(fig)


def _trials_table(trials: list, best: int) -> str:
    names = sorted({k for t in trials for k in t["params"]})
    ordered = sorted(trials, key=lambda t: (t["best_ndcg@10"] is None, -(t["best_ndcg@10"] or 0.0), t["number"]))
    rows = []
    for rank, trial in enumerate(ordered, 1):
        score = trial["best_ndcg@10"]
        rows.append((rank, f"{trial['number']}{' (chosen)' if trial['number'] == best else ''}", trial["status"],
                     "-" if score is None else float(score), int(trial["steps"]), f"{trial['seconds']:.1f}",
                     *(_cell(trial["params"].get(n)) for n in names), trial.get("error") or ""))
    return table(["#", "trial", "status", "best NDCG@10", "steps", "seconds", *names, "error"], rows)


def _cell(value):
    if isinstance(value, float):
        return f"{value:.4g}"  # learning rates need more than table()'s 4 decimals
    return value if isinstance(value, (int, str, bool)) or value is None else json.dumps(value)
