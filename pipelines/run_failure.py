"""Why a local run stopped, in words: the error a component raised, or the one kfp.local raised after it.

A component's exception reaches the run log as a Python traceback inside kfp.local's streamed task
output; the *last* traceback's final exception is the one that stopped the task (earlier ones are
its causes). kfp.local can also fail a task after the task itself succeeded (it re-reads the
executor output: e.g. a NaN metric cannot be serialised), and then the log holds no error at all:
the exception run_locally raised is the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

_TASK_PLAIN = re.compile(r"Executing task \W*([\w-]+)")
_EXCEPTION = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Exit|Interrupt|Warning))(?::\s?(.*))?$")


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def last_task(lines: list[str]) -> str | None:
    """The task kfp.local started last (the one that was running when the run stopped)."""
    tasks = [m.group(1) for line in lines if (m := _TASK_PLAIN.search(_strip_ansi(line)))]
    return tasks[-1] if tasks else None


def last_exception(lines: list[str]) -> str | None:
    """The final exception of the last traceback in `lines`: "Type: message" (message lines joined)."""
    starts = [i for i, line in enumerate(lines) if line.strip() == "Traceback (most recent call last):"]
    if not starts:
        return None
    block = lines[starts[-1] + 1:]
    indent = len(lines[starts[-1]]) - len(lines[starts[-1]].lstrip())
    for i, line in enumerate(block):
        body = line[indent:] if len(line) - len(line.lstrip()) >= indent else line.lstrip()
        if not line.strip() or body.startswith((" ", "\t")):
            continue  # a frame ("  File ...") or its source line
        match = _EXCEPTION.match(body.strip())
        if not match:
            continue
        message = [match.group(2) or ""]
        for follow in block[i + 1:]:
            text = _strip_ansi(follow)
            if not text.strip() or "finished with status" in text or text.strip().startswith("---"):
                break
            message.append(text[indent:] if text[:indent].strip() == "" else text.strip())
        return f"{match.group(1)}: " + "\n".join(m for m in message).strip()
    return None


def last_traceback(log_path: Path) -> str | None:
    """The last Python traceback a component wrote to the run log, as it was printed (for --verbose)."""
    lines = _strip_ansi(Path(log_path).read_text(errors="replace")).splitlines() if Path(log_path).exists() else []
    starts = [i for i, line in enumerate(lines) if line.strip() == "Traceback (most recent call last):"]
    if not starts:
        return None
    block = []
    for line in lines[starts[-1]:]:
        if "finished with status" in line or line.strip().startswith("---"):
            break
        block.append(line)
    return "\n".join(block).rstrip()


def failure_reason(log_path: Path, exc: BaseException | None) -> str:
    """One message for why the run stopped, naming the stage: the component's error from the log,
    else the exception kfp.local raised (with its cause), else a pointer to the log."""
    lines = _strip_ansi(Path(log_path).read_text(errors="replace")).splitlines() if Path(log_path).exists() else []
    task = last_task(lines)
    where = f"in stage {task}: " if task else ""
    logged = last_exception(lines)
    if logged:
        return where + _without_type_for_typed(logged)
    if exc is not None:
        cause = exc.__cause__ or exc.__context__
        text = f"{type(exc).__name__}: {exc}"
        if cause is not None:
            text += f" (caused by {type(cause).__name__}: {cause})"
        return where + "kfp.local failed the task after it ran: " + text
    return "a task failed; see the log"


def _without_type_for_typed(text: str) -> str:
    """shoprank's typed errors speak for themselves: drop the class name; keep it for others."""
    name, _, message = text.partition(": ")
    typed = ("DataValidationError", "SchemaError", "ConfigError", "ShoprankError", "CheckpointError", "EndpointError")
    return message if name in typed else text
