"""Packed-mask dropout: nn.Dropout's statistics and gradients from a quarter of the random draws,
seeded, and swapped into a real model whose inference it leaves unchanged."""

import json
import math

import pytest
import torch

from shoprank.core.training.packed_dropout import keep_mask, packed_dropout, use_packed_dropout
from support.tiny_model import tiny_model_dir, toy_pairs
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train
from shoprank.core.training.model_io import load_model

N = 1 << 20


def _within_sigmas(observed: float, p: float, n: int, sigmas: float = 5.0) -> bool:
    return abs(observed - p) <= sigmas * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drop_rate_is_p_rounded_to_a_16_bit_level(p):
    torch.manual_seed(0)
    dropped = (~keep_mask((N,), p)).float().mean().item()
    assert _within_sigmas(dropped, round(p * 65536) / 65536, N)


def test_neighbouring_elements_drop_independently():
    # Four elements share one 64-bit draw: a mask that reused bits would drop pairs together.
    torch.manual_seed(1)
    dropped = ~keep_mask((N // 4, 4), 0.5)
    for a, b in [(0, 1), (1, 2), (2, 3), (0, 3)]:
        both = (dropped[:, a] & dropped[:, b]).float().mean().item()
        assert _within_sigmas(both, 0.25, N // 4), (a, b, both)
    consecutive_rows = (dropped[1:, 0] & dropped[:-1, 0]).float().mean().item()
    assert _within_sigmas(consecutive_rows, 0.25, N // 4 - 1)


def test_kept_values_scale_by_one_over_one_minus_p_and_the_gradient_is_the_same_mask():
    torch.manual_seed(2)
    module = packed_dropout(0.25).train()
    x = torch.randn(64, 96, requires_grad=True)
    out = module(x)
    kept = out != 0
    assert 0.7 < kept.float().mean().item() < 0.8
    torch.testing.assert_close(out[kept], x.detach()[kept] / 0.75)
    out.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.75)


def test_same_seed_same_masks_and_eval_p0_p1_behave_like_nn_dropout():
    x = torch.randn(8, 33)
    masks = []
    for seed in (5, 5, 6):
        torch.manual_seed(seed)
        masks.append(keep_mask(x.shape, 0.1))
    assert torch.equal(masks[0], masks[1]) and not torch.equal(masks[0], masks[2])
    assert packed_dropout(0.5).eval()(x) is x
    assert packed_dropout(0.0).train()(x) is x
    assert torch.count_nonzero(packed_dropout(1.0).train()(x)) == 0
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\], got 1.5"):
        packed_dropout(1.5)


def test_a_real_model_gets_every_dropout_swapped_and_infers_exactly_as_before(tmp_path):
    tiny = str(tiny_model_dir(tmp_path / "tiny"))
    plain = load_model(tiny, seed=0).eval()
    packed = load_model(tiny, seed=0, packed_dropout=True).eval()
    n_dropouts = sum(type(m) is torch.nn.Dropout for m in plain.modules())
    swapped = [m for m in packed.modules() if type(m).__name__ == "PackedDropout"]
    # Embeddings, head, and per layer: attention probabilities, attention output, FFN output.
    assert len(swapped) == n_dropouts == 2 + 3 * 2
    assert not any(type(m) is torch.nn.Dropout for m in packed.modules())
    ids = torch.randint(1000, 5000, (4, 12))
    mask = torch.ones_like(ids)
    mask[:, 9:] = 0
    with torch.no_grad():
        torch.testing.assert_close(packed(input_ids=ids, attention_mask=mask).logits,
                                   plain(input_ids=ids, attention_mask=mask).logits, rtol=1e-5, atol=1e-5)
    # In training every one of them draws a mask, the attention probabilities' included (eager attention).
    calls = []
    for module in swapped:
        module.register_forward_hook(lambda module, inputs, output: calls.append(module))
    packed.train()(input_ids=ids, attention_mask=mask)
    assert len(calls) == len(swapped) and {id(m) for m in calls} == {id(m) for m in swapped}
    # Swapping a model with none left finds nothing to replace.
    assert use_packed_dropout(packed) == 0
    # Without attention dropout, attention keeps SDPA's fused kernel.
    assert packed.config._attn_implementation == "eager"
    assert load_model(tiny, seed=0, dropout=0.0, packed_dropout=True).config._attn_implementation == "sdpa"


def test_cpu_training_saves_the_standard_config_and_the_same_seed_gives_the_same_weights(tmp_path):
    tiny = str(tiny_model_dir(tmp_path / "tiny"))
    cfg = TrainConfig(init_model_dir=tiny, max_length=16, batch_size=8, max_steps=4, num_threads=1,
                      checkpoint_every=0, patience=0, device="cpu")
    first = train(toy_pairs(), tmp_path / "a", cfg)
    second = train(toy_pairs(), tmp_path / "b", cfg)
    assert first["weights_sha256"] == second["weights_sha256"]
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert "attn_implementation" not in json.dumps(saved)
    assert saved["attention_probs_dropout_prob"] == 0.1
