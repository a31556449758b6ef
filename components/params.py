"""kfp parameter adapters: pipeline parameters in, the real Python values core takes out.

kfp parameters have no None, so pipelines pass sentinels: 0 for "no budget", "" for "none"
or "default", a negative number for "not configured"; lists come comma-separated and configs as
JSON text. This module is the one place that knows those conventions; core functions take
None, tuples and dicts. Only the standard library at module level: the core configs are imported
inside the functions, so compiling a pipeline never loads core.
"""

from __future__ import annotations

import json
from typing import Any


def none_if_unset(value: Any) -> Any:
    """None for kfp's "unset" sentinels 0, 0.0 and "" (and None itself); any other value as it is."""
    return None if value is None or (not isinstance(value, bool) and value in (0, "")) else value


def none_if_below(value: float, bound: float) -> float | None:
    """None when value < bound (a negative threshold standing for "not configured"), else value."""
    return None if value < bound else value


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list as a tuple of its non-empty, stripped names ("" = none)."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def json_object(text: str, what: str) -> dict:
    """A JSON object parameter ("" = {}); ConfigError naming `what` when it is not one."""
    from shoprank.core.common.errors import ConfigError

    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{what}: expected a JSON object, got {text[:80]!r}: {err}") from err
    if not isinstance(value, dict):
        raise ConfigError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


# Train parameters whose 0 / "" mean None: no budget, max_length fitted to the pairs, the packaged encoder.
_TRAIN_UNSET_AS_NONE = ("max_pairs", "max_steps", "max_minutes", "max_length", "init_model_dir", "distill_teacher")


def train_config(overrides_json: str = "", **params):
    """TrainConfig from the train component's parameters: 0 / 0.0 = no budget for max_pairs,
    max_steps and max_minutes, 0 = fitted to the pairs for max_length, "" = the packaged
    encoder for init_model_dir, "" = no distillation for distill_teacher. overrides_json
    (TrainConfig fields as a JSON object, e.g. a tuned config) wins over the parameters and is
    taken as it is (null stays None)."""
    from shoprank.core.training.config import TrainConfig

    values = {name: none_if_unset(value) if name in _TRAIN_UNSET_AS_NONE else value for name, value in params.items()}
    values.update(json_object(overrides_json, "overrides_json (TrainConfig fields)"))
    return TrainConfig.from_dict(values)


def tune_settings(trials: int, minutes: float, seed: int, max_pairs: int = 2400, validation_queries: int = 20,
                  ray_address: str = "", **params):
    """TuneSettings from the tune component's parameters, or None when trials is 0 (no search):
    0 = all for max_pairs and validation_queries, "" = RAY_ADDRESS or a local Ray for ray_address."""
    from shoprank.core.common.errors import ConfigError
    from shoprank.core.tuning.settings import TuneSettings

    if trials < 0:
        raise ConfigError(f"tune: expected trials 0 (no search) or >= 1, got {trials}")
    if trials == 0:
        return None
    return TuneSettings(trials=trials, minutes=minutes, seed=seed, max_pairs=none_if_unset(max_pairs),
                        validation_queries=none_if_unset(validation_queries),
                        ray_address=none_if_unset(ray_address), **params)


def value_stage_config(method: str, k: int, policy: str, floor: float, fraction: float, seed: int,
                       embedding_cache_dir: str):
    """ValueStageConfig from the value component's parameters: fraction < 0 = the estimated noisy
    share, embedding_cache_dir "" = no cache."""
    from shoprank.core.stages.value import ValueStageConfig

    return ValueStageConfig.build(method=method, k=k, policy=policy, floor=floor, fraction=none_if_below(fraction, 0.0),
                                  seed=seed, cache_dir=none_if_unset(embedding_cache_dir))


def gate_config(min_ndcg: float, min_gain_over_champion: float, **rule):
    """GateConfig from the evaluate component's thresholds: min_ndcg < 0 = no floor (NDCG is never
    negative); min_gain_over_champion <= -1 = no champion threshold (a gain is never below -1), so
    small negative values can still tolerate a regression. `rule`: the other GateConfig fields
    (beat_baselines, margin, min_queries, alpha, require_significance, seed) as they are."""
    from shoprank.core.evaluation.gate import GateConfig

    return GateConfig(min_ndcg=none_if_below(min_ndcg, 0.0),
                      min_gain_over_champion=min_gain_over_champion if min_gain_over_champion > -1.0 else None,
                      **rule)


def evaluation_config(split: str, baselines: str, runtime: str, embedding_cache_dir: str):
    """EvaluationConfig from the evaluate component's parameters: baselines comma-separated
    ("" = none), embedding_cache_dir "" = no cache."""
    from shoprank.core.stages.evaluate import EvaluationConfig

    return EvaluationConfig(split=split, baselines=names(baselines), runtime=runtime,
                            cache_dir=none_if_unset(embedding_cache_dir))


def hybrid_config(embedding_cache_dir: str = ""):
    """HybridConfig (core/ranking/hybrid_fit.py) of the train component: its defaults, with the
    zero-shot encoder's embedding cache ("" = none)."""
    from shoprank.core.ranking.hybrid_fit import HybridConfig

    return HybridConfig(cache_dir=none_if_unset(embedding_cache_dir))
