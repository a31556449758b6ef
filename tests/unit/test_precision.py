"""The precision and forward-pass context shared by training, validation, inference and the encoder."""

import pytest
import torch

from shoprank.core.common.errors import ConfigError
from shoprank.core.common.precision import cpu_has_native_bf16, forward_context, resolve_bf16


@pytest.mark.parametrize("use_bf16, dtype", [(True, torch.bfloat16), (False, torch.float32)])
def test_forward_context_sets_the_matmul_precision(use_bf16, dtype):
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with forward_context("cpu", use_bf16):
        assert (a @ b).dtype == dtype
    assert (a @ b).dtype == torch.float32  # leaves no state behind


def test_precision_resolves_auto_to_what_the_hardware_runs_natively():
    assert resolve_bf16("auto", "cpu") == cpu_has_native_bf16()
    assert resolve_bf16("bf16", "cpu") is True and resolve_bf16("fp32", "cpu") is False
    with pytest.raises(ConfigError, match=r"precision must be one of \('auto', 'fp32', 'bf16'\), got 'fp16'"):
        resolve_bf16("fp16", "cpu")
    from shoprank.core.training.config import TrainConfig

    with pytest.raises(ConfigError, match="precision must be one of .*got 'fp16'"):
        TrainConfig(precision="fp16")  # refused when configured, before any device is chosen


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_forward_context_keeps_attention_off_cudnn():
    before = torch.backends.cuda.cudnn_sdp_enabled()
    q = torch.randn(2, 4, 16, 32, device="cuda", dtype=torch.bfloat16)
    with forward_context("cuda", True):
        assert not torch.backends.cuda.cudnn_sdp_enabled()
        out = torch.nn.functional.scaled_dot_product_attention(q, q, q)
    assert out.shape == q.shape and out.dtype == torch.bfloat16
    assert torch.backends.cuda.cudnn_sdp_enabled() == before
