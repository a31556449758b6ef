"""Per-example data value on feature vectors: exact KNN-Shapley, Data-OOB, confident learning.

Three views of one question, "which training labels hurt?":

- `knn_shapley`: exact Shapley values of each training point for a K-nearest-neighbour
  classifier, scored against a labelled validation set (Jia et al., 2019). Closed-form
  recursion over the training points sorted by distance to each validation point, so
  O(N log N) per validation point; validation points are processed in chunks sized to a
  memory budget, and everything inside a chunk is vectorised NumPy.
- `data_oob`: Data-OOB (Kwon & Zou, 2023): bag a light model and score each point by how
  often the models that never saw it predict its label. Needs no validation set.
- `confident_learning`: cleanlab's confident learning on out-of-fold predicted
  probabilities of a logistic regression: the cheap, strong flag of flipped labels, and the
  estimate of the noisy fraction.

Graded labels (0..3 on the ESCI scale) are treated as classes: the KNN utility is the share
of the K nearest training neighbours whose grade *equals* the validation point's grade (the
classification variant of Jia et al.). We chose it over the regression variant because the
grades are categories with different meanings (Complement is not "half of Substitute"),
because Data-OOB and confident learning are classifiers too, and because the classification
values are what pyDVL computes, so the two can be checked against each other to 1e-6.

Policies turn values into sample weights (`weight`: the lowest `fraction` ramp down to a
floor by rank, the rest keep 1.0) or drop the lowest `fraction` (`drop`: weight 0.0).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import numpy as np

from shoprank.core.common.errors import ConfigError, DataValidationError
from shoprank.core.common.progress import ProgressLog

log = logging.getLogger(__name__)

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


@dataclasses.dataclass
class ConfidentLearningResult:
    """cleanlab's view: per-row label quality (low = suspicious), issue flags, noisy share."""

    quality: np.ndarray
    is_issue: np.ndarray
    noisy_fraction: float
    pred_probs: np.ndarray


@dataclasses.dataclass
class ValuationResult:
    """Values (higher = more useful), weights after the policy, and a JSON-able summary."""

    values: np.ndarray
    weights: np.ndarray
    is_issue: np.ndarray
    noisy_fraction: float
    metrics: dict


# --------------------------------------------------------------------------- checks


def check_inputs(x_train, y_train, x_valid=None, y_valid=None) -> tuple[np.ndarray, ...]:
    """Features as float64 arrays, labels as given; clear errors for empty or one-class input."""
    x_train = np.asarray(x_train, dtype=np.float64)
    y_train = np.asarray(y_train)
    if x_train.ndim != 2 or y_train.ndim != 1 or len(x_train) != len(y_train):
        raise DataValidationError(
            "valuation: expected training features of shape (n, d) and labels of shape (n,), "
            f"got {x_train.shape} and {y_train.shape}"
        )
    if len(y_train) == 0:
        raise DataValidationError("valuation: expected at least 2 training rows, got 0 (empty input)")
    classes = np.unique(y_train)
    if classes.size < 2:
        raise DataValidationError(
            "valuation: expected at least 2 distinct labels among the training rows, got only "
            f"label {classes[0].item()!r} in all {len(y_train)} rows (one-class input has no value signal)"
        )
    if not np.isfinite(x_train).all():
        bad = int(np.flatnonzero(~np.isfinite(x_train).all(axis=1))[0])
        raise DataValidationError(f"valuation: expected finite features, got NaN/inf in training row {bad}")
    if x_valid is None:
        return x_train, y_train
    x_valid = np.asarray(x_valid, dtype=np.float64)
    y_valid = np.asarray(y_valid)
    if len(y_valid) == 0:
        raise DataValidationError("valuation: expected at least 1 validation row for knn_shapley, got 0 (empty input)")
    if x_valid.ndim != 2 or x_valid.shape[1] != x_train.shape[1] or len(x_valid) != len(y_valid):
        raise DataValidationError(
            f"valuation: expected validation features of shape (m, {x_train.shape[1]}) and labels (m,), "
            f"got {x_valid.shape} and {y_valid.shape}"
        )
    if not np.isfinite(x_valid).all():
        raise DataValidationError("valuation: expected finite validation features, got NaN/inf")
    return x_train, y_train, x_valid, y_valid


