"""Data-OOB (Kwon & Zou, 2023, "Data-OOB: Out-of-bag estimate as a simple and efficient data value",
ICML): bag decision trees and score each point by how often the trees that never saw it predict its label."""

from __future__ import annotations

import os

import numpy as np

from shoprank.core.valuation.config import DataOobConfig
from shoprank.core.valuation.inputs import check_inputs, single_threaded_blas


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
