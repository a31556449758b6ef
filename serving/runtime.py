"""Load the model folder into the runtime that scores it fastest here, and say which at start-up.

CPU: int8 ONNX Runtime (dynamic quantisation; VNNI int8 dot products where the CPU has them) by
default; torch bf16 where the CPU runs bf16 natively and a timed warm-up batch shows it faster;
fp32 ONNX or torch by option. CUDA: torch in bf16 (fp16 on GPUs without bf16) with length
buckets; int8 ONNX is slow on GPUs (and this onnxruntime build runs on the CPU), so auto never
picks it there.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from shoprank.core.common.errors import ConfigError

log = logging.getLogger(__name__)

# A warm-up batch like a served request: 50 candidates of mixed length.
_WARMUP_QUERY = "wireless noise cancelling headphones under $100"
_WARMUP_TEXTS = [f"{'acme ' * (i % 9)}over-ear headphones model {i} | brand: acme | category: audio > "
                 f"headphones | price: ${20 + i}.00" for i in range(50)]


@dataclass
class LoadedRuntime:
    ranker: object        # a core.ranking.reranker Reranker or OnnxReranker
    name: str             # onnx-int8 | onnx | torch-fp32 | torch-bf16 | torch-fp16
    device: str           # cpu | cuda
    threads: int
    timings_ms: dict      # warm-up batch time of each runtime tried


def cpu_threads(requested: int = 0) -> int:
    """The threads to use: requested, else the cores this process may run on."""
    if requested:
        return requested
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def load_runtime(model_dir: str | Path, runtime: str = "auto", precision: str = "auto",
                 threads: int = 0) -> LoadedRuntime:
    """The ranker for model_dir (an artifact folder with hf/, model.onnx, model.int8.onnx)."""
    from shoprank.core.common.precision import cpu_has_native_bf16

    threads = cpu_threads(threads)
    device = _device() if runtime in ("auto", "torch") else "cpu"  # ONNX alone starts without importing torch
    if runtime == "auto":
        if device == "cuda":
            return _timed(lambda: _torch(model_dir, device, "fp16" if precision == "fp16" else "auto", threads))
        int8 = _timed(lambda: _onnx(model_dir, True, threads))
        if not cpu_has_native_bf16() or precision == "fp32":
            return int8
        bf16 = _timed(lambda: _torch(model_dir, "cpu", "bf16", threads))
        best = min((int8, bf16), key=lambda r: r.timings_ms[r.name])
        best.timings_ms = {**int8.timings_ms, **bf16.timings_ms}
        return best
    if runtime in ("onnx", "onnx-int8"):
        return _timed(lambda: _onnx(model_dir, runtime == "onnx-int8", threads))
    if runtime == "torch":
        return _timed(lambda: _torch(model_dir, device, precision, threads))
    raise ConfigError(f"runtime must be auto, onnx-int8, onnx or torch, got {runtime!r}")


def _device() -> str:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a runtime dependency
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def _onnx(model_dir, quantized: bool, threads: int) -> LoadedRuntime:
    from shoprank.core.ranking.reranker import OnnxReranker

    ranker = OnnxReranker.load(model_dir, quantized=quantized, threads=threads)
    return LoadedRuntime(ranker, "onnx-int8" if quantized else "onnx", "cpu", threads, {})


def _torch(model_dir, device: str, precision: str, threads: int) -> LoadedRuntime:
    import torch

    from shoprank.core.ranking.reranker import Reranker

    if device == "cpu":
        torch.set_num_threads(threads)
    fp16 = precision == "fp16"
    if fp16 and device != "cuda":
        raise ConfigError("precision fp16 needs a CUDA GPU; on the CPU use bf16 or fp32")
    ranker = Reranker.load(model_dir, device=device, precision="fp32" if fp16 else precision)
    if fp16 or (device == "cuda" and not ranker.use_bf16):
        ranker.model.half()  # GPUs without bf16: fp16 weights, logits read back as float32
        fp16 = True
    name = "torch-fp16" if fp16 else f"torch-{'bf16' if ranker.use_bf16 else 'fp32'}"
    return LoadedRuntime(ranker, name, device, threads, {})


def _timed(make) -> LoadedRuntime:
    """Load, then score the warm-up batch twice (the first run plans kernels) and time the second."""
    loaded = make()
    queries = [_WARMUP_QUERY] * len(_WARMUP_TEXTS)
    loaded.ranker.score_pairs(queries, _WARMUP_TEXTS)
    start = time.perf_counter()
    loaded.ranker.score_pairs(queries, _WARMUP_TEXTS)
    loaded.timings_ms = {loaded.name: round((time.perf_counter() - start) * 1000, 2)}
    return loaded
