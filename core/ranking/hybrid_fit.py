"""Fit the hybrid blend (core/ranking/hybrid.py) on the validation split, never on test.

The weights are a simplex grid search (every weight a multiple of 1 / grid_steps, summing to 1,
the model's at least one step: weight 0 for the model is not a hybrid) on the validation split's
NDCG@k, computed by core/evaluation/metrics.py (ranx, ties at their expected value) exactly as
the evaluate stage computes it. This is ranx's optimize_fusion(method="wsum", norm="min-max")
procedure (Bassani & Romelli, CIKM 2022); it is run here rather than called because ranx's grid
keeps a combination only when its float sum == 1.0 (so e.g. (0.1, 0.2, 0.7) is never tried) and
scores each fused run on one order of its ties. Ties between weightings go to the larger model
weight. MS MARCO (COSTLY: a 12-layer cross-encoder per request) stays in the blend only when the
best blend with it beats the best blend without it by `margin` too. The hybrid ships only when
its validation NDCG@k beats the model alone by `margin`;
otherwise the model's own score ships and the blend is kept for the record.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np

from shoprank.core.common.errors import ConfigError
from shoprank.core.common.progress import ProgressLog
from shoprank.core.ranking.bm25 import BM25Config
from shoprank.core.ranking.hybrid import COMPONENTS, MODEL, NORMS, Blend, BM25Stats, normalise

log = logging.getLogger(__name__)

# Components that cost a network pass per request when weighted (MS MARCO: a 12-layer cross-encoder).
COSTLY = ("msmarco",)


@dataclasses.dataclass(frozen=True)
class HybridConfig:
    """How the blend is fitted.

    components: the scores blended with the model's: any of "bm25", "zeroshot" (pretrained bi-encoder cosine),
        "msmarco" (the MS MARCO cross-encoder; English, and serving then runs it too).
    norm: per-query normalisation, "min-max" (default, ranx's fusion default) or "zmuv" (z-score).
    grid_steps: weights are multiples of 1 / grid_steps (10: 55 weightings for two components).
    margin: validation NDCG@k gain over the model alone the hybrid needs to ship (default 0.005).
    k: NDCG cut-off. split: the split fitted on ("validation"; never the evaluation's "test").
    bm25: BM25 parameters. batch_size / cache_dir: the zero-shot encoder's batch size and embedding cache.
    """

    components: tuple[str, ...] = ("bm25", "zeroshot", "msmarco")
    norm: str = "min-max"
    grid_steps: int = 10
    margin: float = 0.005
    k: int = 10
    split: str = "validation"
    bm25: BM25Config = BM25Config()
    batch_size: int = 64
    cache_dir: str | None = None

    def __post_init__(self):
        unknown = [c for c in self.components if c not in COMPONENTS or c == MODEL]
        if unknown or not self.components:
            raise ConfigError(f"hybrid components: expected a non-empty subset of {list(COMPONENTS[1:])}, "
                              f"got {list(self.components)}")
        if self.norm not in NORMS:
            raise ConfigError(f"hybrid norm: expected one of {list(NORMS)}, got {self.norm!r}")
        if self.grid_steps < 1 or self.k < 1 or self.margin < 0:
            raise ConfigError(f"hybrid: expected grid_steps >= 1, k >= 1 and margin >= 0, got grid_steps="
                              f"{self.grid_steps}, k={self.k}, margin={self.margin}")
        if self.split == "test":
            raise ConfigError("hybrid: the blend is fitted on the validation split, never on 'test'")


def weight_grid(components: tuple[str, ...], steps: int) -> list[dict[str, float]]:
    """Every weighting of (model, *components) on the 1/steps simplex grid with the model's weight > 0,
    the model alone first, then by decreasing model weight."""
    names = (MODEL, *components)
    grid = [combo for combo in itertools.product(range(steps + 1), repeat=len(names))
            if sum(combo) == steps and combo[0] >= 1]
    grid.sort(key=lambda combo: tuple(-c for c in combo))
    return [{name: c / steps for name, c in zip(names, combo)} for combo in grid]


def fit_blend(pairs, score_model: Callable, config: HybridConfig = HybridConfig()) -> Blend | None:
    """The blend fitted on the rows of `config.split` (validation) of a pairs table.

    pairs: the pairs table (core/data/pairs.py); only its validation rows are scored and judged;
    the BM25 statistics come from every distinct product_text in it (the judged catalogue, texts
    only, as the evaluate stage's BM25 indexes it). score_model: validation frame -> the model's
    scores (one per row). Returns None when the table has no validation rows. Deterministic:
    the same pairs and scores give the same weights.
    """
    from shoprank.core.evaluation.metrics import per_query_metrics, relevant_label

    started = time.perf_counter()
    held = pairs[pairs["split"] == config.split].reset_index(drop=True)
    if held.empty:
        log.warning("hybrid: no '%s' rows to fit a blend on; the model alone ships", config.split)
        return None
    stats = BM25Stats.from_texts(pairs["product_text"].astype(str).tolist(), config.bm25) \
        if "bm25" in config.components else None
    model_scores = np.asarray(score_model(held), dtype=np.float64)
    if model_scores.shape != (len(held),):
        raise ConfigError(f"hybrid: expected {len(held)} model scores, got shape {model_scores.shape}")
    raw = {MODEL: model_scores, **_components(stats, held, config)}
    groups = list(held.groupby("query_id", sort=False).indices.values())
    normed = {name: _per_query(scores, groups, config.norm) for name, scores in raw.items()}
    relevant = relevant_label(held["label"])
    grid = weight_grid(config.components, config.grid_steps)
    frame = held[["query_id", "label"]].copy()
    results = []
    progress = ProgressLog(log, "hybrid fit", len(grid), "weightings")
    for weights in grid:
        frame["score"] = sum(w * normed[name] for name, w in weights.items())
        table = per_query_metrics(frame, "score", config.k, relevant)
        values = table[f"ndcg@{config.k}"].dropna()
        results.append((float(values.mean()) if len(values) else None, weights))
        progress.advance(1)
    model_alone = results[0][0]
    best_ndcg, best = _best(results)
    if any(best.get(name, 0) > 0 for name in COSTLY):
        # A costly component must earn its serving cost: it stays only if it beats the best blend without it by the margin.
        cheap_ndcg, cheap = _best([r for r in results if not any(r[1].get(name, 0) > 0 for name in COSTLY)])
        if cheap_ndcg is not None and best_ndcg - cheap_ndcg < config.margin:
            log.info("hybrid: %s adds %+.4f validation NDCG over the best blend without it (< margin %s): left out",
                     "/".join(COSTLY), best_ndcg - cheap_ndcg, config.margin)
            best_ndcg, best = cheap_ndcg, cheap
    gain = None if best_ndcg is None or model_alone is None else best_ndcg - model_alone
    hybrid = any(best[c] > 0 for c in config.components)
    ships = hybrid and gain is not None and gain >= config.margin
    metric = f"NDCG@{config.k}"
    if not hybrid or gain is None:
        reason = f"no blend beat the model alone on validation {metric} ({_fmt(model_alone)})"
    elif ships:
        reason = (f"hybrid validation {metric} {best_ndcg:.4f} beats the model alone ({model_alone:.4f}) by "
                  f"{gain:+.4f} >= margin {config.margin}")
    else:
        reason = (f"the best blend's validation {metric} {best_ndcg:.4f} is within {config.margin} of the model "
                  f"alone ({model_alone:.4f}, {gain:+.4f}); the model alone ships")
    top = sorted(results, key=lambda r: -1.0 if r[0] is None else -r[0])[:5]
    validation = {"split": config.split, "metric": metric.lower(), "queries": int(len(values)),
                  "pairs": int(len(held)), "model": model_alone, "hybrid": best_ndcg, "gain": gain,
                  "margin": config.margin, "grid": len(grid), "seconds": round(time.perf_counter() - started, 2),
                  "top": [{"weights": w, "ndcg": v} for v, w in top]}
    blend = Blend(weights=best, norm=config.norm, ships=ships, reason=reason, validation=validation,
                  bm25=stats if best.get("bm25", 0) > 0 else None, zeroshot_batch_size=config.batch_size)
    log.info("hybrid: weights %s; %s (%d weightings, %.1f s)", best, reason, len(grid), validation["seconds"])
    return blend


def _best(results: list) -> tuple:
    """The (ndcg, weights) of the highest validation NDCG (None counts lowest; the first of equals wins)."""
    return max(results, key=lambda r: -1.0 if r[0] is None else r[0])


def _components(stats: BM25Stats | None, held, config: HybridConfig) -> dict[str, np.ndarray]:
    """Raw validation scores of each configured component, computed by the blend's own code (the one
    serving runs: MS MARCO per query, the zero-shot embeddings cached in cache_dir)."""
    share = 1.0 / (len(config.components) + 1)
    probe = Blend(weights={MODEL: share, **{name: share for name in config.components}}, norm=config.norm,
                  bm25=stats, zeroshot_batch_size=config.batch_size)
    return probe.component_scores(held["query"].astype(str).tolist(), held["product_text"].astype(str).tolist(),
                                  config.cache_dir)


def _per_query(scores: np.ndarray, groups, norm: str) -> np.ndarray:
    out = np.zeros(len(scores), dtype=np.float64)
    for rows in groups:
        out[rows] = normalise(scores[rows], norm)
    return out


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def fit_model_blend(pairs, model_dir: str | Path, config: HybridConfig = HybridConfig()) -> Blend | None:
    """Fit the blend of the trained model in model_dir (scored with torch, as the evaluate stage
    scores it by default) and write model_dir/hybrid.json; returns the blend (None: no validation rows)."""
    from shoprank.core.ranking.reranker import Reranker

    reranker = Reranker.load(model_dir)
    blend = fit_blend(pairs, lambda frame: reranker.score(frame, config.batch_size), config)
    if blend is not None:
        blend.save(model_dir)
    return blend


def blend_metrics(blend: Blend | None) -> dict[str, float]:
    """The fitted blend as flat numeric metrics (the train stage's Output[Metrics]): blend_ships
    (1.0 / 0.0), blend_weight_<component>, and the validation NDCG of the model alone and of the blend."""
    if blend is None:
        return {"blend_ships": 0.0}
    out = {"blend_ships": float(blend.ships), **{f"blend_weight_{c}": blend.weight(c) for c in COMPONENTS}}
    for key in ("model", "hybrid"):
        if isinstance(blend.validation.get(key), (int, float)):
            out[f"blend_validation_ndcg_{key}"] = float(blend.validation[key])
    return out
