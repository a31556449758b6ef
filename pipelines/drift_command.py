"""`shoprank drift`: compare two windows of traffic on this machine and print the on-call summary.

Exit codes, so a cron job can act on them: 0 no drift, 3 drift, 4 not enough data to test,
1 bad input (the message says what was expected and what arrived).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from shoprank.pipelines.cli_app import app, console

EXIT_CODES = {"no drift": 0, "drift": 3, "not enough data": 4}
EXIT_BAD_INPUT = 1


@app.command()
def drift(
    reference: Path = typer.Option(..., help="Reference window: a folder with interactions (+ products, queries, "
                                             "requests-*.jsonl) or an interactions file."),
    current: Path = typer.Option(..., help="Current window, laid out as the reference."),
    out: Path = typer.Option(Path("drift-out"), help="Where drift_report.html and drift_verdict.json go."),
    reference_requests: Optional[Path] = typer.Option(None, help="The reference window's request-log folder, if elsewhere."),
    current_requests: Optional[Path] = typer.Option(None, help="The current window's request-log folder, if elsewhere."),
    config_json: str = typer.Option("", help='Drift config as JSON, e.g. \'{"signals": {"shown.price": '
                                             '{"method": "wasserstein", "threshold": 0.1}}}\'; the options below override it.'),
    seed: Optional[int] = typer.Option(None, help="Seed of every sample drawn (default 0)."),
    family_alpha: Optional[float] = typer.Option(None, help="False-alarm rate over all signals (default 0.01)."),
    max_units: Optional[int] = typer.Option(None, help="Units per window each test sees at most (default 5000)."),
    min_units: Optional[int] = typer.Option(None, help="Fewer units than this: 'not enough data' (default 30)."),
    embeddings: bool = typer.Option(True, help="Compare query texts through encoder embeddings (the slow part)."),
    pushgateway: str = typer.Option("", help="Prometheus Pushgateway URL to publish the verdict to (shoprank_drift_detected)."),
    model_name: str = typer.Option("shoprank", help="The model_name label of the published verdict."),
):
    """Compare a current window of traffic with a reference window; exit 0 no drift, 3 drift, 4 not enough data."""
    import dataclasses

    from shoprank.core.common.errors import ShoprankError
    from shoprank.core.drift.config import DriftConfig, SignalSpec
    from shoprank.core.stages.drift import rerun_command, run_drift_stage

    out, reference, current = out.resolve(), reference.resolve(), current.resolve()
    try:
        config = DriftConfig.from_json(config_json)
        overrides = {k: v for k, v in dict(seed=seed, family_alpha=family_alpha, max_units=max_units,
                                             min_units=min_units).items() if v is not None}
        if not embeddings:
            overrides["signals"] = {**config.signals, "queries.embedding": SignalSpec(enabled=False)}
        config = dataclasses.replace(config, **overrides)
        command = rerun_command(str(reference), str(current), str(out), config)
        if config.embedding_cache_dir is None:
            config = dataclasses.replace(config, embedding_cache_dir=str(out / "cache"))
        if reference_requests:
            command += f" --reference-requests {reference_requests}"
        if current_requests:
            command += f" --current-requests {current_requests}"
        result = run_drift_stage(reference, current, out / "drift_report.html", out / "drift_verdict.json", config,
                                 reference_requests=str(reference_requests) if reference_requests else None,
                                 current_requests=str(current_requests) if current_requests else None, rerun=command,
                                 pushgateway=pushgateway, model_name=model_name)
    except ShoprankError as exc:
        console.print(f"[red bold]drift check stopped:[/red bold] {exc}", soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    print_summary(result, out)
    raise typer.Exit(EXIT_CODES[result["verdict"]])


def print_summary(result: dict, out: Path) -> None:
    """The page's one-screen summary on the console."""
    colour = {"drift": "red", "no drift": "green"}.get(result["verdict"], "yellow")
    headline = result["verdict"].upper() + (f" (severity {result['severity']})" if result["drifted"] else "")
    console.print(f"[{colour} bold]{headline}[/{colour} bold]: {result['signals_drifted']} of "
                  f"{result['signals_tested']} signals drifted"
                  + (f" ({', '.join(result['groups_drifted'])})" if result["groups_drifted"] else ""))
    if result["top_signals"]:
        top = Table(title="top drifted signals")
        for column in ("signal", "how it moved", "score", "method", "threshold"):
            top.add_column(column)
        for s in result["top_signals"]:
            threshold = "-" if s["threshold"] is None else f"{s['threshold']:.3g}"
            top.add_row(s["name"], s["change"], f"{s['score']:.3g}", s["method"], threshold)
        console.print(top)
    windows = Table(title="windows")
    for column in ("", "reference", "current"):
        windows.add_column(column)
    ref, cur = result["windows"]["reference"], result["windows"]["current"]
    for key in ("start", "end", "interactions", "searches", "distinct_queries", "requests"):
        if key in ref or key in cur:
            windows.add_row(key, str(ref.get(key, "-")), str(cur.get(key, "-")))
    for table_name, sizes in result["sample"].items():
        windows.add_row(f"units tested: {table_name}", str(sizes.get("reference")), str(sizes.get("current")))
    console.print(windows)
    console.print("[bold]next:[/bold]")
    for i, step in enumerate(result["next_steps"], start=1):
        console.print(f"  {i}. {step}", soft_wrap=True, highlight=False)
    console.print(f"page: {out / 'drift_report.html'}\nverdict: {out / 'drift_verdict.json'}")
    if result.get("pushed") is False:
        console.print(f"[red]verdict not published:[/red] {result['push_error']}", soft_wrap=True)
    console.print(f"rerun: {result['rerun_command']}", soft_wrap=True, highlight=False)
