"""Position propensities from a click log: a position-based click model (PBM) fitted by EM.

The PBM (Richardson et al. 2007; Craswell et al. 2008; Chuklin, Markov and de Rijke 2015,
"Click Models for Web Search", ch. 3 and 4.2) says a shopper clicks the result at rank k for
query q and product d when they examine rank k (probability theta_k, the same for every query)
and find the product attractive (alpha_qd, the same at every rank):
P(click) = theta_k * alpha_qd. Neither is observed, so both are fitted by
expectation-maximisation over the impressions (Chuklin et al. 2015, sec. 4.2; the "standard EM"
of Wang et al. 2018, "Position bias estimation for unbiased learning to rank in personal
search", WSDM, sec. 3.2). For an impression without a click the E-step gives
P(examined | no click) = theta (1 - alpha) / (1 - theta alpha) and
P(attractive | no click) = (1 - theta) alpha / (1 - theta alpha); a click means both. The M-step
averages those posteriors per rank (theta) and per (query, product) (alpha, with a Beta(a, b)
prior so a pair seen twice is not fitted to 0 or 1). The scale between theta and alpha is not
identified by clicks alone, so theta is reported relative to rank 1 (theta_1 = 1) and alpha
carries the rest.

Why our own EM: the PyPI name `pyclick` is a mouse-movement library, `clickmodels` (2014) is
Python 2 only, `pyclickmodels` (2021) is an unmaintained Cython build and `clax-models` brings
JAX; the PBM's EM is the twenty lines below, vectorised with numpy.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.common.progress import ProgressLog

log = logging.getLogger(__name__)

IMPRESSION_COLUMNS = ("session_id", "query", "product_id", "position", "clicked")


@dataclasses.dataclass(frozen=True)
class PropensityConfig:
    """How the PBM is fitted.

    max_rank: ranks 1..max_rank are modelled; impressions below are left out (default 10, a result page).
    iterations: EM iterations at most (default 100); tolerance: stop once no theta moves more (1e-6).
    prior_clicks / prior_skips: Beta prior on each pair's attractiveness, as pseudo-observations
    of an examined click and an examined skip (default 1 and 1, the uniform prior).
    """

    max_rank: int = 10
    iterations: int = 100
    tolerance: float = 1e-6
    prior_clicks: float = 1.0
    prior_skips: float = 1.0

    def __post_init__(self):
        checks = [(self.max_rank >= 2, "max_rank >= 2", self.max_rank),
                  (self.iterations >= 1, "iterations >= 1", self.iterations),
                  (self.tolerance > 0, "tolerance > 0", self.tolerance),
                  (self.prior_clicks > 0 and self.prior_skips > 0, "prior_clicks > 0 and prior_skips > 0",
                   (self.prior_clicks, self.prior_skips))]
        for ok, expected, got in checks:
            if not ok:
                raise ConfigError(f"propensity config: expected {expected}, got {got}")


@dataclasses.dataclass(frozen=True)
class PropensityFit:
    """A fitted PBM.

    examination: shape (max_rank,), P(examined) at ranks 1..max_rank relative to rank 1 (entry 0 is 1.0).
    attractiveness: DataFrame [query, product_id, attractiveness] on the same scale (in [0, 1]).
    iterations: EM iterations run; impressions: impressions used.
    """

    examination: np.ndarray
    attractiveness: object
    iterations: int
    impressions: int

    def propensity(self, positions) -> np.ndarray:
        """Examination probability of each 1-based position (0 past max_rank)."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.zeros(positions.shape, dtype=np.float64)
        inside = (positions >= 1) & (positions <= len(self.examination))
        out[inside] = self.examination[positions[inside] - 1]
        return out


def fit_pbm(interactions, config: PropensityConfig = PropensityConfig()) -> PropensityFit:
    """Fit the PBM by EM to a click log (the contract's interactions table).

    interactions: DataFrame with at least session_id, query, product_id, position (int >= 1) and
    clicked (bool); one row per shown result. Raises SchemaError when a column is missing or no
    impression falls in ranks 1..max_rank.
    """
    missing = [c for c in IMPRESSION_COLUMNS if c not in interactions.columns]
    if missing:
        raise SchemaError(f"interactions: expected columns {list(IMPRESSION_COLUMNS)}, missing {missing}")
    shown = interactions[(interactions["position"] >= 1) & (interactions["position"] <= config.max_rank)]
    if shown.empty:
        raise SchemaError(f"interactions: expected impressions at positions 1..{config.max_rank}, got none")
    import pandas as pd

    keys = pd.MultiIndex.from_frame(shown[["query", "product_id"]].astype(str))
    pair_codes, pair_index = pd.factorize(keys)
    rank = shown["position"].to_numpy(np.int64) - 1
    click = shown["clicked"].to_numpy(bool).astype(np.float64)
    n_pairs, n_ranks = len(pair_index), config.max_rank
    pair_count = np.bincount(pair_codes, minlength=n_pairs).astype(np.float64)
    rank_count = np.bincount(rank, minlength=n_ranks).astype(np.float64)
    theta = np.full(n_ranks, 0.5)
    alpha = np.full(n_pairs, config.prior_clicks / (config.prior_clicks + config.prior_skips))
    progress = ProgressLog(log, "click model EM", config.iterations, "iterations")
    done = 0
    for done in range(1, config.iterations + 1):
        t, a = theta[rank], alpha[pair_codes]
        no_click = 1.0 - t * a
        examined = click + (1 - click) * t * (1 - a) / no_click
        attractive = click + (1 - click) * (1 - t) * a / no_click
        new_theta = np.bincount(rank, weights=examined, minlength=n_ranks) / np.maximum(rank_count, 1.0)
        alpha = ((np.bincount(pair_codes, weights=attractive, minlength=n_pairs) + config.prior_clicks)
                 / (pair_count + config.prior_clicks + config.prior_skips))
        moved = float(np.max(np.abs(new_theta - theta)))
        theta = np.clip(new_theta, 1e-6, 1.0)
        progress.advance(1)
        if moved < config.tolerance:
            break
    top = theta[0] if rank_count[0] else theta.max()
    relative = np.where(rank_count > 0, theta / top, 0.0)
    table = pd.DataFrame({"query": pair_index.get_level_values(0), "product_id": pair_index.get_level_values(1),
                          "attractiveness": np.clip(alpha * top, 0.0, 1.0)})
    log.info("click model: PBM fitted by EM in %d iterations on %d impressions; examination by rank %s",
             done, len(shown), np.round(relative, 3).tolist())
    return PropensityFit(examination=relative, attractiveness=table, iterations=done, impressions=len(shown))
