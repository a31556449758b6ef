"""The sample's click log: sessions over a middling production ranker, position-biased clicks and purchases."""

from __future__ import annotations

import hashlib

import numpy as np

from shoprank.core.data.sample.click_model import ClickModel
from shoprank.core.data.sample.config import SampleConfig

CLICK_MODEL = ClickModel()  # position bias x label-driven attraction (core/data/sample/click_model.py)


def generate_interactions(config: SampleConfig, rng: np.random.Generator, queries, judgments):
    import pandas as pd

    start = pd.Timestamp("2026-10-01", tz="UTC") + pd.Timedelta(days=28 * config.drift + 14 * config.batch)
    model_version = "bm25-v1" if config.drift == 0 else "shoprank-v1"
    rows = []
    session = 0
    for qid, group in judgments.groupby("query_id", sort=True):
        query = queries.loc[queries["query_id"] == qid, "query"].iloc[0]
        labels = group["label"].to_numpy()
        pids = group["product_id"].to_numpy()
        for _ in range(int(rng.poisson(config.sessions_per_query)) + 1):
            # A middling production ranker: relevance plus plenty of noise.
            order = np.argsort(-(0.6 * labels + rng.normal(0, 1.0, size=labels.size)), kind="stable")[:10]
            user = hashlib.sha256(f"user-{int(rng.integers(5000))}".encode()).hexdigest()[:16]
            ts = start + pd.Timedelta(seconds=float(rng.uniform(0, 14 * 86400)))
            clicked, purchased = CLICK_MODEL.session(labels[order], rng)
            for pos, j in enumerate(order, start=1):
                rows.append({
                    "event_id": f"E{len(rows):08d}", "ts": ts + pd.Timedelta(seconds=pos),
                    "session_id": f"S{session:07d}", "user_id": user, "query": query,
                    "product_id": pids[j], "position": pos, "clicked": bool(clicked[pos - 1]),
                    "purchased": bool(purchased[pos - 1]), "model_version": model_version,
                })
            session += 1
    return pd.DataFrame(rows)
