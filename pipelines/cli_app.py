"""The `shoprank` typer app, its console and global options; commands register on it from their own modules.

Every command's error goes through one handler (pipelines/cli_errors.py): the message and exit
code 1, the traceback only with `shoprank --verbose`.
"""

from __future__ import annotations

import logging

import typer
from rich.console import Console

from shoprank.pipelines.cli_errors import report_error

console = Console()
DEFAULT_PIPELINE = "shoprank-train-and-deploy"


class _Options:
    verbose = False


OPTIONS = _Options()


class ShoprankApp(typer.Typer):
    """A typer app whose commands' exceptions print their message instead of a boxed traceback."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:  # click already turned usage errors and typer.Exit into SystemExit
            raise SystemExit(report_error(exc, OPTIONS.verbose)) from None


app = ShoprankApp(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="shoprank: a Kubeflow reranker for e-commerce search.")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level; show tracebacks of errors.")):
    OPTIONS.verbose = verbose
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s")
