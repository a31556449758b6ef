"""Data valuation: exactness of KNN-Shapley, determinism, noise detection, errors, policies."""

import itertools
import math

import numpy as np
import pytest

from shoprank.core.common.errors import ConfigError, DataValidationError
from shoprank.core.valuation.config import (ConfidentLearningConfig, DataOobConfig, KnnShapleyConfig, PolicyConfig,
                                            ValuationConfig)
from shoprank.core.valuation.confident_learning import confident_learning
from shoprank.core.valuation.data_oob import data_oob
from shoprank.core.valuation.knn_shapley import knn_shapley
from shoprank.core.valuation.methods import value_examples
from shoprank.core.valuation.policy import policy_weights


def knn_utility(subset, x, y, x_valid, y_valid, k):
    """Mean over validation points of the share of the k nearest subset points with the same label."""
    if not subset:
        return 0.0
    subset = np.asarray(subset)
    total = 0.0
    for point, label in zip(x_valid, y_valid):
        nearest = subset[np.argsort(((x[subset] - point) ** 2).sum(axis=1), kind="stable")[:k]]
        total += np.sum(y[nearest] == label) / k
    return total / len(y_valid)


def permutation_shapley(x, y, x_valid, y_valid, k):
    """Shapley values by enumerating every permutation of the training points."""
    n = len(y)
    values = np.zeros(n)
    perms = list(itertools.permutations(range(n)))
    for perm in perms:
        before = 0.0
        for i, point in enumerate(perm):
            after = knn_utility(list(perm[: i + 1]), x, y, x_valid, y_valid, k)
            values[point] += after - before
            before = after
    return values / len(perms)


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(3)
    return rng.normal(size=(6, 3)), rng.integers(0, 3, 6), rng.normal(size=(4, 3)), rng.integers(0, 3, 4)


@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_knn_shapley_equals_permutation_enumeration(tiny, k):
    x, y, xv, yv = tiny
    exact = permutation_shapley(x, y, xv, yv, k)
    ours = knn_shapley(x, y, xv, yv, KnnShapleyConfig(k=k))
    np.testing.assert_allclose(ours, exact, atol=1e-12)
    # Efficiency: the values add up to the utility of the whole training set.
    assert math.isclose(ours.sum(), knn_utility(list(range(len(y))), x, y, xv, yv, k), abs_tol=1e-12)


def test_knn_shapley_chunking_does_not_change_values():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3000, 8)), rng.integers(0, 4, 3000)
    xv, yv = rng.normal(size=(150, 8)), rng.integers(0, 4, 150)
    whole = knn_shapley(x, y, xv, yv, KnnShapleyConfig(k=5, memory_mb=512))
    chunked = knn_shapley(x, y, xv, yv, KnnShapleyConfig(k=5, memory_mb=1))  # ~7 validation rows a chunk
    np.testing.assert_allclose(chunked, whole, atol=1e-14)


