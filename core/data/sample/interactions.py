"""The sample's click log: sessions over a middling production ranker, position-biased clicks and purchases."""

from __future__ import annotations

import numpy as np

from shoprank.core.data.sample.click_model import ClickModel
from shoprank.core.data.sample.config import SampleConfig
from shoprank.core.data.sample.tastes import ShopperTastes, price_band, user_hash

CLICK_MODEL = ClickModel()  # position bias x label-driven attraction (core/data/sample/click_model.py)
_LOGGING_ERROR_STREAM = 99  # the ranker's persistent mistakes draw from their own stream: the rest stays the same


def generate_interactions(config: SampleConfig, rng: np.random.Generator, queries, judgments, products=None,
                          tastes: ShopperTastes | None = None):
    """The click log: one row per shown result. With `tastes` (and the products, with their hidden
    `_leaf` and `_brand`), each shopper's taste raises their clicks and purchases."""
    import pandas as pd

    features = _taste_features(products) if tastes is not None else None

    start = pd.Timestamp("2026-10-01", tz="UTC") + pd.Timedelta(days=28 * config.drift + 14 * config.batch)
    model_version = "bm25-v1" if config.drift == 0 else "shoprank-v1"
    rows = []
    session = 0
    mistakes = np.random.default_rng([config.seed, _LOGGING_ERROR_STREAM, config.batch])
    rho = config.logging_error
    for qid, group in judgments.groupby("query_id", sort=True):
        query = queries.loc[queries["query_id"] == qid, "query"].iloc[0]
        labels = group["label"].to_numpy()
        pids = group["product_id"].to_numpy()
        persistent = mistakes.normal(0, 1.0, size=labels.size) if rho else None
        for _ in range(int(rng.poisson(config.sessions_per_query)) + 1):
            # A middling production ranker: relevance plus plenty of noise (part of it the same every session).
            noise = rng.normal(0, 1.0, size=labels.size)
            if rho:
                noise = np.sqrt(1 - rho) * noise + np.sqrt(rho) * persistent
            order = np.argsort(-(0.6 * labels + noise), kind="stable")[:10]
            shopper = int(rng.integers(config.n_shoppers))
            user = user_hash(shopper)
            ts = start + pd.Timedelta(seconds=float(rng.uniform(0, 14 * 86400)))
            boost = None
            if features is not None:
                shown = features.loc[pids[order]]
                boost = tastes.boost(shopper, shown["brand"], shown["color"], shown["band"])
            clicked, purchased = CLICK_MODEL.session(labels[order], rng, boost)
            for pos, j in enumerate(order, start=1):
                rows.append({
                    "event_id": f"E{len(rows):08d}", "ts": ts + pd.Timedelta(seconds=pos),
                    "session_id": f"S{session:07d}", "user_id": user, "query": query,
                    "product_id": pids[j], "position": pos, "clicked": bool(clicked[pos - 1]),
                    "purchased": bool(purchased[pos - 1]), "model_version": model_version,
                })
            session += 1
    return pd.DataFrame(rows)


def _taste_features(products):
    """Brand, colour and price band of every product, indexed by product_id (what tastes read)."""
    import pandas as pd

    return pd.DataFrame({
        "brand": products["_brand"].to_numpy(),
        "color": products["attributes"].map(lambda a: a["color"]).to_numpy(),
        "band": [price_band(p, leaf) for p, leaf in zip(products["price"], products["_leaf"])],
    }, index=products["product_id"].to_numpy())
