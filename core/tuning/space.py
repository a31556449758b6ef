"""The hyperparameter search space, declared as data and checked before any trial runs.

A space is a JSON object: dimension name -> {"type": ..., ...}, e.g.

    {"lr": {"type": "loguniform", "low": 5e-5, "high": 5e-4},
     "loss": {"type": "choice", "values": ["listwise", "pairwise"]},
     "value_policy": {"type": "choice", "values": ["as_valued", "drop"]},
     "value_share": {"type": "uniform", "low": 0.05, "high": 0.3}}

Types: "choice" (values: a list), "uniform" and "loguniform" (low < high; floats), "int"
(low < high, both included). Names: TrainConfig fields (lr, batch_size, epochs, max_steps,
warmup_ratio, weight_decay, layer_lr_decay, loss, ...) and the data-value policy (value_policy,
value_share, value_floor; core/valuation/reapply.py). Every bound and choice is tried on
TrainConfig (or the policy) first, so a value training would refuse fails here, naming the
dimension, not in the fifth trial. Limits of the base model itself (its layers and position
embeddings) are checked before the first trial by core/tuning/model_limits.py.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping

from shoprank.core.common.errors import ConfigError
from shoprank.core.training.config import TrainConfig
from shoprank.core.tuning.settings import is_of_type
from shoprank.core.valuation.reapply import AS_VALUED, ValuePolicyChoice

KINDS = ("choice", "uniform", "loguniform", "int")
VALUE_DIMENSIONS = {"value_policy": "str", "value_share": "float", "value_floor": "float"}
# TrainConfig fields that are the trial's machinery or budget, not hyperparameters.
NOT_SEARCHED = ("seed", "device", "precision", "num_threads", "init_model_dir", "log_every", "checkpoint_every",
                "eval_every", "patience", "max_minutes", "max_pairs", "cuda_graphs", "eval_batch_size")

# The default space. Epochs are not in it: trials stop after a few dozen steps on a subset of
# the pairs, so the number of passes over all of them is not something a trial can measure;
# the train stage keeps its own epochs (add "epochs" or "max_steps" to search them anyway).
DEFAULT_SPACE: dict = {
    "lr": {"type": "loguniform", "low": 5e-5, "high": 5e-4},
    "batch_size": {"type": "choice", "values": [32, 48, 64]},
    "warmup_ratio": {"type": "uniform", "low": 0.0, "high": 0.2},
    "weight_decay": {"type": "choice", "values": [0.0, 0.01, 0.1]},
    "loss": {"type": "choice", "values": ["listwise", "pairwise", "pointwise"]},
    "layer_lr_decay": {"type": "uniform", "low": 0.7, "high": 1.0},
    "value_policy": {"type": "choice", "values": [AS_VALUED, "weight", "drop"]},
    "value_share": {"type": "uniform", "low": 0.05, "high": 0.3},
}


def _field_types() -> dict[str, tuple[str, bool]]:
    """Searchable name -> (base type, None allowed)."""
    types = {}
    for field in dataclasses.fields(TrainConfig):
        if field.name in NOT_SEARCHED:
            continue
        annotation = str(field.type).replace(" ", "")
        types[field.name] = (annotation.split("|")[0], "None" in annotation)
    types.update({name: (kind, False) for name, kind in VALUE_DIMENSIONS.items()})
    return types


SEARCHABLE = _field_types()


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One searched name: a choice among values, or a range [low, high]."""

    name: str
    kind: str
    low: Any = None
    high: Any = None
    values: tuple = ()

    def candidates(self) -> tuple:
        """The values that bound what this dimension can produce (the range ends, or every choice)."""
        return self.values if self.kind == "choice" else (self.low, self.high)

    def contains(self, value) -> bool:
        if self.kind == "choice":
            return value in self.values
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and int(value) != value:
            return False
        return self.low <= value <= self.high

    def to_ray(self):
        from ray import tune

        if self.kind == "choice":
            return tune.choice(list(self.values))
        if self.kind == "uniform":
            return tune.uniform(self.low, self.high)
        if self.kind == "loguniform":
            return tune.loguniform(self.low, self.high)
        return tune.randint(self.low, self.high + 1)  # Ray's upper bound is exclusive

    def to_dict(self) -> dict:
        if self.kind == "choice":
            return {"type": "choice", "values": list(self.values)}
        return {"type": self.kind, "low": self.low, "high": self.high}


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Validated dimensions, in declaration order. Build with from_dict / from_json."""

    dimensions: tuple[Dimension, ...]

    @classmethod
    def from_dict(cls, space: Mapping, base: TrainConfig = TrainConfig()) -> "SearchSpace":
        """Check a space (see the module doc) against TrainConfig and the value policy.

        Raises ConfigError naming the dimension and what was expected, for: an empty space or
        one that is not an object, an unknown name or type, a malformed range or choice, a value
        of the wrong type, and a value TrainConfig (or the policy) refuses.
        """
        if not isinstance(space, Mapping):
            raise ConfigError(f"search space: expected a JSON object of dimensions, got {type(space).__name__}")
        if not space:
            raise ConfigError("search space: expected at least one dimension, got an empty space")
        dims = tuple(_dimension(name, spec) for name, spec in space.items())
        for dim in dims:
            _check_accepted(dim, base)
        return cls(dims)

    @classmethod
    def from_json(cls, text: str, base: TrainConfig = TrainConfig()) -> "SearchSpace":
        try:
            space = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"search space: expected a JSON object, got {text[:80]!r}: {err}") from None
        return cls.from_dict(space, base)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    def to_dict(self) -> dict:
        return {d.name: d.to_dict() for d in self.dimensions}

    def to_ray(self) -> dict:
        """Ray Tune's param_space: one sampler per dimension."""
        return {d.name: d.to_ray() for d in self.dimensions}

    def contains(self, params: Mapping) -> bool:
        """True when params has a value for every dimension, each inside it."""
        return all(d.name in params and d.contains(params[d.name]) for d in self.dimensions)

    def point_of(self, base: TrainConfig) -> dict | None:
        """The base config (and the value stage's own weights) as a point of this space, or None
        when one of its values lies outside the space."""
        point = {}
        for dim in self.dimensions:
            if dim.name == "value_policy":
                value = AS_VALUED
            elif dim.name in VALUE_DIMENSIONS:
                value = dim.values[0] if dim.kind == "choice" else dim.low  # unread under as_valued
            else:
                value = getattr(base, dim.name)
            if not dim.contains(value):
                return None
            point[dim.name] = value
        return point


