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
import time

import numpy as np

from shoprank.core.common.errors import DataValidationError
from shoprank.core.valuation.config import ValuationConfig
from shoprank.core.valuation.confident_learning import confident_learning
from shoprank.core.valuation.data_oob import data_oob
from shoprank.core.valuation.inputs import check_inputs
from shoprank.core.valuation.knn_shapley import knn_shapley
from shoprank.core.valuation.policy import policy_weights

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ValuationResult:
    """Values (higher = more useful), weights after the policy, and a JSON-able summary."""

    values: np.ndarray
    weights: np.ndarray
    is_issue: np.ndarray
    noisy_fraction: float
    metrics: dict


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
