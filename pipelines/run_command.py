"""`shoprank run`: the whole pipeline on this machine (kfp.local), its console lines and summary."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from shoprank.core.common.progress import PROGRESS_LINE
from shoprank.pipelines.champion import canary_outcome, previous_champion, record_champion
from shoprank.pipelines.cli_app import DEFAULT_PIPELINE, app, console
from shoprank.pipelines.quality_table import print_quality_table


class _ProgressTee:
    """Stands in for stdout during a local run: everything goes to the log file; kfp.local's task
    start/finish lines, the training steps and the long loops' progress lines (core.progress)
    also reach the console, so a long run shows it is alive; so do the components' warnings (a
    max_length that cuts product fields, conflicting labels, a split with few queries).
    The sink must write to the real stdout, not to this object."""

    MARKERS = ("Executing task", "finished with status", " train: setting up", " train: step", " train: done",
               " train: personalise",
               " tune: trial", " tune: best", " WARNING]: ", " ERROR]: ")
    # Third-party warnings that are no news to a user (they stay in the log).
    QUIET = ("run pre-processing before quantization",)

    def __init__(self, log_file, sink):
        self.log_file = log_file
        self.sink = sink
        self._pending = ""

    def write(self, text: str) -> int:
        self.log_file.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if (any(marker in line for marker in self.MARKERS) or PROGRESS_LINE.search(line)) and not any(
                    quiet in line for quiet in self.QUIET):
                self.sink.print(_strip_ansi(line).strip(), highlight=False, soft_wrap=True)  # one line each, in a log too
        return len(text)

    def flush(self) -> None:
        self.log_file.flush()


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@app.command()
def run(
    data: Optional[Path] = typer.Option(None, help="Folder with your tables (Parquet/CSV); default: the built-in sample."),
    out: Path = typer.Option(Path("shoprank-out"), help="Where artifacts, run.log and summary.json go."),
    seed: int = typer.Option(0, help="Seed of the built-in sample, the split, valuation and training."),
    value_method: str = typer.Option("knn_shapley", help="knn_shapley, data_oob or confident_learning."),
    value_policy: str = typer.Option("weight", help="weight (values become sample weights) or drop."),
    train_loss: str = typer.Option("listwise", help="listwise, pointwise or pairwise."),
    train_epochs: int = typer.Option(3, help="Passes over the training pairs (early stopping may end sooner)."),
    train_max_steps: int = typer.Option(0, help="Training budget in optimizer steps; 0 = none."),
    train_max_minutes: float = typer.Option(0.0, help="Training budget in minutes; 0 = none."),
    train_max_length: int = typer.Option(64, "--max-length", "--train-max-length",
                                         help="Tokens per (query, product) pair; 0 = fitted to the pairs (64-128)."),
    price_limits: bool = typer.Option(True, help="Query feature: verdicts on each price for limits like 'under $40'."),
    low_price_words: bool = typer.Option(True, help="Query feature: 'cheap X' places each price in its category."),
    spelling_notes: bool = typer.Option(True, help="Query feature: 'Ashhby mouse (ashby)' from the candidates' words."),
    clicks: str = typer.Option("both", help="Labels from the interactions table: human (judgments only), clicks "
                               "(debiased click labels only) or both (judgments win where both exist)."),
    personalise: bool = typer.Option(True, "--personalise/--no-personalise", help="Train on the click log's "
                                     "sessions with each shopper's recent items when the data has an interactions table "
                                     "and >= 50 training sessions by shoppers with a history; else the plain model."),
    tune_trials: int = typer.Option(8, help="Hyperparameter search: configs tried (ASHA stops weak ones); 0 = no search."),
    tune_minutes: float = typer.Option(4.0, help="Hyperparameter search: time budget in minutes (whichever ends first)."),
    min_ndcg: float = typer.Option(-1.0, help="Blessing floor on NDCG@10; negative = not configured (never blessed)."),
    min_gain_over_champion: float = typer.Option(-1.0, help="Required NDCG@10 gain over the champion; -1 = not configured."),
    champion: Optional[Path] = typer.Option(None, help="The current champion's model folder, if any."),
    baselines: str = typer.Option("bm25,zeroshot,msmarco", help="Baselines the evaluation compares against."),
    beat_baselines: bool = typer.Option(True, help="Gate: bless only a model that beats every baseline and the champion."),
    gate_margin: float = typer.Option(0.01, help="Gate: mean NDCG@10 gain over each baseline and the champion required."),
    gate_min_queries: int = typer.Option(15, help="Gate: fewest held-out queries to judge on; fewer = not blessed."),
    gate_alpha: float = typer.Option(0.05, help="Gate: level of the paired tests (confidence intervals at 1 - alpha)."),
    require_significance: bool = typer.Option(False, help="Gate: also require each gain to be significant (p < alpha)."),
    distill: bool = typer.Option(True, help="Warm start: the student also learns the MS MARCO cross-encoder's margins."),
    blend: bool = typer.Option(True, help="Fit the hybrid (model + BM25 + zero-shot) on validation; it ships "
                               "when it beats the model alone there."),
):
    """Run the whole pipeline on this machine (kfp.local) and print a summary."""
    from shoprank.pipelines.local_run import collect_stage_outputs, latest_run_dir, run_locally
    from shoprank.pipelines.run_failure import failure_reason, last_traceback
    from shoprank.core.clicks.policy import check_policy
    from shoprank.pipelines.run_options import check_run_options
    from shoprank.pipelines.train_and_deploy import train_and_deploy

    check_run_options(value_method=value_method, value_policy=value_policy, train_loss=train_loss,
                      train_epochs=train_epochs, train_max_steps=train_max_steps, train_max_minutes=train_max_minutes,
                      train_max_length=train_max_length, baselines=baselines, min_ndcg=min_ndcg,
                      min_gain_over_champion=min_gain_over_champion, champion=champion, seed=seed,
                      gate_rule=_gate_rule(beat_baselines, gate_margin, gate_min_queries, gate_alpha, require_significance),
                      tune_trials=tune_trials, tune_minutes=tune_minutes)
    check_policy(clicks)

    # kfp.local warns that display names and the cluster image do not apply locally; expected here.
    warnings.filterwarnings("ignore", module=r"kfp\.local")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if data is None:
        from shoprank.core.data.sample.generator import SampleConfig, generate_sample

        data = generate_sample(SampleConfig(seed=seed)).write(out / "data")
        console.print(f"built-in sample data (seed {seed}) written to {data}")
    data = data.resolve()
    if not data.is_dir():
        console.print(f"[red]expected a data folder at {data}, found none[/red]")
        raise typer.Exit(2)
    if champion is None and (champion := previous_champion(out)) is not None:
        console.print(f"champion: the model the last run left live ({champion})")
    log_path = out / "run.log"
    started = time.perf_counter()
    failure = None
    with open(log_path, "w", buffering=1) as log_file, contextlib.redirect_stdout(_ProgressTee(log_file, Console(file=sys.stdout))):
        try:
            run_locally(
                train_and_deploy, out, data_uri=str(data), split_seed=seed, seed=seed,
                value_method=value_method, value_policy=value_policy, train_loss=train_loss,
                train_epochs=train_epochs, train_max_steps=train_max_steps, train_max_minutes=train_max_minutes,
                train_max_length=train_max_length, min_ndcg=min_ndcg, min_gain_over_champion=min_gain_over_champion,
                price_limits=price_limits, low_price_words=low_price_words, spelling_notes=spelling_notes,
                tune_trials=tune_trials, tune_minutes=tune_minutes,
                champion_model_uri=str(champion.resolve()) if champion else "", baselines=baselines,
                embedding_cache_dir=str(out / "cache"), clicks_policy=clicks, personalise=personalise,
                distill_teacher="msmarco" if distill else "", blend=blend,
                **_gate_rule(beat_baselines, gate_margin, gate_min_queries, gate_alpha, require_significance),
            )
        except Exception as exc:  # kfp.local raises RuntimeError for a failed task
            failure = exc
    run_dir = latest_run_dir(out)
    stages = collect_stage_outputs(run_dir) if run_dir else {}
    summary = {
        "pipeline": DEFAULT_PIPELINE, "data": str(data), "run_dir": str(run_dir) if run_dir else None,
        "log": str(log_path), "seconds": round(time.perf_counter() - started, 1),
        "succeeded": failure is None, "stages": stages, "rankers": _rankers(stages), "verdict": _verdict(stages),
        "canary": canary_outcome(stages),
    }
    summary["shipped"] = (summary["verdict"] or {}).get("shipped")
    record_champion(out, summary["canary"])
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    _print_summary(summary)
    if failure is not None:
        from rich.markup import escape

        from shoprank.pipelines.cli_app import OPTIONS

        if OPTIONS.verbose:
            import traceback

            console.print(last_traceback(log_path) or "".join(traceback.format_exception(failure)).rstrip(),
                          markup=False, highlight=False, soft_wrap=True)
        console.print(f"[red bold]run stopped[/red bold] {escape(failure_reason(log_path, failure))}", soft_wrap=True)
        console.print(f"full log: {log_path}")
        raise typer.Exit(1)


def _gate_rule(beat_baselines: bool, margin: float, min_queries: int, alpha: float, require_significance: bool) -> dict:
    """The gate options as train_and_deploy's parameters."""
    return dict(beat_baselines=beat_baselines, gate_margin=margin, gate_min_queries=min_queries, gate_alpha=alpha,
                require_significance=require_significance)


