"""The train stage: pairs Parquet in, a complete model artifact directory and metrics out.

<model_dir>/hf, model.onnx, model.int8.onnx and manifest.json (layout in core/ranking/reranker.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from shoprank.core.common.errors import ConfigError
from shoprank.core.training.export import export_model_dir
from shoprank.core.ranking.artifact import HF_SUBDIR
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train

log = logging.getLogger(__name__)


def run_train_stage(pairs_path: str | Path, model_dir: str | Path, config: TrainConfig = TrainConfig(),
                    checkpoint_dir: str | Path | None = None, quantize: bool = True) -> dict:
    """Train, export and write the manifest; return numeric metrics (for Output[Metrics]).

    checkpoint_dir: where checkpoints live; a persistent path (a volume on a cluster) lets a
    killed run resume when started again. None writes no checkpoints (nothing could resume).
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    result = train(pairs_path, model_dir / HF_SUBDIR, config, checkpoint_dir=checkpoint_dir)
    metrics = stage_metrics(result)
    if int(os.environ.get("RANK", "0")) == 0:
        export_model_dir(model_dir, training_config=config.to_dict(), data_fingerprint=result["data_fingerprint"],
                         metrics=metrics, quantize=quantize)
    log.info("train stage: model at %s, metrics %s", model_dir, metrics)
    return metrics


def config_from_params(overrides_json: str = "", **params) -> TrainConfig:
    """TrainConfig from pipeline parameters, where kfp has no None: 0 / 0.0 mean "no budget" for
    max_pairs, max_steps and max_minutes, 0 means "fitted to the pairs" for max_length, and ""
    means "default" for init_model_dir.
    overrides_json (a JSON object of TrainConfig fields, e.g. a tuned config) wins over params."""
    import json

    for name in ("max_pairs", "max_steps", "max_minutes", "max_length"):
        if name in params and not params[name]:
            params[name] = None
    if "init_model_dir" in params and not params["init_model_dir"]:
        params["init_model_dir"] = None
    if overrides_json:
        try:
            overrides = json.loads(overrides_json)
        except json.JSONDecodeError as err:
            raise ConfigError(f"overrides_json must be a JSON object of TrainConfig fields, got {overrides_json[:80]!r}: {err}")
        if not isinstance(overrides, dict):
            raise ConfigError(f"overrides_json must be a JSON object, got {type(overrides).__name__}")
        params.update(overrides)
    return TrainConfig.from_dict(params)


def stage_metrics(result: dict) -> dict:
    """The numeric, JSON-safe part of a training result."""
    keys = ("validation_ndcg@10", "steps", "best_step", "epochs_completed", "train_pairs", "train_queries",
            "pairs_seen", "schedule_completed", "train_seconds", "pairs_per_s", "final_loss", "world_size",
            "max_length", "fields_whole_share")
    return {k: float(result[k]) for k in keys if isinstance(result.get(k), (int, float))}
