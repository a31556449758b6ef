"""Wall-clock timing shared by the benchmark scripts (standard library only: the pyDVL workers of
valuation.py import it from their own virtual environment)."""

from __future__ import annotations

import statistics
import time


def timed(fn, repeats: int):
    """Run fn `repeats` times; its last result and the median wall seconds."""
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    return result, statistics.median(seconds)
