"""Progress lines of long loops: a line per interval, none for a short loop."""

import logging

from shoprank.core.common.progress import PROGRESS_LINE, ProgressLog

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


def test_a_loop_that_ends_within_the_interval_logs_nothing(caplog):
    # A scoring call per served request must stay quiet.
    caplog.set_level(logging.INFO)
    progress = ProgressLog(log, "reranker", 64, "pairs", interval_s=60.0)
    progress.advance(32)
    progress.advance(32)
    assert _lines(caplog) == []
