"""Run a hyperparameter search with Ray Tune over short fine-tunes, and pick the best config.

A `Tuner` whose trainable is the project's fine-tune (core/tuning/trainable.py) samples the
declared space (core/tuning/space.py) with a seeded random search whose first point is the
train stage's own config, and ASHA (asynchronous successive halving; Li et al., "A System for
Massively Parallel Hyperparameter Tuning", MLSys 2020, arXiv 1810.05934) stops trials whose
validation NDCG@10 trails at a rung. The chosen trial is the one whose validations reached the
highest NDCG@10 (train() keeps a run's best validated weights the same way; ties go to the
earlier trial). Results and trial checkpoints live under the search
folder; running the same search (same space, settings, base config and data) on the same
folder again restores it with `Tuner.restore`: finished trials are kept, unfinished ones go
on from their last checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from shoprank.core.common.errors import ConfigError, DataValidationError, SchemaError
from shoprank.core.training.batches import data_fingerprint
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import with_teacher
from shoprank.core.tuning.result import (SearchFailedError, SearchResult, SearchUnscoredError, failure_message,
                                         trial_record)
from shoprank.core.tuning.settings import TuneSettings
from shoprank.core.tuning.space import SearchSpace
from shoprank.core.tuning.trainable import METRIC, TIME_ATTR, trial_config
from shoprank.core.valuation.reapply import AS_VALUED

__all__ = ["SearchFailedError", "SearchResult", "SearchUnscoredError", "preflight", "run_search", "search_key", "trial_pairs"]

log = logging.getLogger(__name__)

# Settings that do not change which trials run or what they compute (left out of the search key).
_UNKEYED = ("ray_address", "max_concurrent", "max_failures", "keep_trial_checkpoints", "minutes")


def run_search(pairs, search_dir: str | Path, space: SearchSpace | dict, settings: TuneSettings = TuneSettings(),
               base: TrainConfig = TrainConfig(), ray_temp_dir: str | Path | None = None) -> SearchResult:
    """Search `space` on the valued pairs; return the best trial and all trials.

    pairs: the value stage's table (train rows with `value` and `weight`, validation rows).
    search_dir: where Tune keeps results and trial checkpoints (a path or a pyarrow URI such as
    s3://bucket/prefix); the same search on the same folder resumes. base: the train stage's
    config, under each trial's params. ray_temp_dir: local Ray's temp dir (default
    search_dir/ray-tmp; unused when Ray is already up or a cluster address is given).

    Raises ConfigError / SchemaError / DataValidationError / EndpointError before any trial
    (preflight), and SearchFailedError when no trial gave a score (its message quotes the first
    trials' errors; a local Ray's temp dir with its session logs is then kept): SearchUnscoredError
    when none failed but none reached a validation within the time budget.
    """
    started = time.perf_counter()
    if not isinstance(space, SearchSpace):
        space = SearchSpace.from_dict(space, base)
    frame = preflight(pairs, space, settings, base)
    defaults = space.point_of(base) if settings.include_defaults else None
    for params in [defaults] if defaults else []:
        trial_config(base, params, settings)  # the budgets themselves must be acceptable to TrainConfig
    key = search_key(frame, space, settings, base)
    # The distillation teacher scores the training rows once here, not once per trial (core/training/distill.py).
    frame, _ = with_teacher(frame, base)
    local_dir = "://" not in str(search_dir)
    search_dir = Path(search_dir).resolve() if local_dir else str(search_dir)
    name = f"search-{key[:12]}"
    temp_dir = Path(ray_temp_dir) if ray_temp_dir else Path(search_dir) / "ray-tmp" if local_dir else None
    if temp_dir is None:
        import tempfile

        temp_dir = Path(tempfile.mkdtemp(prefix="shoprank-ray-"))
    log.info("tune: %d trials or %g minutes, %s, space %s, settings %s", settings.trials, settings.minutes,
             settings.scheduler, json.dumps(space.to_dict()), json.dumps(settings.to_dict()))

    from shoprank.core.tuning.runtime import ray_runtime

    with ray_runtime(settings.ray_address, temp_dir) as resources:
        settings = _fit_resources(settings, resources)
        tuner, resumed = _tuner(frame, f"{search_dir}/{name}" if not local_dir else search_dir / name,
                                search_dir, name, space, settings, base, defaults)
        grid = tuner.fit()
        trials = sorted((trial_record(result, settings) for result in grid), key=lambda t: t.number)
        scored = [t for t in trials if t.status != "failed" and t.best_ndcg is not None]
        if not scored:  # raised inside the runtime, so a local Ray's session logs are kept
            failed = any(t.status == "failed" for t in trials)
            raise (SearchFailedError if failed else SearchUnscoredError)(failure_message(trials))
    best = max(scored, key=lambda t: (t.best_ndcg, -t.number))
    experiment_dir = f"{search_dir}/{name}"
    if local_dir and not settings.keep_trial_checkpoints:
        _remove_trial_checkpoints(Path(experiment_dir))
    result = SearchResult(best=best, trials=trials, space=space.to_dict(), settings=settings.to_dict(),
                          wall_seconds=time.perf_counter() - started, experiment_dir=experiment_dir, resumed=resumed)
    log.info("tune: best trial %d, validation ndcg@10 %.4f, params %s; %s", best.number, best.best_ndcg,
             json.dumps(best.params), json.dumps(result.metrics()))
    return result


def preflight(pairs, space: SearchSpace, settings: TuneSettings, base: TrainConfig):
    """trial_pairs(pairs, space, settings), once the space and base config fit the base model
    (core/tuning/model_limits.py) and a cluster address, when one is set, answers
    (core/tuning/address.py): what would otherwise fail only in a trial, or after minutes of
    ray.init's retries, fails here with a typed error naming the value."""
    from shoprank.core.tuning.address import check_ray_address, effective_ray_address
    from shoprank.core.tuning.model_limits import check_space_fits_model

    frame = trial_pairs(pairs, space, settings)
    check_space_fits_model(space, base)
    address = effective_ray_address(settings.ray_address)
    if address:
        check_ray_address(address)
    return frame


def trial_pairs(pairs, space: SearchSpace, settings: TuneSettings):
    """The rows trials see: the train rows and (a seeded subset of) the validation queries; never test.

    Raises before any trial when there is nothing to train or validate on, or when the space can
    re-apply a value policy and the pairs carry no values.
    """
    for column in ("query_id", "split", "label"):
        if column not in pairs.columns:
            raise SchemaError(f"tune: expected a pairs table with column {column!r}, got {list(pairs.columns)}")
    splits = set(pairs["split"].unique())
    if "train" not in splits or "validation" not in splits:
        raise DataValidationError(f"tune: trials train on 'train' rows and are scored on 'validation' rows; "
                                  f"the pairs have splits {sorted(splits)}")
    policies = set(next((d.values for d in space.dimensions if d.name == "value_policy"), (AS_VALUED,)))
    if policies - {AS_VALUED, "none"}:
        train_values = pairs.loc[pairs["split"] == "train", "value"] if "value" in pairs.columns else None
        if train_values is None or train_values.isna().any():
            raise SchemaError(f"tune: the space re-applies value policies {sorted(policies - {AS_VALUED, 'none'})}, "
                              "which need a `value` on every train row (pairs from the value stage); "
                              f"got columns {list(pairs.columns)}")
    frame = pairs[pairs["split"].isin(["train", "validation"])]
    if settings.validation_queries:
        valid_ids = np.array(sorted(frame.loc[frame["split"] == "validation", "query_id"].astype(str).unique()))
        if len(valid_ids) > settings.validation_queries:
            keep = np.random.default_rng([settings.seed, 11]).choice(len(valid_ids), settings.validation_queries,
                                                                     replace=False)
            chosen = set(valid_ids[np.sort(keep)])
            frame = frame[(frame["split"] == "train") | frame["query_id"].astype(str).isin(chosen)]
    return frame.reset_index(drop=True)


def search_key(frame, space: SearchSpace, settings: TuneSettings, base: TrainConfig) -> str:
    """sha256 of what decides the search's trials: data, space, keyed settings, base config."""
    keyed = {k: v for k, v in settings.to_dict().items() if k not in _UNKEYED}
    payload = json.dumps({"data": data_fingerprint(frame), "space": space.to_dict(), "settings": keyed,
                          "base": base.to_dict()}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _fit_resources(settings: TuneSettings, resources: dict) -> TuneSettings:
    """Per-trial resources that this Ray can give; a local machine with fewer cores runs trials on all it has."""
    cpus, gpus = resources.get("CPU", 0), resources.get("GPU", 0)
    if settings.gpus_per_trial > gpus:
        raise ConfigError(f"tune: gpus_per_trial {settings.gpus_per_trial} but this Ray has {gpus:g} GPUs")
    if settings.cpus_per_trial > cpus:
        if settings.ray_address:
            raise ConfigError(f"tune: cpus_per_trial {settings.cpus_per_trial} but this Ray has {cpus:g} CPUs")
        log.warning("tune: cpus_per_trial %d > the %g CPUs here; each trial gets %d", settings.cpus_per_trial, cpus,
                    max(int(cpus), 1))
        settings = dataclasses.replace(settings, cpus_per_trial=max(int(cpus), 1))
    return settings


def _tuner(frame, experiment_path, search_dir, name, space, settings, base, defaults):
    """A new Tuner, or the interrupted one restored from experiment_path; and whether it was restored."""
    import os

    # Tune's console tables repeat what search_progress logs; its forced state snapshots after each
    # trial checkpoint (num_to_keep=1) are what keeps a resume consistent, so no warning for them.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    logging.getLogger("tensorboardX").setLevel(logging.WARNING)  # "ndcg@10 is illegal" per report
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from shoprank.core.tuning.progress import search_progress
    from shoprank.core.tuning.trainable import run_trial

    trainable = tune.with_resources(
        tune.with_parameters(run_trial, pairs=frame, base=base.to_dict(), settings=settings.to_dict()),
        {"cpu": settings.cpus_per_trial, "gpu": settings.gpus_per_trial})
    if tune.Tuner.can_restore(str(experiment_path)):
        log.info("tune: resuming the search at %s (finished trials are kept)", experiment_path)
        return tune.Tuner.restore(str(experiment_path), trainable, resume_unfinished=True, resume_errored=False), True
    if settings.scheduler == "asha":
        scheduler = ASHAScheduler(time_attr=TIME_ATTR, max_t=settings.max_steps, grace_period=settings.grace_steps,
                                  reduction_factor=settings.reduction_factor, stop_last_trials=False)
    else:
        scheduler = FIFOScheduler()
    if settings.include_defaults and defaults is None:
        log.warning("tune: the train stage's config lies outside the space; no trial runs the defaults")
    # The generator caps concurrent trials itself (Tune ignores max_concurrent_trials beside a generator).
    searcher = BasicVariantGenerator(points_to_evaluate=[defaults] if defaults else None, random_state=settings.seed,
                                     max_concurrent=settings.max_concurrent or 0)
    tune_config = tune.TuneConfig(metric=METRIC, mode="max", search_alg=searcher, scheduler=scheduler,
                                  num_samples=settings.trials, time_budget_s=60 * settings.minutes, reuse_actors=True,
                                  trial_dirname_creator=lambda trial: f"trial_{trial.trial_id}")
    run_config = tune.RunConfig(
        name=name, storage_path=str(search_dir), verbose=0, callbacks=[search_progress(settings.trials)],
        failure_config=tune.FailureConfig(max_failures=settings.max_failures),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1))
    return tune.Tuner(trainable, param_space=space.to_ray(), tune_config=tune_config, run_config=run_config), False


def _remove_trial_checkpoints(experiment_dir: Path) -> None:
    import shutil

    for checkpoint in experiment_dir.glob("trial_*/checkpoint_*"):
        shutil.rmtree(checkpoint, ignore_errors=True)
