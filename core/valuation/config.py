"""Settings of data valuation: the method, each method's knobs and the policy (frozen dataclasses)."""

from __future__ import annotations

import dataclasses

from shoprank.core.common.errors import ConfigError

METHODS = ("knn_shapley", "data_oob", "confident_learning")
POLICIES = ("weight", "drop", "none")


@dataclasses.dataclass(frozen=True)
class KnnShapleyConfig:
    """Exact KNN-Shapley.

    k: neighbours of the KNN classifier whose utility is valued.
    memory_mb: working-set budget per chunk of validation points (distances, sort order
        and recursion buffers); bounds memory for any number of training points.
    """

    k: int = 10
    memory_mb: int = 256

    def __post_init__(self):
        if self.k < 1:
            raise ConfigError(f"knn_shapley: expected k >= 1, got {self.k}")
        if self.memory_mb < 1:
            raise ConfigError(f"knn_shapley: expected memory_mb >= 1, got {self.memory_mb}")


@dataclasses.dataclass(frozen=True)
class DataOobConfig:
    """Data-OOB over a bag of decision trees (the paper's weak learner).

    n_estimators: bootstrap models; each point is out of bag in about 37% of them.
    max_features: features tried per split ("sqrt" as in a random forest).
    min_samples_leaf: leaf size of every tree (3 beat 1 and 5 on the 20%-noise sample).
    seed: seeds the bootstrap draws and the trees.
    n_jobs: threads fitting trees (None = all cores); the values do not depend on it.
    """

    n_estimators: int = 200
    max_features: str | float = "sqrt"
    min_samples_leaf: int = 3
    seed: int = 0
    n_jobs: int | None = None

    def __post_init__(self):
        if self.n_estimators < 2:
            raise ConfigError(f"data_oob: expected n_estimators >= 2, got {self.n_estimators}")


@dataclasses.dataclass(frozen=True)
class ConfidentLearningConfig:
    """Confident learning on out-of-fold probabilities of a multinomial logistic regression.

    n_folds: cross-validation folds (capped by the smallest class size, at least 2).
    c: inverse regularisation strength of the logistic regression.
    seed: seeds the fold assignment.
    """

    n_folds: int = 5
    c: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.n_folds < 2:
            raise ConfigError(f"confident_learning: expected n_folds >= 2, got {self.n_folds}")
        if self.c <= 0:
            raise ConfigError(f"confident_learning: expected c > 0, got {self.c}")


@dataclasses.dataclass(frozen=True)
class PolicyConfig:
    """How values become sample weights.

    policy: "weight" (the lowest `fraction` by value ramp linearly by rank from `floor` up
        to 1.0, everything else keeps 1.0), "drop" (the lowest `fraction` get weight 0.0)
        or "none" (every weight 1.0).
    floor: smallest weight the "weight" policy gives.
    fraction: share of training rows treated as suspicious; None uses the estimated noisy
        fraction from confident learning, capped at `max_fraction`.
    max_fraction: upper bound on the share a policy touches when `fraction` is None.
    """

    policy: str = "weight"
    floor: float = 0.1
    fraction: float | None = None
    max_fraction: float = 0.5

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ConfigError(f"value policy: expected one of {POLICIES}, got {self.policy!r}")
        if not 0.0 <= self.floor <= 1.0:
            raise ConfigError(f"value policy: expected 0 <= floor <= 1, got {self.floor}")
        if self.fraction is not None and not 0.0 <= self.fraction < 1.0:
            raise ConfigError(f"value policy: expected 0 <= fraction < 1, got {self.fraction}")
        if not 0.0 <= self.max_fraction < 1.0:
            raise ConfigError(f"value policy: expected 0 <= max_fraction < 1, got {self.max_fraction}")


@dataclasses.dataclass(frozen=True)
class ValuationConfig:
    """Everything `value_examples` needs: the method, its settings, and the policy."""

    method: str = "knn_shapley"
    knn: KnnShapleyConfig = KnnShapleyConfig()
    oob: DataOobConfig = DataOobConfig()
    confident: ConfidentLearningConfig = ConfidentLearningConfig()
    policy: PolicyConfig = PolicyConfig()

    def __post_init__(self):
        if self.method not in METHODS:
            raise ConfigError(f"valuation: expected method in {METHODS}, got {self.method!r}")
