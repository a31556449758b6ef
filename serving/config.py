"""The server's settings: one frozen dataclass with documented defaults (CLI flags map onto it)."""

from __future__ import annotations

import dataclasses

from shoprank.core.common.errors import ConfigError
from shoprank.core.data.schema import QUERY_MAX_CHARS

RUNTIMES = ("auto", "onnx-int8", "onnx", "torch")


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """How the predictor loads, batches, caches and guards.

    runtime "auto": on a CUDA GPU torch in bf16 (fp16 where the GPU lacks bf16), never int8 ONNX
    (slow there); on a CPU int8 ONNX Runtime, unless the CPU has native bf16 and torch bf16 scored a
    warm-up batch faster at start-up (timed, both figures logged).
    """

    runtime: str = "auto"             # auto | onnx-int8 | onnx | torch
    precision: str = "auto"           # torch only: auto (bf16 where native) | fp32 | bf16 | fp16 (GPU)
    threads: int = 0                  # CPU threads for the model; 0 = every core this process may use
    batch_size: int = 64              # most pairs in one forward pass
    max_batch_tokens: int = 4096      # most padded token slots in one forward pass (pairs x longest)
    batch_wait_ms: float = 2.0        # how long an idle scorer waits for more requests to batch with
    max_batch_pairs: int = 512        # most pairs taken into one pass over queued requests (a larger
                                      # request still gets a pass of its own)
    cache_entries: int = 200_000      # LRU score cache size (pairs); 0 = off
    max_candidates: int = 1000        # per query; more is answered 413
    max_instances: int = 64           # queries per v1 request; more is answered 413
    max_query_chars: int = QUERY_MAX_CHARS  # the queries contract's limit (core/data/schema.py)
    max_field_chars: int = 4096       # per candidate text field (title, description, ...); more is 413
    max_body_bytes: int = 8 * 1024 * 1024  # request bodies above this are answered 413 unread
    token: str | None = None          # bearer token every non-health route needs; None = no auth
    request_log_dir: str | None = None  # JSON Lines request log (core/data/request_log.py); None = off
    verify_manifest: bool = True      # refuse a model folder that does not match its manifest.json

    def __post_init__(self):
        if self.runtime not in RUNTIMES:
            raise ConfigError(f"runtime must be one of {RUNTIMES}, got {self.runtime!r}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")
        for name in ("batch_size", "max_batch_tokens", "max_batch_pairs", "max_candidates", "max_instances",
                     "max_query_chars", "max_field_chars", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("threads", "cache_entries", "batch_wait_ms"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.token is not None and not self.token.strip():
            raise ConfigError("token must be a non-empty string or None, got an empty one")
