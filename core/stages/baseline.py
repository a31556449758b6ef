"""The baseline stage: BM25 ranking quality on the held-out splits, the floor every model must beat."""

from __future__ import annotations

import logging
from pathlib import Path

from shoprank.core.data.pairs import read_pairs
from shoprank.core.ranking.bm25 import BM25Config, bm25_scores
from shoprank.core.evaluation.metrics import rank_metrics

log = logging.getLogger(__name__)

HELD_OUT_SPLITS = ("validation", "test")


def evaluate_bm25(pairs_path: str | Path, config: BM25Config = BM25Config()) -> dict:
    """BM25 ndcg@10 / mrr / recall@10 per held-out split, as flat metric names."""
    pairs = read_pairs(pairs_path)
    pairs["score"] = bm25_scores(pairs, config)
    metrics = {}
    for split in HELD_OUT_SPLITS:
        part = pairs[pairs["split"] == split]
        if part.empty:
            continue
        for name, value in rank_metrics(part).items():
            metrics[f"bm25_{split}_{name}"] = value
    log.info("baseline: %s", metrics)
    return metrics
