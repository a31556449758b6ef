"""Confident learning (Northcutt et al., 2021, JAIR) with cleanlab, on out-of-fold probabilities of a
logistic regression: label-quality scores, label-issue flags and the estimated noisy share."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from shoprank.core.common.errors import DataValidationError
from shoprank.core.common.progress import ProgressLog
from shoprank.core.valuation.config import ConfidentLearningConfig
from shoprank.core.valuation.inputs import check_inputs, single_threaded_blas

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ConfidentLearningResult:
    """cleanlab's view: per-row label quality (low = suspicious), issue flags, noisy share."""

    quality: np.ndarray
    is_issue: np.ndarray
    noisy_fraction: float
    pred_probs: np.ndarray


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
