"""A tiny valid shop, built in a test and then broken in one way (tests/pipelines/test_bad_inputs.py).

40 queries of 5 judged candidates each (labels 3, 2, 1, 0, 0) over 60 products, so every split of
the default SplitConfig holds queries that can be ranked, plus 40 interactions. Small enough that
validating it takes about a second.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

COLOURS = ("red", "blue", "green", "black", "white", "grey")
NOUNS = ("mug", "lamp", "kettle", "towel", "pillow", "candle", "blanket", "vase", "clock", "basket")
BRANDS = ("Acme", "Pinewell", "Oakhaven", "Silvane", "Brightly")


def tiny_tables(n_queries: int = 40, n_products: int = 60) -> dict:
    """products, queries, judgments, interactions as pandas DataFrames (the contract's columns)."""
    import pandas as pd

    products = pd.DataFrame({
        "product_id": [f"P{i:03d}" for i in range(n_products)],
        "title": [f"{BRANDS[i % 5]} {COLOURS[i % 6]} {NOUNS[i % 10]} {i}" for i in range(n_products)],
        "description": [f"A {COLOURS[i % 6]} {NOUNS[i % 10]} for the home." for i in range(n_products)],
        "brand": [BRANDS[i % 5] for i in range(n_products)],
        "category": [f"Home > {NOUNS[i % 10].title()}s" for i in range(n_products)],
        "price": [round(5.0 + 3.5 * i, 2) for i in range(n_products)],
        "attributes": [json.dumps({"color": COLOURS[i % 6]}) for i in range(n_products)],
    })
    queries = pd.DataFrame({
        "query_id": [f"Q{q:03d}" for q in range(n_queries)],
        "query": [f"{COLOURS[q % 6]} {NOUNS[q % 10]} {q}" for q in range(n_queries)],
        "locale": ["en-US"] * n_queries,
    })
    rows = []
    for q in range(n_queries):
        for j, label in enumerate((3, 2, 1, 0, 0)):
            rows.append({"query_id": f"Q{q:03d}", "product_id": f"P{(q + 7 * j) % n_products:03d}",
                         "label": label, "source": "human"})
    judgments = pd.DataFrame(rows)
    interactions = pd.DataFrame({
        "event_id": [f"E{i:04d}" for i in range(n_queries)],
        "ts": [f"2026-03-01T10:{i % 60:02d}:00Z" for i in range(n_queries)],
        "session_id": [f"S{i // 4:03d}" for i in range(n_queries)],
        "user_id": [hashlib.sha256(f"user{i % 7}".encode()).hexdigest()[:32] for i in range(n_queries)],
        "query": queries["query"].tolist(),
        "product_id": [f"P{i % n_products:03d}" for i in range(n_queries)],
        "position": [1 + i % 5 for i in range(n_queries)],
        "clicked": [i % 3 == 0 for i in range(n_queries)],
        "purchased": [i % 9 == 0 for i in range(n_queries)],
        "model_version": ["bm25-v1"] * n_queries,
    })
    return {"products": products, "queries": queries, "judgments": judgments, "interactions": interactions}


def write_tables(tables: dict, out_dir: str | Path, fmt: str = "parquet", formats: dict | None = None) -> Path:
    """Each table as OUT/<name>.parquet or .csv (`formats` overrides `fmt` per table), as given;
    "csv-bom" writes the CSV with a UTF-8 byte-order mark, as spreadsheets save it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        table_fmt = (formats or {}).get(name, fmt)
        if table_fmt in ("csv", "csv-bom"):
            frame.to_csv(out_dir / f"{name}.csv", index=False, encoding="utf-8-sig" if table_fmt == "csv-bom" else "utf-8")
        else:
            frame.to_parquet(out_dir / f"{name}.parquet", index=False)
    return out_dir
