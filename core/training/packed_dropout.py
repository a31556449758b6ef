"""Dropout for CPU training whose masks cost a fraction of torch's.

torch's CPU dropout draws one random number per element (`bernoulli_`): a tenth of a MiniLM
training step on 2 cores. Here one 64-bit draw gives four 16-bit uniforms, each compared with a
threshold, so a mask takes a quarter of the draws and no float conversion. The drop probability
is p rounded to a multiple of 1/65536 (0.1 -> 0.100006); kept values are scaled by 1 / (1 - p)
as torch's are, and the masks come from torch's seeded CPU generator, so the same seed gives the
same masks and a checkpoint's RNG state resumes them.
"""

from __future__ import annotations

import functools
import math

_LEVELS = 1 << 16           # a 16-bit uniform's values
_INT16_MIN = -(1 << 15)


def keep_mask(shape, p: float, device="cpu"):
    """A bool mask of `shape`, each element False with probability round(p * 65536) / 65536."""
    import torch

    n = math.prod(shape)
    words = torch.randint(-(1 << 63), (1 << 63) - 1, ((n + 3) // 4,), dtype=torch.int64, device=device)
    uniforms = words.view(torch.int16)[:n].view(shape)
    return uniforms >= _INT16_MIN + round(p * _LEVELS)


@functools.cache
def _packed_dropout_class():
    """The module class, made once on first use (torch is imported only then)."""
    import torch

    class MaskedScale(torch.autograd.Function):
        """x * mask * scale, keeping only the 1-byte mask for the backward pass."""

        @staticmethod
        def forward(ctx, x, mask, scale):
            ctx.save_for_backward(mask)
            ctx.scale = scale
            return x * mask * scale

        @staticmethod
        def backward(ctx, grad):
            (mask,) = ctx.saved_tensors
            return grad * mask * ctx.scale, None, None

    class PackedDropout(torch.nn.Module):
        """nn.Dropout's contract (train: drop with probability p and scale by 1 / (1 - p); eval:
        identity) with masks from keep_mask."""

        def __init__(self, p: float):
            super().__init__()
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"dropout probability must be in [0, 1], got {p}")
            self.p = p

        def forward(self, x):
            if not self.training or self.p == 0.0:
                return x
            if self.p == 1.0:
                return x * 0.0
            return MaskedScale.apply(x, keep_mask(x.shape, self.p, x.device), 1.0 / (1.0 - self.p))

        def extra_repr(self) -> str:
            return f"p={self.p}"

    return PackedDropout


def packed_dropout(p: float):
    """A PackedDropout module."""
    return _packed_dropout_class()(p)


def use_packed_dropout(model) -> int:
    """Replace every nn.Dropout in `model` with a PackedDropout of the same p; return how many.

    Attention-probability dropout is an nn.Dropout only in transformers' "eager" attention (SDPA
    draws its own masks), so load the model with attn_implementation="eager" first."""
    import torch

    cls = _packed_dropout_class()
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is torch.nn.Dropout:
                setattr(module, name, cls(child.p))
                replaced += 1
    return replaced
