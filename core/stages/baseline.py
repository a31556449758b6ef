"""The baseline stage: BM25 ranking quality on the held-out splits, the floor every model must beat."""

from __future__ import annotations

import logging
from pathlib import Path

from shoprank.core.data.pairs import read_pairs
from shoprank.core.ranking.bm25 import BM25Config, bm25_scores
from shoprank.core.evaluation.metrics import rank_metrics, relevant_label

log = logging.getLogger(__name__)

HELD_OUT_SPLITS = ("validation", "test")


def evaluate_bm25(pairs_path: str | Path, config: BM25Config = BM25Config()) -> dict:
    """BM25 ndcg@10 / mrr / recall@10 and query counts per held-out split, as flat metric names
    (`bm25_<split>_<name>`); a metric that no query of a split defines is left out (never NaN)."""
    pairs = read_pairs(pairs_path)
    pairs["score"] = bm25_scores(pairs, config)
    relevant = relevant_label(pairs["label"])  # the data set's threshold, the same for every split
    metrics = {}
    for split in HELD_OUT_SPLITS:
        part = pairs[pairs["split"] == split]
        if part.empty:
            continue
        for name, value in rank_metrics(part, relevant=relevant).items():
            if value is not None:
                metrics[f"bm25_{split}_{name}"] = value
    log.info("baseline: %s", metrics)
    return metrics
