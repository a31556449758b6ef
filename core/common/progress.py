"""Progress lines for long loops: a log line every few seconds, none for a loop that ends sooner.

A loop that encodes a large catalogue or scores many pairs can run for minutes inside a pipeline
stage; a line now and then tells the person watching that it is alive and how far it has got.
The same loops run per request when a model serves, where they finish well within the interval
and so log nothing.
"""

from __future__ import annotations

import logging
import re
import time

INTERVAL_S = 15.0
# "<what>: <done>/<total> <unit> (<seconds>s)": the CLI shows lines of this shape on the console.
PROGRESS_LINE = re.compile(r": \d+/\d+ [\w ]+ \(\d+s\)")


class ProgressLog:
    """Counts units of work done; logs "<what>: <done>/<total> <unit> (<seconds>s)" at most every
    `interval_s`, and once at the end when it logged before."""

    def __init__(self, logger: logging.Logger, what: str, total: int, unit: str, interval_s: float = INTERVAL_S):
        self.logger, self.what, self.total, self.unit, self.interval_s = logger, what, total, unit, interval_s
        self.done = 0
        self.started = self.last_line = time.monotonic()
        self.lines = 0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        finished = self.done >= self.total
        if now - self.last_line >= self.interval_s or (finished and self.lines):
            self.logger.info("%s: %d/%d %s (%ds)", self.what, self.done, self.total, self.unit, now - self.started)
            self.last_line, self.lines = now, self.lines + 1
