"""What every valuation method does with its inputs first: check them, and fit small models on one BLAS thread."""

from __future__ import annotations

import numpy as np

from shoprank.core.common.errors import DataValidationError


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
