"""Loading the encoder with a fresh head, freezing layers, hashing weights, saving the HF model directory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from shoprank.core.common.errors import ConfigError
from shoprank.core.common.seeding import seed_everything
from shoprank.core.text.pair_format import PairFormat

def load_model(init_dir: str, seed: int, dropout: float | None = None, packed_dropout: bool = False):
    """The encoder with a new one-logit head, initialised from the seed; dropout (hidden,
    attention and head) overrides the pretrained config's when given.

    packed_dropout (for CPU training): every dropout module draws packed masks
    (core/training/packed_dropout.py), and attention runs eager so that its probabilities' dropout is such
    a module. On 2 CPU cores a MiniLM step at batch 48 ran 1.15x faster; eager attention costs
    about 15% more at validation than SDPA's fused kernel, so without attention dropout SDPA
    stays. What is saved (weights and config) is the same either way."""
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    from shoprank.core.training.packed_dropout import use_packed_dropout

    seed_everything(seed)
    overrides = {} if dropout is None else {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout,
                                            "classifier_dropout": dropout}
    config = AutoConfig.from_pretrained(init_dir, num_labels=1, **overrides)
    eager = packed_dropout and getattr(config, "attention_probs_dropout_prob", 0.0) > 0
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized head" warning is expected here
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            init_dir, config=config, **({"attn_implementation": "eager"} if eager else {}))
    finally:
        hf_logging.set_verbosity(verbosity)
    if packed_dropout:
        use_packed_dropout(model)
    return model


def freeze_lowest_layers(model, count: int) -> None:
    """Keep the lowest `count` layers (the embeddings first, then the transformer layers) as
    pretrained: autograd then stops below the lowest trained layer."""
    if count == 0:
        return
    base = model.base_model
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not hasattr(base, "embeddings") or layers is None:
        raise ConfigError(f"frozen_layers needs an encoder with .embeddings and .encoder.layer (BERT-like); "
                          f"{type(base).__name__} has not")
    stack = [base.embeddings, *layers]
    if count > len(stack):
        raise ConfigError(f"frozen_layers must be at most {len(stack)} (the embeddings and {len(layers)} "
                          f"transformer layers), got {count}")
    for module in stack[:count]:
        module.requires_grad_(False)


def weights_sha256(model) -> str:
    """sha256 over every parameter and buffer (name, dtype, bytes): equal iff the weights are equal."""
    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_hf_model(model, tokenizer, out_dir: str | Path, max_length: int, pair_format: PairFormat) -> Path:
    """HF directory with safetensors weights, a tokenizer that truncates at max_length, and in
    config.json the pair format the model reads (so inference writes the same)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pair_format.store(model.config)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.model_max_length = max_length
    tokenizer.save_pretrained(out_dir)
    # safetensors writes its file 0600 (a private temp file renamed into place); give every file
    # the mode a new file gets here (0644 under the usual umask), so a server under another user reads it.
    umask = os.umask(0)
    os.umask(umask)
    for path in out_dir.iterdir():
        if path.is_file():
            path.chmod(0o666 & ~umask)
    return out_dir
