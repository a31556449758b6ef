"""Exact KNN-Shapley (Jia et al., 2019, "Efficient task-specific data valuation for nearest neighbor
algorithms", VLDB): each training point's Shapley value for a K-nearest-neighbour classifier,
scored against labelled validation points (see core/valuation/methods.py for the graded labels)."""

from __future__ import annotations

import logging

import numpy as np

from shoprank.core.common.progress import ProgressLog
from shoprank.core.valuation.config import KnnShapleyConfig
from shoprank.core.valuation.inputs import check_inputs

log = logging.getLogger(__name__)


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