def two_clusters_with_twins(seed=0):
    """Two well-separated classes; the last two rows are the same point, one with a flipped label."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [6.0, 6.0]])
    y = rng.integers(0, 2, 200)
    x = centers[y] + rng.normal(size=(200, 2))
    twin = centers[0] + rng.normal(scale=0.3, size=2)
    x = np.vstack([x, twin, twin + 1e-3])
    y = np.concatenate([y, [0, 1]])  # clean twin, flipped twin
    yv = rng.integers(0, 2, 60)
    xv = centers[yv] + rng.normal(size=(60, 2))
    return x, y, xv, yv


def test_flipped_label_scores_lower_than_its_clean_twin():
    x, y, xv, yv = two_clusters_with_twins()
    knn = knn_shapley(x, y, xv, yv, KnnShapleyConfig(k=5))
    oob = data_oob(x, y, DataOobConfig(n_estimators=50))
    quality = confident_learning(x, y).quality
    for values in (knn, oob, quality):
        assert values[-1] < values[-2]
    assert knn[-1] < 0 < knn[-2]
    assert knn[-1] == knn.min()


def test_same_seed_same_values_and_seed_matters():
    x, y, xv, yv = two_clusters_with_twins(seed=1)
    config = ValuationConfig(method="data_oob", oob=DataOobConfig(n_estimators=30, seed=5))
    a = value_examples(x, y, config=config)
    b = value_examples(x, y, config=config)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.weights, b.weights)
    single = data_oob(x, y, DataOobConfig(n_estimators=30, seed=5, n_jobs=1))
    np.testing.assert_array_equal(a.values, single)  # threads do not change the values
    other = data_oob(x, y, DataOobConfig(n_estimators=30, seed=6))
    assert not np.array_equal(a.values, other)
    knn = ValuationConfig(method="knn_shapley")
    np.testing.assert_array_equal(value_examples(x, y, xv, yv, knn).values, value_examples(x, y, xv, yv, knn).values)


def test_detects_flipped_digits():
    from sklearn.datasets import load_digits
    from sklearn.metrics import roc_auc_score

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, valid = order[:1200], order[1200:]
    noisy = y[train].copy()
    flipped = np.zeros(len(train), dtype=bool)
    flipped[rng.choice(len(train), 240, replace=False)] = True
    noisy[flipped] = (noisy[flipped] + rng.integers(1, 10, flipped.sum())) % 10
    knn = knn_shapley(x[train], noisy, x[valid], y[valid], KnnShapleyConfig(k=10))
    assert roc_auc_score(flipped, -knn) > 0.97
    oob = data_oob(x[train], noisy, DataOobConfig(n_estimators=60))
    assert roc_auc_score(flipped, -oob) > 0.95
    cl = confident_learning(x[train], noisy)
    assert roc_auc_score(flipped, -cl.quality) > 0.95
    assert 0.1 < cl.noisy_fraction < 0.35


@pytest.mark.parametrize("method", ["knn_shapley", "data_oob", "confident_learning"])
def test_empty_input_is_a_clear_error(method):
    with pytest.raises(DataValidationError, match="empty input"):
        value_examples(np.zeros((0, 3)), np.zeros(0, dtype=int), np.zeros((2, 3)), np.array([0, 1]),
                       ValuationConfig(method=method))


@pytest.mark.parametrize("method", ["knn_shapley", "data_oob", "confident_learning"])
def test_one_class_input_is_a_clear_error(method):
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(DataValidationError, match="2 distinct labels.*label 2 in all 20 rows"):
        value_examples(x, np.full(20, 2), x[:3], np.array([2, 2, 2]), ValuationConfig(method=method))


def test_knn_shapley_needs_validation_rows():
    x, y, _, _ = two_clusters_with_twins()
    with pytest.raises(DataValidationError, match="validation"):
        value_examples(x, y, config=ValuationConfig(method="knn_shapley"))
    with pytest.raises(DataValidationError, match="0 \\(empty input\\)"):
        knn_shapley(x, y, np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(DataValidationError, match="shape"):
        knn_shapley(x, y, np.zeros((3, 5)), np.zeros(3, dtype=int))


def test_weight_policy_ramps_the_lowest_fraction_to_the_floor():
    values = np.array([0.5, -0.2, 0.1, -0.9, 0.3, 0.0, 0.2, 0.4, -0.1, 0.6])
    weights = policy_weights(values, PolicyConfig(policy="weight", floor=0.2, fraction=0.3))
    assert weights[3] == pytest.approx(0.2)  # the lowest value gets the floor
    assert (weights < 1).sum() == 3 and set(np.flatnonzero(weights < 1)) == {1, 3, 8}
    assert weights[3] < weights[1] < weights[8] < 1.0
    dropped = policy_weights(values, PolicyConfig(policy="drop", fraction=0.2))
    assert set(np.flatnonzero(dropped == 0)) == {1, 3} and (dropped[dropped > 0] == 1).all()
    assert (policy_weights(values, PolicyConfig(policy="none")) == 1).all()
    # fraction None: the estimated noisy share decides, capped by max_fraction.
    assert (policy_weights(values, PolicyConfig(policy="drop"), noisy_fraction=0.4) == 0).sum() == 4
    assert (policy_weights(values, PolicyConfig(policy="drop", max_fraction=0.1), noisy_fraction=0.4) == 0).sum() == 1


def test_bad_configs_are_rejected():
    with pytest.raises(ConfigError, match="k >= 1"):
        KnnShapleyConfig(k=0)
    with pytest.raises(ConfigError, match="policy"):
        PolicyConfig(policy="shrink")
    with pytest.raises(ConfigError, match="method"):
        ValuationConfig(method="loo")
    with pytest.raises(ConfigError, match="n_folds"):
        ConfidentLearningConfig(n_folds=1)


def test_value_examples_reports_metrics_and_flags():
    x, y, xv, yv = two_clusters_with_twins()
    result = value_examples(x, y, xv, yv, ValuationConfig(policy=PolicyConfig(policy="drop", fraction=0.05)))
    assert result.metrics["method"] == "knn_shapley" and result.metrics["n"] == len(y)
    assert result.metrics["n_validation"] == len(yv)
    assert 0 <= result.metrics["estimated_noisy_share"] < 0.2
    assert (result.weights == 0).sum() == round(0.05 * len(y)) and result.weights[-1] == 0
    assert result.is_issue.dtype == bool and result.is_issue[-1]
