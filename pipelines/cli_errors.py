"""How the `shoprank` CLI reports an error: the message and a non-zero exit, the traceback only with --verbose.

A typed error (shoprank.core.common.errors.ShoprankError) already says what was expected and what
arrived, so its message is all a user needs. Any other exception is a bug or an engine's error:
its type and message are shown, with a hint that `shoprank --verbose ...` prints the traceback.
"""

from __future__ import annotations

import traceback

from rich.console import Console
from rich.markup import escape

from shoprank.core.common.errors import ShoprankError

EXIT_ERROR = 1


def error_message(exc: BaseException) -> str:
    """The one-paragraph message for `exc` (typed errors: their message; others: type and message)."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, ShoprankError):
        return text
    return f"{type(exc).__name__}: {text}"


def report_error(exc: BaseException, verbose: bool, console: Console | None = None) -> int:
    """Print `exc` for a person (the traceback too when verbose); return the exit code."""
    console = console or Console(stderr=True)
    if verbose:
        console.print("".join(traceback.format_exception(exc)).rstrip(), markup=False, highlight=False, soft_wrap=True)
    console.print(f"[red bold]error:[/red bold] {escape(error_message(exc))}", highlight=False, soft_wrap=True)
    if not verbose and not isinstance(exc, ShoprankError):
        console.print("(run `shoprank --verbose ...` to see the traceback)", highlight=False)
    return EXIT_ERROR
