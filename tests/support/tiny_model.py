"""Fast stand-ins for tests and smoke runs: a tiny random BERT and a toy pairs table.

The tiny model has the packaged encoder's vocabulary and input names, so every code path
(tokenisation, training, export, serving) runs unchanged, in a fraction of the time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def tiny_model_dir(out_dir: str | Path, hidden_size: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """Write a BertModel (hidden_size, layers, 2 heads) and the packaged tokenizer to out_dir."""
    import torch
    from transformers import BertConfig, BertModel

    from shoprank.core.ranking.encoder import pretrained_model_dir

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=hidden_size * 2, max_position_embeddings=128)
    BertModel(config).save_pretrained(out_dir, safe_serialization=True)
    source = Path(pretrained_model_dir())
    for name in TOKENIZER_FILES:
        if (source / name).exists():
            shutil.copy(source / name, out_dir / name)
    return out_dir


TOY_COLORS = ("red", "blue", "green", "black")
TOY_NOUNS = ("shoe", "hat", "bag", "lamp", "mug", "sock")


def toy_pairs(n_queries: int = 8, per_query: int = 6, validation_queries: int = 2, seed: int = 0):
    """A pairs table of queries 'color noun' whose candidates are graded by shared words
    (3 both, 2 the noun, 1 the colour, 0 neither); the last validation_queries go to 'validation'."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_queries):
        color, noun = TOY_COLORS[q % len(TOY_COLORS)], TOY_NOUNS[q % len(TOY_NOUNS)]
        for c in range(per_query):
            pc, pn = (color, noun) if c == 0 else (str(rng.choice(TOY_COLORS)), str(rng.choice(TOY_NOUNS)))
            label = 3 if (pc, pn) == (color, noun) else 2 if pn == noun else 1 if pc == color else 0
            rows.append({"query_id": f"q{q:03d}", "query": f"{color} {noun}", "product_id": f"p{q:03d}-{c:02d}",
                         "product_text": f"{pc} {pn} | brand: acme", "label": label,
                         "split": "validation" if q >= n_queries - validation_queries else "train"})
    return pd.DataFrame(rows)