_RANKER_METRIC = re.compile(r"^(?P<ranker>.+)_(?P<split>validation|test)_(?P<name>ndcg@10|mrr|recall@10|queries"
                            r"|queries_with_relevant|queries_total|left_out_\w+)$")


def _rankers(stages: dict) -> dict:
    """Ranking metrics and query counts per ranker and split, from stage metrics named <ranker>_<split>_<name>."""
    rankers: dict = {}
    for stage in stages.values():
        for name, value in stage["metrics"].items():
            match = _RANKER_METRIC.match(name)
            if match:
                rankers.setdefault(match["ranker"], {}).setdefault(match["split"], {})[match["name"]] = value
    return rankers


def _verdict(stages: dict) -> dict | None:
    """The evaluation gate's answer: blessed or not, and why."""
    for stage in stages.values():
        evaluation = stage.get("metadata", {}).get("evaluation")
        if evaluation and "blessed" in evaluation:
            return {"blessed": bool(evaluation["blessed"]), "reason": evaluation.get("reason", ""),
                    **{key: evaluation[key] for key in ("shipped", "versus") if key in evaluation}}
    return None


def _relative(path: str, base: Path | None) -> str:
    try:
        return str(Path(path).relative_to(base)) if base else path
    except ValueError:
        return path


def _print_summary(summary: dict) -> None:
    run_dir = Path(summary["run_dir"]) if summary["run_dir"] else None
    table = Table(title=f"shoprank run ({summary['seconds']} s); artifacts under {run_dir}")
    table.add_column("stage")
    table.add_column("artifacts (relative to the run folder)")
    for task, stage in summary["stages"].items():
        files = [_relative(v, run_dir) for k, v in stage["artifacts"].items() if k != "metrics"]
        table.add_row(task + (" [red](failed)[/red]" if stage.get("failed") else ""), "\n".join(files) or "-")
    console.print(table)
    if summary["rankers"]:
        print_quality_table(console, summary["rankers"])
    if summary.get("verdict"):
        blessed = summary["verdict"]["blessed"]
        colour = "green" if blessed else "yellow"
        # The gate's reason starts with its own "blessed: " / "not blessed: "; the headline says it once.
        reason = re.sub(r"^(not )?blessed: ", "", summary["verdict"]["reason"])
        console.print(f"[{colour} bold]{'BLESSED' if blessed else 'NOT BLESSED'}[/{colour} bold]: {reason}")
    if summary.get("canary"):
        canary = summary["canary"]
        console.print(f"[bold]CANARY {canary['verdict'].upper()}[/bold]: {canary['reason']}; live model: {canary['live_model_dir']}")
    console.print(f"summary: {Path(summary['log']).parent / 'summary.json'}")