def single_threaded_blas():
    """Small-matrix model fits run far faster on one BLAS thread: with NumPy's and SciPy's
    OpenBLAS pools both spinning on few cores, lbfgs slowed down 30-100x in measurements here."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


# --------------------------------------------------------------------------- KNN-Shapley


def knn_shapley(x_train, y_train, x_valid, y_valid, config: KnnShapleyConfig = KnnShapleyConfig()) -> np.ndarray:
    """Exact KNN-Shapley value of every training point, averaged over the validation points.

    For one validation point with training points sorted by distance (rank 1 = nearest),
    s_N = [y_N == y] / N (times min(K, N) / K, which matters only when N < K) and
    s_i = s_{i+1} + ([y_i == y] - [y_{i+1} == y]) / K * min(K, i) / i.
    The recursion is a reverse cumulative sum, so a chunk of validation points is one sort
    and a few array operations; values go back to training order with one bincount.
    """
    x_train, y_train, x_valid, y_valid = check_inputs(x_train, y_train, x_valid, y_valid)
    n, k = len(y_train), config.k
    # Squared Euclidean distance up to a per-row constant (||t||^2), which leaves the order unchanged.
    train_sq = np.einsum("ij,ij->i", x_train, x_train)
    rank = np.arange(1, n, dtype=np.float64)  # ranks 1..N-1 of the recursion steps
    step = np.minimum(k, rank) / (k * rank)
    # Up to ~8 arrays of n float64/int64 per validation point live at once inside a chunk.
    chunk = max(1, int(config.memory_mb * 2**20 // (64 * n)))
    totals = np.zeros(n, dtype=np.float64)
    progress = ProgressLog(log, "knn-shapley", len(y_valid), "validation points")
    for start in range(0, len(y_valid), chunk):
        xv, yv = x_valid[start:start + chunk], y_valid[start:start + chunk]
        dist = train_sq[None, :] - 2.0 * (xv @ x_train.T)
        order = np.argsort(dist, axis=1)
        del dist
        match = (y_train[order] == yv[:, None]).astype(np.float64)
        diffs = (match[:, :-1] - match[:, 1:]) * step
        shap = np.empty_like(match)
        shap[:, -1] = match[:, -1] * min(k, n) / (k * n)  # = match / N once N >= K
        # s_i = s_N + sum_{j >= i} diffs_j: a cumulative sum from the far end.
        shap[:, :-1] = np.cumsum(diffs[:, ::-1], axis=1)[:, ::-1] + shap[:, -1:]
        totals += np.bincount(order.ravel(), weights=shap.ravel(), minlength=n)
        progress.advance(len(yv))
    return totals / len(y_valid)


# --------------------------------------------------------------------------- Data-OOB


def data_oob(x_train, y_train, config: DataOobConfig = DataOobConfig()) -> np.ndarray:
    """Data-OOB value: the share of out-of-bag trees that predict each point's own label.

    Bootstrap draws and tree seeds come from config.seed up front, so the values do not
    depend on how many threads fit the trees. Points never out of bag (vanishingly rare
    past ~20 trees) get the mean value.
    """
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.tree import DecisionTreeClassifier

    x_train, y_train = check_inputs(x_train, y_train)
    x_train = x_train.astype(np.float32)  # what the trees use; converting once saves a copy per tree
    n = len(y_train)
    rng = np.random.default_rng(config.seed)
    bags = rng.integers(0, n, size=(config.n_estimators, n))
    tree_seeds = rng.integers(2**31 - 1, size=config.n_estimators)

    def out_of_bag_hits(b: int) -> tuple[np.ndarray, np.ndarray]:
        # A bootstrap sample as counts (sample weights), as scikit-learn's bagging fits it.
        counts = np.bincount(bags[b], minlength=n)
        out = counts == 0
        tree = DecisionTreeClassifier(
            max_features=config.max_features, min_samples_leaf=config.min_samples_leaf,
            random_state=int(tree_seeds[b]),
        ).fit(x_train, y_train, sample_weight=counts.astype(np.float64))
        return out, tree.predict(x_train[out]) == y_train[out]

    correct = np.zeros(n)
    seen_out = np.zeros(n)
    # Tree fitting releases the GIL, so threads use every core without copying the data.
    with single_threaded_blas(), ThreadPoolExecutor(max_workers=config.n_jobs or os.cpu_count()) as pool:
        for out, hits in pool.map(out_of_bag_hits, range(config.n_estimators)):
            correct[out] += hits
            seen_out[out] += 1
    values = np.divide(correct, seen_out, out=np.full(n, np.nan), where=seen_out > 0)
    return np.where(np.isnan(values), np.nanmean(values), values)


# --------------------------------------------------------------------------- confident learning


def out_of_fold_probabilities(x_train, y_train, config: ConfidentLearningConfig = ConfidentLearningConfig()) -> np.ndarray:
    """Predicted class probabilities for each row from a model that never saw it (stratified folds).

    Columns follow the sorted unique labels.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x_train, y_train = check_inputs(x_train, y_train)
    classes, codes = np.unique(y_train, return_inverse=True)
    smallest = int(np.bincount(codes).min())
    n_folds = min(config.n_folds, smallest)
    if n_folds < 2:
        raise DataValidationError(
            "confident_learning: expected at least 2 rows of every label for out-of-fold "
            f"probabilities, got {dict(zip(classes.tolist(), np.bincount(codes).tolist()))}"
        )
    probs = np.zeros((len(codes), classes.size))
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=config.seed)
    progress = ProgressLog(log, "confident learning", n_folds, "folds")
    with single_threaded_blas():
        for fit_idx, held_idx in folds.split(x_train, codes):
            model = LogisticRegression(C=config.c, max_iter=1000).fit(x_train[fit_idx], codes[fit_idx])
            # A fold may miss a rare class; its column stays 0 for the rows this model scores.
            probs[np.ix_(held_idx, model.classes_)] = model.predict_proba(x_train[held_idx])
            progress.advance(1)
    return probs


