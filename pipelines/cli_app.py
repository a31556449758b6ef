"""The `shoprank` typer app, its console and global options; commands register on it from their own modules."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="shoprank: a Kubeflow reranker for e-commerce search.")
console = Console()
DEFAULT_PIPELINE = "shoprank-train-and-deploy"


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level.")):
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s")
