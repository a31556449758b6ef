"""`shoprank run`: the whole pipeline on this machine (kfp.local), its console lines and summary."""

from __future__ import annotations

import contextlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from shoprank.core.common.progress import PROGRESS_LINE
from shoprank.pipelines.cli_app import DEFAULT_PIPELINE, app, console


class _ProgressTee:
    """Stands in for stdout during a local run: everything goes to the log file; kfp.local's task
    start/finish lines, the training steps and the long loops' progress lines (core.progress)
    also reach the console, so a long run shows it is alive.
    The sink must write to the real stdout, not to this object."""

    MARKERS = ("Executing task", "finished with status", " train: step", " train: done", " tune: trial", " tune: best")

    def __init__(self, log_file, sink):
        self.log_file = log_file
        self.sink = sink
        self._pending = ""

    def write(self, text: str) -> int:
        self.log_file.write(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if any(marker in line for marker in self.MARKERS) or PROGRESS_LINE.search(line):
                self.sink.print(_strip_ansi(line).strip(), highlight=False, soft_wrap=True)  # one line each, in a log too
        return len(text)

    def flush(self) -> None:
        self.log_file.flush()


def _strip_ansi(text: str) -> str:
    import re

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
    tune_trials: int = typer.Option(8, help="Hyperparameter search: configs tried (ASHA stops weak ones); 0 = no search."),
    tune_minutes: float = typer.Option(4.0, help="Hyperparameter search: time budget in minutes (whichever ends first)."),
    min_ndcg: float = typer.Option(-1.0, help="Blessing floor on NDCG@10; negative = not configured (never blessed)."),
    min_gain_over_champion: float = typer.Option(-1.0, help="Required NDCG@10 gain over the champion; -1 = not configured."),
    champion: Optional[Path] = typer.Option(None, help="The current champion's model folder, if any."),
    baselines: str = typer.Option("bm25,zeroshot,msmarco", help="Baselines the evaluation compares against."),
):
    """Run the whole pipeline on this machine (kfp.local) and print a summary."""
    from shoprank.pipelines.local_run import collect_stage_outputs, latest_run_dir, run_locally
    from shoprank.pipelines.train_and_deploy import train_and_deploy

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
    log_path = out / "run.log"
    started = time.perf_counter()
    failure = None
    with open(log_path, "w", buffering=1) as log_file, contextlib.redirect_stdout(_ProgressTee(log_file, Console(file=sys.stdout))):
        try:
            run_locally(
                train_and_deploy, out, data_uri=str(data), split_seed=seed, seed=seed,
                value_method=value_method, value_policy=value_policy, train_loss=train_loss,
                train_epochs=train_epochs, train_max_steps=train_max_steps, train_max_minutes=train_max_minutes,
                tune_trials=tune_trials, tune_minutes=tune_minutes,
                min_ndcg=min_ndcg, min_gain_over_champion=min_gain_over_champion,
                champion_model_uri=str(champion.resolve()) if champion else "", baselines=baselines,
                embedding_cache_dir=str(out / "cache"),
            )
        except Exception as exc:  # kfp.local raises RuntimeError for a failed task
            failure = exc
    run_dir = latest_run_dir(out)
    stages = collect_stage_outputs(run_dir) if run_dir else {}
    summary = {
        "pipeline": DEFAULT_PIPELINE, "data": str(data), "run_dir": str(run_dir) if run_dir else None,
        "log": str(log_path), "seconds": round(time.perf_counter() - started, 1),
        "succeeded": failure is None, "stages": stages, "rankers": _rankers(stages), "verdict": _verdict(stages),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    _print_summary(summary)
    if failure is not None:
        console.print(f"[red bold]run stopped:[/red bold] {_failure_reason(log_path)}")
        console.print(f"full log: {log_path}")
        raise typer.Exit(1)


def _rankers(stages: dict) -> dict:
    """Ranking metrics per ranker and split, read from stage metrics named <ranker>_<split>_<metric>."""
    rankers: dict = {}
    for stage in stages.values():
        for name, value in stage["metrics"].items():
            parts = name.split("_")
            if len(parts) >= 3 and parts[-2] in ("validation", "test") and parts[-1] in ("ndcg@10", "mrr", "recall@10"):
                ranker = "_".join(parts[:-2])
                rankers.setdefault(ranker, {}).setdefault(parts[-2], {})[parts[-1]] = value
    return rankers


def _verdict(stages: dict) -> dict | None:
    """The evaluation gate's answer: blessed or not, and why."""
    for stage in stages.values():
        evaluation = stage.get("metadata", {}).get("evaluation")
        if evaluation and "blessed" in evaluation:
            return {"blessed": bool(evaluation["blessed"]), "reason": evaluation.get("reason", "")}
    return None


def _failure_reason(log_path: Path) -> str:
    """The typed error a component raised, read from the run log."""
    lines = log_path.read_text(errors="replace").splitlines()
    markers = ("DataValidationError:", "SchemaError:", "ConfigError:", "ShoprankError:")
    for i, line in enumerate(lines):
        if any(marker in line for marker in markers):
            message = []
            for follow in lines[i : i + 40]:
                if follow.startswith("---") or "finished with status" in follow:
                    break
                message.append(follow)
            return "\n".join(message).strip()
    errors = [line.strip() for line in lines if "Error" in line]
    return errors[-1] if errors else "a task failed; see the log"


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
        ranking = Table(title="ranking quality (held-out queries)")
        for col in ("ranker", "split", "NDCG@10", "MRR", "Recall@10"):
            ranking.add_column(col)
        for ranker, splits in summary["rankers"].items():
            for split, m in splits.items():
                ranking.add_row(ranker, split, *(f"{m.get(k, float('nan')):.4f}" for k in ("ndcg@10", "mrr", "recall@10")))
        console.print(ranking)
    if summary.get("verdict"):
        blessed = summary["verdict"]["blessed"]
        colour = "green" if blessed else "yellow"
        console.print(f"[{colour} bold]{'BLESSED' if blessed else 'NOT BLESSED'}[/{colour} bold]: {summary['verdict']['reason']}")
    console.print(f"summary: {Path(summary['log']).parent / 'summary.json'}")
