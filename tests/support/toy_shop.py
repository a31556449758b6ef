"""A toy shop in the data contract, small enough that a tiny model learns it in seconds.

Products are "<colour> <noun> <grade word>" titles; a query "<colour> <noun>" has ten judged
candidates, and a candidate's label is its grade word's (premium 3, classic 2, basic 1, faulty 0),
whatever the query. Relevance that one word carries is what a tiny model learns in a few steps;
the canary tests need real model servers that rank clearly better and clearly worse, not a
realistic shop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLOURS = ("red", "blue", "green", "black", "white", "yellow")
NOUNS = ("shoe", "hat", "bag", "lamp", "mug", "sock")
GRADES = {"faulty": 0, "basic": 1, "classic": 2, "premium": 3}


def toy_shop_tables(seed: int = 0, per_query: int = 10) -> dict:
    """products, queries and judgments (contract columns) of the toy shop."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    products = []
    for colour in COLOURS:
        for noun in NOUNS:
            for word in GRADES:
                products.append({"product_id": f"P{len(products):04d}", "title": f"{colour} {noun} {word}",
                                 "description": None, "brand": "acme", "category": f"Home > {noun.title()}s",
                                 "price": float(5 + len(products) % 40), "attributes": None})
    frame = pd.DataFrame(products)
    grade_of = {p["product_id"]: GRADES[p["title"].rsplit(" ", 1)[1]] for p in products}
    queries, judgments = [], []
    for colour in COLOURS:
        for noun in NOUNS:
            qid = f"Q{len(queries):04d}"
            queries.append({"query_id": qid, "query": f"{colour} {noun}", "locale": "en-US"})
            same_noun = frame[frame["title"].str.contains(f" {noun} ")]["product_id"].tolist()
            for pid in rng.choice(same_noun, per_query, replace=False):
                judgments.append({"query_id": qid, "product_id": str(pid), "label": grade_of[str(pid)], "source": "human"})
    return {"products": frame, "queries": pd.DataFrame(queries), "judgments": pd.DataFrame(judgments)}


def train_toy_models(out_dir: str | Path, tiny_dir: str | Path, seed: int = 0, epochs: int = 3) -> dict:
    """{'good': a tiny model trained on the toy shop, 'bad': the same with its score negated (the
    classifier head's weight and bias times -1: the good model's ranking reversed)}, as model
    folders with hf/, model.onnx and manifest.json (what `shoprank serve` reads)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.ranking.artifact import HF_SUBDIR
    from shoprank.core.stages.train import run_train_stage
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.training.export import export_model_dir

    out_dir = Path(out_dir)
    pairs = build_pairs(toy_shop_tables(seed))
    pairs["split"] = np.where(pairs["query_id"].isin(sorted(pairs["query_id"].unique())[-6:]), "validation", "train")
    pairs.to_parquet(out_dir / "toy-pairs.parquet", index=False)
    config = TrainConfig(init_model_dir=str(tiny_dir), epochs=epochs, batch_size=16, lr=3e-3, max_length=12, num_threads=1,
                         patience=0, seed=seed, ema_decay=0.0, price_limits=False, low_price_words=False,
                         spelling_notes=False)
    run_train_stage(out_dir / "toy-pairs.parquet", out_dir / "good", config, quantize=False)
    model = AutoModelForSequenceClassification.from_pretrained(out_dir / "good" / HF_SUBDIR, num_labels=1)
    with torch.no_grad():
        model.classifier.weight.neg_()
        model.classifier.bias.neg_()
    model.save_pretrained(out_dir / "bad" / HF_SUBDIR, safe_serialization=True)
    AutoTokenizer.from_pretrained(out_dir / "good" / HF_SUBDIR).save_pretrained(out_dir / "bad" / HF_SUBDIR)
    export_model_dir(out_dir / "bad", training_config={"derived_from": "good, score negated"}, quantize=False)
    return {"good": out_dir / "good", "bad": out_dir / "bad"}
