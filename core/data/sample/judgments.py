"""The sample's judgments: graded candidates per query (ESCI scale), chosen so word overlap alone misleads, and injected label noise."""

from __future__ import annotations

import numpy as np

from shoprank.core.data.sample.config import SampleConfig
from shoprank.core.data.sample.vocabulary import COMPLEMENT_OF, LEAF_INDEX, LEAVES, Leaf


def grade(spec: dict, product: dict) -> int:
    """ESCI grade of a product for a query spec: 3 Exact, 2 Substitute, 1 Complement, 0 Irrelevant."""
    leaf: Leaf = LEAVES[spec["leaf"]]
    p_leaf: Leaf = LEAVES[product["_leaf"]]
    if p_leaf.path == leaf.path:
        attrs = product["attributes"]
        mismatch = any(spec.get(a) is not None and spec[a] != attrs[a] for a in ("color", "material", "size"))
        mismatch |= spec.get("brand") is not None and spec["brand"] != product["_brand"]
        mismatch |= spec.get("price_max") is not None and product["price"] > spec["price_max"]
        return 2 if mismatch else 3
    if p_leaf.name in COMPLEMENT_OF.get(leaf.name, ()) or p_leaf.group == leaf.group:
        return 1
    return 0


def generate_judgments(config: SampleConfig, rng: np.random.Generator, products, specs):
    import pandas as pd

    records = products.to_dict("records")
    by_leaf = products.groupby("_leaf").indices
    colors = products["attributes"].map(lambda a: a["color"]).to_numpy()
    materials = products["attributes"].map(lambda a: a["material"]).to_numpy()
    n_cand = config.candidates_per_query
    rows = []
    for qi, spec in enumerate(specs):
        leaf = LEAVES[spec["leaf"]]
        same_leaf = by_leaf[spec["leaf"]]
        exact = [i for i in same_leaf if grade(spec, records[i]) == 3]
        picks = list(rng.permutation(exact)[:4])
        picks += list(rng.choice(same_leaf, size=min(len(same_leaf), n_cand // 3), replace=False))
        related = [LEAF_INDEX[name] for name in sorted(COMPLEMENT_OF.get(leaf.name, ()))]  # sorted: set order varies by process
        related += [i for i, other in enumerate(LEAVES) if other.group == leaf.group and other.path != leaf.path]
        for li in related[:3]:
            picks += list(rng.choice(by_leaf[li], size=min(2, len(by_leaf[li])), replace=False))
        # Lexical traps: other categories sharing the query's colour or material.
        trap_mask = (colors == spec.get("color", "~")) | (materials == spec.get("material", "~"))
        trap_mask[same_leaf] = False
        traps = np.flatnonzero(trap_mask)
        if traps.size:
            picks += list(rng.choice(traps, size=min(traps.size, n_cand // 4), replace=False))
        picks = list(dict.fromkeys(int(i) for i in picks))[:n_cand]
        while len(picks) < n_cand:
            extra = int(rng.integers(len(records)))
            if extra not in picks:
                picks.append(extra)
        qid = f"Q{qi:05d}"
        for i in picks:
            rows.append({
                "query_id": qid,
                "product_id": records[i]["product_id"],
                "label": grade(spec, records[i]),
                "source": "human" if rng.random() < 0.9 else "clicks",
            })
    return pd.DataFrame(rows)


def flip_labels(judgments, rate: float, rng: np.random.Generator):
    import pandas as pd

    judgments = judgments.copy()
    n_flip = int(round(rate * len(judgments)))
    idx = np.sort(rng.choice(len(judgments), size=n_flip, replace=False)) if n_flip else np.array([], dtype=int)
    clean = judgments["label"].to_numpy()[idx]
    # A flipped label moves to one of the three other grades.
    noisy = (clean + rng.integers(1, 4, size=idx.size)) % 4
    judgments.loc[judgments.index[idx], "label"] = noisy
    truth = pd.DataFrame({
        "query_id": judgments["query_id"].to_numpy()[idx],
        "product_id": judgments["product_id"].to_numpy()[idx],
        "clean_label": clean.astype("int64"),
        "noisy_label": noisy.astype("int64"),
    })
    judgments["label"] = judgments["label"].astype("int64")
    return judgments, truth
