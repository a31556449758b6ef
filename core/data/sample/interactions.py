"""The sample's click log: sessions over a middling production ranker, position-biased clicks and purchases."""

from __future__ import annotations

import hashlib

import numpy as np

from shoprank.core.data.sample.config import SampleConfig

# Click model: examination by position, attractiveness by label, purchase given a click.
EXAMINATION = 1.0 / np.arange(1, 11) ** 0.9
ATTRACTIVENESS = np.array([0.03, 0.12, 0.35, 0.75])
PURCHASE = np.array([0.0, 0.05, 0.12, 0.35])


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
            for pos, j in enumerate(order, start=1):
                clicked = bool(rng.random() < EXAMINATION[pos - 1] * ATTRACTIVENESS[labels[j]])
                purchased = bool(clicked and rng.random() < PURCHASE[labels[j]])
                rows.append({
                    "event_id": f"E{len(rows):08d}", "ts": ts + pd.Timedelta(seconds=pos),
                    "session_id": f"S{session:07d}", "user_id": user, "query": query,
                    "product_id": pids[j], "position": pos, "clicked": clicked,
                    "purchased": purchased, "model_version": model_version,
                })
            session += 1
    return pd.DataFrame(rows)
