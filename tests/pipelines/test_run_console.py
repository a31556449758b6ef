"""What `shoprank run` shows on the console while components run: stage lines and progress lines."""

import io
import logging

from rich.console import Console

from shoprank.core.common.progress import ProgressLog
from shoprank.pipelines.run_command import _ProgressTee

log = logging.getLogger("shoprank.test_run_console")


def test_console_shows_progress_lines_and_the_log_keeps_everything(caplog):
    caplog.set_level(logging.INFO)
    ProgressLog(log, "knn-shapley", 10, "validation points", interval_s=0.0).advance(10)
    (progress_line,) = [r.getMessage() for r in caplog.records if r.name == log.name]
    log_file, console_out = io.StringIO(), io.StringIO()
    tee = _ProgressTee(log_file, Console(file=console_out, width=40))  # narrower than a line: no wrapping
    component_output = (
        "    [KFP Executor 2026-01-01 00:00:00,000 INFO]: Got executor_input:\n"
        f"    [KFP Executor 2026-01-01 00:00:01,000 INFO]: {progress_line}\n"
        "    [KFP Executor 2026-01-01 00:00:02,000 INFO]: valuation: ratio 1/2 of rows\n"
    )
    tee.write(component_output[:50])  # lines arrive in pieces
    tee.write(component_output[50:])
    assert log_file.getvalue() == component_output
    shown = console_out.getvalue().splitlines()
    assert len(shown) == 1 and shown[0].endswith(progress_line)


def test_console_says_whether_the_run_personalises():
    log_file, console_out = io.StringIO(), io.StringIO()
    tee = _ProgressTee(log_file, Console(file=console_out, width=400))
    line = ("[KFP Executor 2026-01-01 00:00:00,000 INFO]: train: personalise off: the data has no interactions "
            "table (no sessions to learn from)")
    tee.write(line + "\n[KFP Executor 2026-01-01 00:00:01,000 INFO]: sessions: written\n")
    assert console_out.getvalue().splitlines() == [line]
