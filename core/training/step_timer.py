"""Seconds per training step, measured without making the host wait for the GPU.

On CPU a step's time is the wall time of its call. On CUDA the call returns once its kernels
are queued, so the time comes from CUDA events recorded at the step's start and end: the
stream's own clock, read once when the times are asked for. Synchronising after each step
instead would keep the host from queueing the next step while the GPU runs this one.
"""

from __future__ import annotations

import time


class StepTimer:
    def __init__(self, device: str):
        self.on_cuda = device.startswith("cuda")
        self._done: list[float] = []
        self._pending: list[tuple] = []  # CUDA (start, end) events not yet read
        self._started = None

    def start(self) -> None:
        if self.on_cuda:
            import torch

            self._started = torch.cuda.Event(enable_timing=True)
            self._started.record()
        else:
            self._started = time.perf_counter()

    def stop(self) -> None:
        if self.on_cuda:
            import torch

            ended = torch.cuda.Event(enable_timing=True)
            ended.record()
            self._pending.append((self._started, ended))
            # Read the steps the GPU has finished (without waiting), so a long run holds few events.
            while self._pending and self._pending[0][1].query():
                start, end = self._pending.pop(0)
                self._done.append(start.elapsed_time(end) / 1000)
        else:
            self._done.append(time.perf_counter() - self._started)

    def seconds(self) -> list[float]:
        """Every step's seconds so far (on CUDA: waits for the last recorded step to finish)."""
        if self._pending:
            self._pending[-1][1].synchronize()
            self._done.extend(start.elapsed_time(end) / 1000 for start, end in self._pending)
            self._pending.clear()
        return list(self._done)
