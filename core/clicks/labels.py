"""Graded relevance labels from a click log, with position bias removed and a confidence per pair.

Method: inverse-propensity weighting (Joachims, Swaminathan and Schnabel 2017, "Unbiased
learning-to-rank with biased feedback", WSDM; Wang et al. 2018) with the PBM's examination
probabilities (core/clicks/propensity.py). A pair's *examined mass* is the sum of the
examination probabilities of the ranks it was shown at, the expected number of shoppers who
looked at it; its debiased click rate is (clicks + purchase_weight * purchases) / examined mass,
an unbiased estimate of its attractiveness (plus the purchase evidence) wherever it was shown,
whereas the raw CTR, clicks / impressions, also measures how high the logging ranker put it.
The rate is cut into the ESCI grades 0..3 at `thresholds`; the confidence is
examined / (examined + confidence_mass), in (0, 1), so pairs looked at more weigh more in training.

What gets no label: pairs examined less than `min_examined` (one expected look), and every pair
of a query searched in fewer than `min_sessions` sessions. A log's query text is matched to the
queries table by its text (stripped, case-folded); a query text under several ids labels each.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from shoprank.core.clicks.propensity import PropensityConfig, PropensityFit, fit_pbm
from shoprank.core.common.errors import ConfigError, SchemaError

log = logging.getLogger(__name__)

CLICK_SOURCE = "clicks"
LABEL_COLUMNS = ["query_id", "product_id", "label", "source", "confidence"]


@dataclasses.dataclass(frozen=True)
class ClickLabelConfig:
    """How clicks become labels.

    min_sessions: a query needs at least this many search sessions in the log (default 3).
    min_examined: a pair needs at least this examined mass (expected looks; default 1.0).
    thresholds: debiased click rates at which grades 1, 2 and 3 start (default 0.2, 0.5, 1.0; a
    rate can pass 1 with purchases).
    purchase_weight: what one purchase adds to the clicks (default 1.0: a bought item counts twice).
    confidence_mass: examined mass at which the confidence is 0.5 (default 1.0).
    propensity: the PBM fit (core/clicks/propensity.py).
    """

    min_sessions: int = 3
    min_examined: float = 1.0
    thresholds: tuple = (0.2, 0.5, 1.0)
    purchase_weight: float = 1.0
    confidence_mass: float = 1.0
    propensity: PropensityConfig = PropensityConfig()

    def __post_init__(self):
        checks = [(self.min_sessions >= 1, "min_sessions >= 1", self.min_sessions),
                  (self.min_examined > 0, "min_examined > 0", self.min_examined),
                  (len(self.thresholds) == 3 and all(0 < a < b for a, b in zip(self.thresholds, self.thresholds[1:]))
                   and self.thresholds[0] > 0, "three increasing thresholds above 0", self.thresholds),
                  (self.purchase_weight >= 0, "purchase_weight >= 0", self.purchase_weight),
                  (self.confidence_mass > 0, "confidence_mass > 0", self.confidence_mass)]
        for ok, expected, got in checks:
            if not ok:
                raise ConfigError(f"click label config: expected {expected}, got {got}")


def click_evidence(interactions, fit: PropensityFit):
    """Per (query, product) shown: impressions, clicks, purchases, examined mass, sessions of its
    query, raw CTR and the debiased rate (purchase_weight 1). DataFrame indexed by query, product_id."""
    frame = interactions.assign(examined=fit.propensity(interactions["position"].to_numpy()),
                                clicked=interactions["clicked"].astype(bool),
                                purchased=interactions["purchased"].astype(bool))
    evidence = frame.groupby(["query", "product_id"], sort=True).agg(
        impressions=("clicked", "size"), clicks=("clicked", "sum"), purchases=("purchased", "sum"),
        examined=("examined", "sum"))
    sessions = frame.groupby("query")["session_id"].nunique()
    evidence["sessions"] = sessions.reindex(evidence.index.get_level_values(0)).to_numpy()
    evidence["ctr"] = evidence["clicks"] / evidence["impressions"]
    return evidence


def click_labels(interactions, queries, config: ClickLabelConfig = ClickLabelConfig(), fit: PropensityFit | None = None):
    """(judgments from clicks, the PBM fit): DataFrame [query_id, product_id, label (0..3), source
    ("clicks"), confidence (0..1)], one row per labelled pair, sorted by pair.

    interactions: the contract table (session_id, query, product_id, position, clicked, purchased);
    queries: [query_id, query]. fit: a PBM fitted before (fitted here from interactions when None).
    Raises SchemaError when interactions lack a column the method reads.
    """
    import pandas as pd

    missing = [c for c in ("session_id", "query", "product_id", "position", "clicked", "purchased")
               if c not in interactions.columns]
    if missing:
        raise SchemaError(f"interactions: expected columns session_id, query, product_id, position, clicked, "
                          f"purchased for click labels, missing {missing}")
    fit = fit or fit_pbm(interactions, config.propensity)
    evidence = click_evidence(interactions, fit)
    enough = (evidence["sessions"] >= config.min_sessions) & (evidence["examined"] >= config.min_examined)
    kept = evidence[enough]
    rate = (kept["clicks"] + config.purchase_weight * kept["purchases"]) / kept["examined"]
    labelled = pd.DataFrame({
        "query_key": query_key(kept.index.get_level_values(0)),
        "product_id": kept.index.get_level_values(1).astype(str),
        "label": np.digitize(rate.to_numpy(), config.thresholds).astype("int64"),
        "confidence": (kept["examined"] / (kept["examined"] + config.confidence_mass)).to_numpy(),
    })
    ids = pd.DataFrame({"query_id": queries["query_id"].astype(str), "query_key": query_key(queries["query"])})
    out = labelled.merge(ids, on="query_key", how="inner").assign(source=CLICK_SOURCE)
    out = out[LABEL_COLUMNS].sort_values(["query_id", "product_id"]).reset_index(drop=True)
    n_queries = evidence.index.get_level_values(0).nunique()
    log.info("click labels: %d pairs of %d queries labelled from %d shown pairs of %d queries (min %d sessions, "
             "min examined %.2f); grades %s", len(out), out["query_id"].nunique(), len(evidence), n_queries,
             config.min_sessions, config.min_examined, np.bincount(out["label"], minlength=4).tolist())
    return out, fit


def query_key(texts):
    """How a logged query text finds its query id: stripped and case-folded (an array of str)."""
    import pandas as pd

    return pd.Series(texts, dtype="object").astype(str).str.strip().str.casefold().to_numpy()