def confident_learning(x_train, y_train, config: ConfidentLearningConfig = ConfidentLearningConfig()) -> ConfidentLearningResult:
    """cleanlab flags and label-quality scores from out-of-fold probabilities."""
    from cleanlab.count import num_label_issues
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    x_train, y_train = check_inputs(x_train, y_train)
    probs = out_of_fold_probabilities(x_train, y_train, config)
    codes = np.unique(y_train, return_inverse=True)[1]
    quality = get_label_quality_scores(codes, probs)
    is_issue = find_label_issues(codes, probs)
    noisy_fraction = num_label_issues(codes, probs) / len(codes)
    return ConfidentLearningResult(quality=quality, is_issue=is_issue, noisy_fraction=float(noisy_fraction), pred_probs=probs)


# --------------------------------------------------------------------------- policy


def policy_weights(values, config: PolicyConfig = PolicyConfig(), noisy_fraction: float | None = None) -> np.ndarray:
    """Sample weights from values (higher value = keep), per the policy.

    Ties in value are broken by row order so the result is deterministic.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    weights = np.ones(n)
    if config.policy == "none" or n == 0:
        return weights
    fraction = config.fraction
    if fraction is None:
        fraction = min(noisy_fraction or 0.0, config.max_fraction)
    n_low = int(round(fraction * n))
    if n_low == 0:
        return weights
    lowest = np.argsort(values, kind="stable")[:n_low]
    if config.policy == "drop":
        weights[lowest] = 0.0
    else:
        # The lowest row gets the floor; the ramp reaches 1.0 where the suspicious band ends.
        weights[lowest] = config.floor + (1.0 - config.floor) * np.arange(n_low) / n_low
    return weights


# --------------------------------------------------------------------------- one entry point


def value_examples(x_train, y_train, x_valid=None, y_valid=None, config: ValuationConfig = ValuationConfig()) -> ValuationResult:
    """Value every training row with config.method, flag label issues, and apply the policy."""
    x_train, y_train = check_inputs(x_train, y_train)
    started = time.perf_counter()
    if config.method == "knn_shapley":
        if x_valid is None or y_valid is None:
            raise DataValidationError("knn_shapley: expected validation features and labels, got none")
        values = knn_shapley(x_train, y_train, x_valid, y_valid, config.knn)
    elif config.method == "data_oob":
        values = data_oob(x_train, y_train, config.oob)
    value_seconds = time.perf_counter() - started
    confident = confident_learning(x_train, y_train, config.confident)
    if config.method == "confident_learning":
        values = confident.quality
        value_seconds = time.perf_counter() - started
    weights = policy_weights(values, config.policy, confident.noisy_fraction)
    metrics = {
        "method": config.method,
        "n": int(len(y_train)),
        "n_validation": int(0 if y_valid is None else len(y_valid)),
        "estimated_noisy_share": round(confident.noisy_fraction, 6),
        "flagged_share": round(float(confident.is_issue.mean()), 6),
        "negative_value_share": round(float(np.mean(values < 0)), 6),
        "policy": config.policy.policy,
        "down_weighted_share": round(float(np.mean(weights < 1.0)), 6),
        "mean_weight": round(float(weights.mean()), 6),
        "value_seconds": round(value_seconds, 4),
        "seconds": round(time.perf_counter() - started, 4),
    }
    log.info("valuation: %s on %d rows in %.2fs, estimated noisy share %.3f",
             config.method, len(y_train), metrics["seconds"], confident.noisy_fraction)
    return ValuationResult(values=values, weights=weights, is_issue=confident.is_issue,
                           noisy_fraction=confident.noisy_fraction, metrics=metrics)
