"""How a search runs: budgets, scheduler, per-trial resources and where Ray is (TuneSettings)."""

from __future__ import annotations

import dataclasses
import math
import typing

from shoprank.core.common.errors import ConfigError

SCHEDULERS = ("asha", "fifo")


def is_of_type(value, type_name: str) -> bool:
    """Whether value is of the plain kind type_name ("bool", "int", "float" or "str"): a bool is no
    int or float here, and a float must be finite."""
    if type_name == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if type_name == "int":
        return isinstance(value, int)
    if type_name == "float":
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, str)


def check_field_types(settings) -> None:
    """ConfigError naming the first field whose value is not of its declared kind (is_of_type; the
    field may be None where it is declared optional), e.g. "2" for minutes or 2.5 for trials."""
    check_value_types(type(settings), dataclasses.asdict(settings), "tune: ")


def check_value_types(cls, values: dict, prefix: str = "") -> None:
    """ConfigError (message prefix + "<field> must be <kind>, got <value>") for the first of values
    (field name -> value, before cls(**values) is built) that is not of the kind cls declares for it.
    Names that are not fields of cls are left to cls itself."""
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        if name not in hints:
            continue
        hint = hints[name]
        nullable = type(None) in typing.get_args(hint)
        kind = next((k for k in typing.get_args(hint) if k is not type(None)), hint).__name__
        if not (value is None and nullable) and not is_of_type(value, kind):
            raise ConfigError(f"{prefix}{name} must be {'a finite number' if kind == 'float' else kind}"
                              f"{' or None' if nullable else ''}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class TuneSettings:
    """Budgets and machinery of one search; every field has a documented default.

    The defaults add about 4.5 minutes of search to `shoprank run` (the 4-minute time budget plus
    Ray's start; README), after the distillation teacher scores the training rows once (the train
    stage reuses those scores): up to 8 short fine-tunes of at most 30 steps on 2,400 training pairs,
    validated on 20 validation queries every 10 steps, ASHA stopping the weak ones at step 10.
    Trials run one at a time unless the cores (or GPUs) fit more.
    """

    trials: int = 8                     # trial budget: configurations tried (the first is the defaults, see below)
    minutes: float = 4.0                # time budget in minutes; running trials stop when it ends (whichever first)
    seed: int = 0                       # seeds the sampler and every trial's training
    scheduler: str = "asha"             # asha (Li et al. 2020, arXiv 1810.05934) | fifo (every trial to max_steps)
    max_steps: int = 30                 # optimizer steps per trial (ASHA's max_t, in steps)
    grace_steps: int = 10               # ASHA: steps before a trial may be stopped (the first rung)
    reduction_factor: float = 3.0       # ASHA: 1 in this many trials goes on at each rung
    eval_every: int = 10                # steps between validations; each one is a report ASHA reads
    max_pairs: int | None = 2400        # training pairs per trial (whole queries, seeded); None = all
    validation_queries: int | None = 20  # validation queries a trial is scored on (seeded); None = all
    include_defaults: bool = True       # the first trial is the train stage's own config (when inside the space)
    cpus_per_trial: int = 2             # CPUs (and torch threads) per trial; locally at most the machine's cores
    gpus_per_trial: float = 0.0         # GPU share per trial (0.5 = two trials per GPU)
    max_concurrent: int | None = None   # trials at once; None = as many as the resources fit
    max_failures: int = 0               # retries of a failed trial (from its last checkpoint); a deterministic
                                        # error fails again, so raise it only for lost nodes on a cluster
    trial_checkpoints: bool = True      # checkpoint a trial where it goes on (past ASHA's first rung, before its
                                        # last step), so a killed search resumes it rather than restarting it
    keep_trial_checkpoints: bool = False  # keep them after a search that finished (they are only for resuming)
    ray_address: str | None = None      # an existing Ray cluster ("auto", "ray://head:10001"); None = RAY_ADDRESS
                                        # or, without it, a local Ray on this machine's cores

    def __post_init__(self):
        check_field_types(self)
        if self.trials < 1:
            raise ConfigError(f"tune: trials must be >= 1 (the trial budget), got {self.trials}")
        if not self.minutes > 0:
            raise ConfigError(f"tune: minutes must be > 0 (the time budget), got {self.minutes}")
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(f"tune: scheduler must be one of {SCHEDULERS}, got {self.scheduler!r}")
        for name in ("max_steps", "grace_steps", "eval_every", "cpus_per_trial"):
            if getattr(self, name) < 1:
                raise ConfigError(f"tune: {name} must be >= 1, got {getattr(self, name)}")
        if not self.eval_every <= self.grace_steps <= self.max_steps:
            raise ConfigError(f"tune: need eval_every <= grace_steps <= max_steps (a report at or before the first "
                              f"rung, the rung within the budget), got {self.eval_every}, {self.grace_steps}, "
                              f"{self.max_steps}")
        if not self.reduction_factor > 1:
            raise ConfigError(f"tune: reduction_factor must be > 1, got {self.reduction_factor}")
        for name in ("max_pairs", "validation_queries", "max_concurrent"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"tune: {name} must be >= 1 or None, got {value}")
        if self.gpus_per_trial < 0 or self.max_failures < 0:
            raise ConfigError(f"tune: gpus_per_trial and max_failures must be >= 0, got {self.gpus_per_trial}, "
                              f"{self.max_failures}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
