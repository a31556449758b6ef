"""The Ray Tune trainable: one trial is the project's own fine-tune (core/training/loop.py train())
on the trial's config, reporting validation NDCG@10 after each validation.

Imported only inside Ray workers and by core/tuning/search.py (never at core's import time).
A trial re-applies its value policy to the already-valued pairs (core/valuation/reapply.py),
trains with the search's budgets (a seeded subset of the pairs, at most max_steps steps,
a validation every eval_every steps), and hands Tune a checkpoint of the training state with
the reports a trial goes on after (past ASHA's first rung, before its last step), so a search
resumed with Tuner.restore continues an interrupted trial from there.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import shutil
import tempfile
import time
from pathlib import Path

from shoprank.core.common.errors import ShoprankError
from shoprank.core.training.checkpoint import CHECKPOINT_FILE
from shoprank.core.training.config import TrainConfig
from shoprank.core.tuning.settings import TuneSettings
from shoprank.core.tuning.space import split_params

log = logging.getLogger(__name__)

METRIC = "ndcg@10"   # validation NDCG@10 of the trial's kept weights, as train() measures it
TIME_ATTR = "step"   # ASHA's clock: optimizer steps
FINISHED = "finished"  # in a trial's last report when its training ran to the end (not stopped)


class TrialDivergedError(ShoprankError, RuntimeError):
    """A trial's training loss or validation NDCG became NaN or infinite."""


def trial_config(base: TrainConfig, params: dict, settings: TuneSettings) -> TrainConfig:
    """The TrainConfig one trial trains with: base, the trial's params, then the search's budgets.

    A searched max_steps wins over settings.max_steps; patience is 0 (the scheduler stops
    trials, not the loop), and checkpoints come at validations only. A trial given no GPU share
    trains on CPU, so it never uses a GPU that Ray did not reserve for it.
    """
    overrides, _ = split_params(params)
    budget = dict(max_pairs=settings.max_pairs, max_steps=overrides.pop("max_steps", settings.max_steps),
                  max_minutes=None, eval_every=settings.eval_every, patience=0, checkpoint_every=0,
                  num_threads=settings.cpus_per_trial, seed=settings.seed, log_every=max(settings.eval_every, 10),
                  device=base.device if settings.gpus_per_trial > 0 else "cpu")
    return dataclasses.replace(base, **overrides, **budget)


def run_trial(params: dict, *, pairs, base: dict, settings: dict) -> None:
    """Ray Tune function trainable (bound with tune.with_parameters).

    pairs: the valued train + validation pairs (a DataFrame); base: TrainConfig fields;
    settings: TuneSettings fields. Reports {ndcg@10, step, train_loss, trial_started, cpu_seconds (this
    process's CPU time since the trial started: all its threads)} after each
    validation, and once more with finished=True when training ends by itself; raises TrialDivergedError on a non-finite loss or NDCG (the trial is recorded
    as failed and the search goes on).
    """
    from ray import tune

    from shoprank.core.training.loop import train
    from shoprank.core.valuation.reapply import reapply_policy

    started, cpu_started = time.time(), time.process_time()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    tune_settings = TuneSettings(**settings)
    config = trial_config(TrainConfig.from_dict(base), params, tune_settings)
    frame = reapply_policy(pairs, split_params(params)[1])
    work = Path(tempfile.mkdtemp(prefix="shoprank-trial-"))
    state_dir = work / "state" if tune_settings.trial_checkpoints else None
    # A checkpoint pays off only for a trial that goes on: past ASHA's first rung (which stops most
    # trials) and before its last step.
    first_rung = tune_settings.grace_steps if tune_settings.scheduler == "asha" else 0
    try:
        restored = tune.get_checkpoint()
        if restored is not None and state_dir is not None:
            with restored.as_directory() as directory:
                state_dir.mkdir(parents=True)
                shutil.copy(Path(directory) / CHECKPOINT_FILE, state_dir / CHECKPOINT_FILE)

        last: dict = {}

        def on_validation(step: int, ndcg: float, train_loss: float, save) -> None:
            if not (math.isfinite(ndcg) and math.isfinite(train_loss)):
                raise TrialDivergedError(f"trial diverged at step {step}: training loss {train_loss}, "
                                         f"validation ndcg@10 {ndcg} (lr {config.lr}); expected finite numbers")
            checkpoint = None
            if state_dir is not None and first_rung < step < config.max_steps:
                save()
                checkpoint = tune.Checkpoint.from_directory(str(state_dir))
            last.update({METRIC: ndcg, TIME_ATTR: step, "train_loss": train_loss, "trial_started": started,
                         "cpu_seconds": time.process_time() - cpu_started})
            tune.report(dict(last), checkpoint=checkpoint)

        train(frame, work / "model", config, checkpoint_dir=state_dir, on_validation=on_validation)
        if last:
            # Tune marks a trial a scheduler stopped `done` too; this flag says it ran its whole budget.
            tune.report({**last, FINISHED: True})
    finally:
        shutil.rmtree(work, ignore_errors=True)
