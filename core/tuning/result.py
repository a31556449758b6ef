"""What a search leaves: one record per trial, the chosen trial, and the numbers and JSON of it all."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from shoprank.core.common.errors import ShoprankError
from shoprank.core.tuning.settings import TuneSettings
from shoprank.core.tuning.space import split_params
from shoprank.core.tuning.trainable import FINISHED, METRIC, TIME_ATTR
from shoprank.core.valuation.reapply import ValuePolicyChoice


class SearchFailedError(ShoprankError, RuntimeError):
    """Every trial of a search failed (or none reported a validation NDCG@10)."""


class SearchUnscoredError(SearchFailedError):
    """No trial failed, but none reached its first validation within the time budget (a slow or
    busy machine): there is no evidence for any config, so the tune stage keeps the defaults."""


@dataclasses.dataclass
class TrialRecord:
    """One trial: its params, how it ended, and its validation NDCG@10 over steps."""

    number: int                 # order of creation, from 0 (0 = the defaults when include_defaults)
    params: dict
    status: str                 # completed (ran its budget) | stopped (by ASHA or the time budget first) | failed
                                # | unscored (no report: not started, or stopped before its first validation)
    history: list               # [{"step": int, "ndcg@10": float}], in report order
    seconds: float              # the trial's wall-clock seconds (Tune's time_total_s)
    cpu_seconds: float = 0.0    # CPU time of the trial's process up to its last report (unmoved by others' load)
    error: str | None = None

    @property
    def best_ndcg(self) -> float | None:
        scores = [h[METRIC] for h in self.history if math.isfinite(h[METRIC])]
        return max(scores) if scores else None

    @property
    def steps(self) -> int:
        return max((h["step"] for h in self.history), default=0)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "best_ndcg@10": self.best_ndcg, "steps": self.steps}


@dataclasses.dataclass
class SearchResult:
    """The chosen trial, every trial, and what the search cost."""

    best: TrialRecord
    trials: list
    space: dict
    settings: dict
    wall_seconds: float
    experiment_dir: str
    resumed: bool

    @property
    def train_overrides(self) -> dict:
        """The best params that are TrainConfig fields (what the train stage's overrides take)."""
        return split_params(self.best.params)[0]

    @property
    def value_policy(self) -> ValuePolicyChoice:
        return split_params(self.best.params)[1]

    def metrics(self) -> dict:
        """Numbers for Output[Metrics]: best NDCG@10, trials run / completed / stopped / failed, seconds."""
        count = lambda status: sum(t.status == status for t in self.trials)  # noqa: E731
        return {"best_ndcg@10": float(self.best.best_ndcg), "best_trial": self.best.number,
                "trials_run": len(self.trials) - count("unscored"), "trials_completed": count("completed"),
                "trials_stopped_early": count("stopped"), "trials_failed": count("failed"),
                "trials_unscored": count("unscored"),
                "trial_seconds": round(sum(t.seconds for t in self.trials), 2),
                "trial_cpu_seconds": round(sum(t.cpu_seconds for t in self.trials), 2),
                "wall_seconds": round(self.wall_seconds, 2), "resumed": int(self.resumed)}

    def to_dict(self) -> dict:
        return {"best_trial": self.best.number, "best_params": self.best.params,
                "train_overrides": self.train_overrides, "value_policy": self.value_policy.to_dict(),
                "metrics": self.metrics(), "space": self.space, "settings": self.settings,
                "experiment_dir": self.experiment_dir, "trials": [t.to_dict() for t in self.trials]}


def trial_record(result, settings: TuneSettings) -> TrialRecord:
    """A TrialRecord from a Ray Tune Result (its last metrics, its reports, its error)."""
    from shoprank.core.tuning.progress import trial_number

    metrics = result.metrics or {}
    history = []
    frame = result.metrics_dataframe
    if frame is not None and METRIC in frame.columns:
        for step, ndcg in frame[[TIME_ATTR, METRIC]].dropna().itertuples(index=False):
            if not history or history[-1]["step"] != int(step):  # a resumed trial repeats its last report
                history.append({"step": int(step), METRIC: float(ndcg)})
    trial_id = metrics.get("trial_id") or Path(result.path).name.removeprefix("trial_")
    config = result.config or {}
    # ASHA may also stop a trial at the rung of its last step: it ran its budget all the same.
    ran_budget = metrics.get(FINISHED) or (history and history[-1]["step"] >= config.get("max_steps", settings.max_steps))
    status = ("failed" if result.error is not None else "completed" if ran_budget else "stopped" if history
              else "unscored")
    return TrialRecord(number=trial_number(trial_id), params={k: config[k] for k in sorted(config)}, status=status,
                       history=history, seconds=float(metrics.get("time_total_s") or 0.0),
                       cpu_seconds=float(metrics.get("cpu_seconds") or 0.0),
                       error=None if result.error is None else error_summary(result.error))


def error_summary(error) -> str:
    """The exception line of a trial's error (Ray wraps it in a traceback)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if ("Error" in line.split(":")[0] or "Exception" in line.split(":")[0])
             and ":" in line]
    return (named[-1] if named else lines[-1] if lines else type(error).__name__)[:500]


def failure_message(trials: list) -> str:
    """Why a search has no best trial, quoting the first trials' errors."""
    failed = [t for t in trials if t.status == "failed"]
    first = "; ".join(f"trial {t.number}: {t.error}" for t in failed[:3])
    if failed:
        return f"tune: all {len(trials)} trials failed, so there is no best config; first errors: {first}"
    return (f"tune: none of the {len(trials)} trials reported a validation NDCG@10 before the time budget ended "
            "(a slow or busy machine); raise minutes or lower eval_every")