def split_params(params: Mapping) -> tuple[dict, ValuePolicyChoice]:
    """A trial's params as (TrainConfig overrides, value-policy choice)."""
    train = {k: v for k, v in params.items() if k not in VALUE_DIMENSIONS}
    policy = ValuePolicyChoice(policy=params.get("value_policy", AS_VALUED),
                               share=float(params.get("value_share", 0.0)),
                               floor=float(params.get("value_floor", 0.1)))
    return train, policy


def _dimension(name: str, spec) -> Dimension:
    if name not in SEARCHABLE:
        raise ConfigError(f"search space: unknown dimension {name!r}; expected one of {sorted(SEARCHABLE)}")
    if not isinstance(spec, Mapping) or spec.get("type") not in KINDS:
        got = spec.get("type") if isinstance(spec, Mapping) else spec
        raise ConfigError(f"search space: {name} needs {{\"type\": one of {KINDS}, ...}}, got {got!r}")
    kind = spec["type"]
    allowed = {"type", "values"} if kind == "choice" else {"type", "low", "high"}
    extra = sorted(set(spec) - allowed)
    if extra:
        raise ConfigError(f"search space: {name} ({kind}) takes keys {sorted(allowed)}, got also {extra}")
    base_type, nullable = SEARCHABLE[name]
    if kind == "choice":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"search space: {name} choice needs a non-empty list of values, got {values!r}")
        if len({json.dumps(v) for v in values}) != len(values):
            raise ConfigError(f"search space: {name} choice lists a value twice: {values}")
        for value in values:
            if not (value is None and nullable) and not is_of_type(value, base_type):
                raise ConfigError(f"search space: {name} expects {base_type} values, got {value!r}")
        return Dimension(name, kind, values=tuple(values))
    low, high = spec.get("low"), spec.get("high")
    numeric = base_type == "int" if kind == "int" else base_type in ("float", "int")
    if not numeric:
        raise ConfigError(f"search space: {name} is a {base_type}; a {kind} range cannot produce one "
                          f"(use a choice{' or an int range' if base_type == 'int' else ''})")
    if kind == "int" and not (is_of_type(low, "int") and is_of_type(high, "int")):
        raise ConfigError(f"search space: {name} int range needs integer low and high, got {low!r}, {high!r}")
    if kind != "int" and base_type == "int":
        raise ConfigError(f"search space: {name} is an integer; use an int range or a choice, not {kind}")
    if not (is_of_type(low, "float") and is_of_type(high, "float")) or not low < high:
        raise ConfigError(f"search space: {name} {kind} needs finite numbers low < high, got low={low!r}, high={high!r}")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"search space: {name} loguniform needs low > 0, got {low}")
    return Dimension(name, kind, low=low, high=high)


def _check_accepted(dim: Dimension, base: TrainConfig) -> None:
    """Every bound or choice of dim must be a value training (or the value policy) accepts."""
    for value in dim.candidates():
        try:
            if dim.name == "value_policy":
                ValuePolicyChoice(policy=value, share=0.1)
            elif dim.name == "value_share":
                ValuePolicyChoice(policy="drop", share=value)
            elif dim.name == "value_floor":
                ValuePolicyChoice(policy="weight", share=0.1, floor=value)
            else:
                dataclasses.replace(base, **{dim.name: value})
        except ConfigError as err:
            raise ConfigError(f"search space: {dim.name}={value!r} is outside what training accepts: {err}") from None
