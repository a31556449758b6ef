"""Where and in what precision a transformer forward pass runs (default device, bf16 or fp32),
and the context it runs in (bf16 autocast and the attention kernels).

Training, validation and inference share both, so a model is scored the way it was trained and
every encoder call on one machine embeds the same way.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from shoprank.core.common.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16")


def default_device() -> str:
    """A CUDA GPU when there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_bf16(precision: str, device: str) -> bool:
    """Whether to run bf16 autocast: when asked, or under "auto" where the hardware runs bf16
    natively: a CUDA GPU with bf16, or a CPU with AVX512-BF16 / AMX (2.4-2.9x faster there for
    MiniLM inference, about 2x for training; emulated elsewhere, so slower)."""
    import torch

    check_precision(precision)
    if precision != "auto":
        return precision == "bf16"
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}")


def cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def forward_context(device: str, use_bf16: bool):
    """bf16 autocast when use_bf16; on CUDA, scaled-dot-product attention without the cuDNN
    backend, which plans each new (batch, length) shape afresh: with dynamically padded batches
    that made a GPU step 3.6x slower (150 ms against 42 ms, MiniLM-L6, batch 32, H100)."""
    import torch

    device_type = device.split(":")[0]
    stack = contextlib.ExitStack()
    stack.enter_context(torch.autocast(device_type, dtype=torch.bfloat16, enabled=use_bf16))
    if device_type == "cuda":
        from torch.nn.attention import SDPBackend, sdpa_kernel

        stack.enter_context(sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
                                         SDPBackend.MATH]))
    return stack
