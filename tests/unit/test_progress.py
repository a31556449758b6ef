"""Progress lines of long loops: a line per interval, none for a short loop."""

import logging

import shoprank.core.common.progress as progress_module
from shoprank.core.common.progress import PROGRESS_LINE, ProgressLog
from support.clock import StepClock

log = logging.getLogger("shoprank.test_progress")


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == log.name]


def test_a_loop_logs_each_interval_and_its_end(caplog):
    caplog.set_level(logging.INFO)
    progress = ProgressLog(log, "embeddings", 100, "texts", interval_s=0.0)
    for _ in range(4):
        progress.advance(25)
    lines = _lines(caplog)
    assert [line.split(" (")[0] for line in lines] == [f"embeddings: {n}/100 texts" for n in (25, 50, 75, 100)]
    assert all(PROGRESS_LINE.search(line) for line in lines)


def test_a_loop_that_ends_within_the_interval_logs_nothing(caplog, monkeypatch):
    # A scoring call per served request must stay quiet; the clock says each call takes 10 s.
    monkeypatch.setattr(progress_module, "time", StepClock(10.0))
    caplog.set_level(logging.INFO)
    progress = ProgressLog(log, "reranker", 64, "pairs", interval_s=60.0)
    progress.advance(32)
    progress.advance(32)
    assert _lines(caplog) == []


def test_a_line_every_interval_of_the_clock(caplog, monkeypatch):
    monkeypatch.setattr(progress_module, "time", StepClock(10.0))  # 10 s between calls
    caplog.set_level(logging.INFO)
    progress = ProgressLog(log, "embeddings", 6, "texts", interval_s=15.0)
    for _ in range(6):
        progress.advance(1)
    # 20 s after the start, then 20 s later, then the end (a loop that logged says when it ends).
    assert [line.split(" (")[0] for line in _lines(caplog)] == [f"embeddings: {n}/6 texts" for n in (2, 4, 6)]
