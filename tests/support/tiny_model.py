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
    """A pairs table (the pairs contract) of queries 'color noun' whose candidates, 'color noun' by
    acme, are graded by shared words (3 both, 2 the noun, 1 the colour, 0 neither); the last
    validation_queries go to 'validation'."""
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_queries):
        color, noun = TOY_COLORS[q % len(TOY_COLORS)], TOY_NOUNS[q % len(TOY_NOUNS)]
        for c in range(per_query):
            pc, pn = (color, noun) if c == 0 else (str(rng.choice(TOY_COLORS)), str(rng.choice(TOY_NOUNS)))
            label = 3 if (pc, pn) == (color, noun) else 2 if pn == noun else 1 if pc == color else 0
            rows.append({"query_id": f"q{q:03d}", "query": f"{color} {noun}", "product_id": f"p{q:03d}-{c:02d}",
                         "title": f"{pc} {pn}", "label": label,
                         "split": "validation" if q >= n_queries - validation_queries else "train"})
    return pairs_table(rows, brand="acme")


def pairs_table(rows, **fields):
    """A pairs table (core/data/pairs.py) from rows (dicts or a DataFrame) with at least query_id,
    query, product_id, title, label and split: `fields` set on every row (one value, or one per
    row), the other product fields and the locale null where absent, and product_text written
    from the fields as build_pairs writes it."""
    import pandas as pd

    from shoprank.core.data.pairs import PAIR_COLUMNS
    from shoprank.core.text.product_text import product_text

    frame = (rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)).assign(**fields)
    for column in ("locale", "brand", "category", "price", "attributes", "description"):
        if column not in frame:
            frame[column] = None
    frame = frame.astype({"price": "float64"})
    frame["product_text"] = [product_text(row) for row in frame.to_dict("records")]
    return frame[PAIR_COLUMNS + [c for c in frame.columns if c not in PAIR_COLUMNS]]
