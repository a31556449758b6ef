"""A clock for the training loop that reads the same on any machine, so budget tests never hang on its speed."""

from __future__ import annotations

import time


class StepClock:
    """Stands in for the `time` module a module under test reads: perf_counter and monotonic
    advance by `seconds` on every call (the training loop reads perf_counter at a step's start and
    end, so each step lasts `seconds`); everything else is the real time module."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += self.seconds
        return self.now

    monotonic = perf_counter

    def __getattr__(self, name):
        return getattr(time, name)
