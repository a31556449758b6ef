"""The train stage: pairs Parquet in, a complete model artifact directory and metrics out.

<model_dir>/hf, model.onnx, model.int8.onnx and manifest.json (layout in core/ranking/reranker.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from shoprank.core.data.pairs import read_pairs
from shoprank.core.ranking.artifact import HF_SUBDIR
from shoprank.core.stages.sessions import personalised_training_from_file
from shoprank.core.text.query_features import locales_without_words
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.export import export_model_dir
from shoprank.core.training.loop import train

log = logging.getLogger(__name__)


def run_train_stage(pairs_path: str | Path, model_dir: str | Path, config: TrainConfig = TrainConfig(),
                     checkpoint_dir: str | Path | None = None, quantize: bool = True,
                     sessions_path: str | Path | None = None, personalise: bool = True, blend=None) -> dict:
    """Train, export and write the manifest; return numeric metrics (for Output[Metrics]).

    checkpoint_dir: where checkpoints live; a persistent path (a volume on a cluster) lets a
    killed run resume when started again. None writes no checkpoints (nothing could resume).
    sessions_path / personalise: the prepare stage's sessions file; with personalise on and enough
    shoppers with a history, the model learns from the training sessions too and reads the
    shopper's recent items (core/clicks/personalise.py personalised_training).
    blend: a core/ranking/hybrid_fit.HybridConfig to fit the hybrid blend on the validation split
    after training (hybrid.json in the folder, under the manifest); None fits none.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    judged = read_pairs(pairs_path)
    pairs, config, personal = personalised_training_from_file(judged, config, sessions_path, personalise)
    is_main = int(os.environ.get("RANK", "0")) == 0
    if is_main:
        log_locales_without_words(pairs, config)
    result = train(pairs, model_dir / HF_SUBDIR, config, checkpoint_dir=checkpoint_dir)
    metrics = {**stage_metrics(result), **personal}
    if is_main and blend is not None:
        from shoprank.core.ranking.hybrid_fit import blend_metrics, fit_model_blend

        # On the judged pairs, as the evaluate stage reads them (BM25's IDF over the same catalogue texts).
        metrics.update(blend_metrics(fit_model_blend(judged, model_dir, blend)))
    if is_main:
        export_model_dir(model_dir, training_config=config.to_dict(), data_fingerprint=result["data_fingerprint"],
                         metrics=metrics, quantize=quantize)
    log.info("train stage: model at %s, metrics %s", model_dir, metrics)
    return metrics


def log_locales_without_words(pairs, config: TrainConfig) -> None:
    """One warning naming the query locales that get no price features (no word table), if any."""
    if not (config.price_limits or config.low_price_words):
        return
    queries = pairs.drop_duplicates("query_id")
    missing = locales_without_words(queries["locale"], config.default_locale)
    if missing:
        log.warning("train: %d of %d queries are in locales with no query-feature word table (%s); they get no "
                    "price verdicts or low-price notes (core/text/locale_words.py lists the tables)",
                    sum(missing.values()), len(queries),
                    ", ".join(f"{locale}: {n}" for locale, n in sorted(missing.items())))


def stage_metrics(result: dict) -> dict:
    """The numeric, JSON-safe part of a training result."""
    keys = ("validation_ndcg@10", "steps", "best_step", "epochs_completed", "train_pairs", "train_queries",
            "pairs_seen", "schedule_completed", "train_seconds", "pairs_per_s", "final_loss", "world_size",
            "max_length", "fields_whole_share")
    metrics = {k: float(result[k]) for k in keys if isinstance(result.get(k), (int, float))}
    distill = result.get("distillation") or {}
    # What the warm start did (core/training/distill.py): 1.0 when the teacher's margins were learnt.
    metrics["distilled"] = float(bool(distill.get("used")))
    for key in ("teacher_ndcg10", "bm25_ndcg10", "seconds"):
        if isinstance(distill.get(key), (int, float)):
            metrics[f"distill_{key}"] = float(distill[key])
    return metrics
