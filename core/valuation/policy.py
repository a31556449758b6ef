"""Policies: values in, sample weights out (weight the least valuable rows down, or drop them)."""

from __future__ import annotations

import numpy as np

from shoprank.core.valuation.config import PolicyConfig


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
