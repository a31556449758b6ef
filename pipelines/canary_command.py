"""`shoprank canary`: the local canary between two model folders, with simulated shoppers."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shoprank.pipelines.cli_app import app, console


@app.command()
def canary(
    stable: Path = typer.Option(..., help="Model folder serving now (the champion)."),
    candidate: Path = typer.Option(..., help="Model folder to canary."),
    data: Optional[Path] = typer.Option(None, help="Tables the shoppers' queries and clicks come from; default: the built-in sample."),
    out: Path = typer.Option(Path("shoprank-canary"), help="Where decision.md, decision.html, canary.json and the server logs go."),
    mode: str = typer.Option("interleave", help="interleave (team-draft pages, sign test) or split (CTR / purchase rate)."),
    seed: int = typer.Option(0, help="Seed of the shoppers and of the interleaving."),
    max_sessions: int = typer.Option(3000, help="Shopper sessions before the canary gives up (rollback)."),
    check_every: int = typer.Option(25, help="Finished sessions between two decisions."),
    min_requests: int = typer.Option(50, help="Candidate requests per step before any verdict."),
    min_sessions: int = typer.Option(50, help="Sessions of ranking evidence before a ranking verdict."),
    min_success_rate: float = typer.Option(0.99, help="SLO: share of candidate requests that succeed."),
    max_p99_ms: float = typer.Option(500.0, help="SLO: p99 latency bound of the candidate, ms (when the stable breaks it "
                                                 "too, the shared machine is slow: within 1.5x the stable's p99 passes)."),
    runtime: Optional[str] = typer.Option(None, help="`shoprank serve --runtime` for both servers (default: serve's)."),
):
    """Serve STABLE and CANDIDATE locally, replay simulated shoppers through a canary router, and
    promote or roll back the candidate on SLOs and ranking evidence."""
    from shoprank.core.canary.shoppers import SimulatedShoppers
    from shoprank.core.common.errors import ShoprankError
    from shoprank.serving.local_canary import LocalCanaryConfig, local_canary
    from shoprank.serving.rollout_stages import policy_from_params

    try:
        for name, folder in (("stable", stable), ("candidate", candidate)):
            if not folder.is_dir():
                raise typer.BadParameter(f"expected a model folder, found none at {folder}", param_hint=f"--{name}")
        policy = policy_from_params(min_requests, min_sessions, min_success_rate, max_p99_ms, mode)
        config = LocalCanaryConfig(mode=mode, policy=policy, check_every=check_every, max_sessions=max_sessions, seed=seed,
                                   serve_args=("--runtime", runtime) if runtime else ())
        shoppers = SimulatedShoppers(_tables(data), seed=seed)
        result = local_canary(stable.resolve(), candidate.resolve(), shoppers, out, config)
    except ShoprankError as exc:
        console.print(f"[red bold]canary failed:[/red bold] {exc}")
        raise typer.Exit(2)
    colour = "green" if result.promoted else "yellow"
    console.print(f"[{colour} bold]{result.final.verdict.upper()}[/{colour} bold]: {result.final.reason}")
    failed = sum(result.shopper_failures.values())
    console.print(f"{result.sessions} shopper sessions, {failed} failed searches, {result.seconds} s; decision page: "
                  f"{out / 'decision.html'}")


def _tables(data: Path | None) -> dict:
    if data is None:
        from shoprank.core.data.sample.generator import SampleConfig, generate_sample

        return generate_sample(SampleConfig()).tables
    from shoprank.core.data.schema import read_tables

    return read_tables(data)
