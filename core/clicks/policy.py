"""The clicks policy: which judgments the pairs table is built from.

- "human": the judgments table alone (what build_pairs always did; a log is ignored).
- "clicks": labels derived from the interactions table alone (core/clicks/labels.py).
- "both" (the default): the judgments table, plus click labels for the pairs it does not judge;
  where both label a pair, the judgments table wins (as human labels win in core/data/judgments.py).
  Without an interactions table "both" is "human", so a shop without a log sees no change, and
  one whose every shown pair is judged (the built-in sample) gets the same pairs.

Click-labelled rows carry a `confidence` in (0, 1); training multiplies their weight by it
(`confidence_weights`), rows without one (judged by people) keep theirs.
"""

from __future__ import annotations

import logging

import numpy as np

from shoprank.core.clicks.labels import ClickLabelConfig, click_labels
from shoprank.core.common.errors import ConfigError

log = logging.getLogger(__name__)

CLICK_POLICIES = ("human", "clicks", "both")
DEFAULT_CLICK_POLICY = "both"
PAIR_KEY = ["query_id", "product_id"]


def check_policy(policy: str) -> str:
    """The policy name, or ConfigError naming the choices."""
    if policy not in CLICK_POLICIES:
        raise ConfigError(f"clicks policy: expected one of {list(CLICK_POLICIES)}, got {policy!r}")
    return policy


def judgments_for_policy(tables: dict, policy: str = DEFAULT_CLICK_POLICY,
                         config: ClickLabelConfig = ClickLabelConfig()):
    """(judgments to build pairs from, counts): the contract's judgments columns, plus `confidence`
    (NaN on the judgments table's rows) when click labels are among them.

    tables: the contract tables (judgments, queries, optionally interactions). Raises ConfigError
    for an unknown policy, or for "clicks" without an interactions table or when no query has
    enough sessions to be labelled.
    """
    import pandas as pd

    check_policy(policy)
    judged = tables["judgments"]
    interactions = tables.get("interactions")
    has_log = interactions is not None and len(interactions) > 0
    counts = {"clicks_policy": policy, "click_labelled_pairs": 0, "click_pairs_used": 0}
    if policy == "human" or (policy == "both" and not has_log):
        return judged, counts
    if not has_log:
        raise ConfigError("clicks policy 'clicks': expected an interactions table to derive labels from, got none")
    clicks, _ = click_labels(interactions, tables["queries"], config)
    counts["click_labelled_pairs"] = len(clicks)
    if policy == "clicks":
        if clicks.empty:
            raise ConfigError(f"clicks policy 'clicks': expected queries with at least {config.min_sessions} sessions "
                              "in the interactions table, found none; use 'both' or 'human'")
        counts["click_pairs_used"] = len(clicks)
        return clicks.reset_index(drop=True), counts
    known = pd.MultiIndex.from_frame(judged[PAIR_KEY].astype(str))
    fresh = clicks[~pd.MultiIndex.from_frame(clicks[PAIR_KEY]).isin(known)]
    counts["click_pairs_used"] = len(fresh)
    if fresh.empty:
        return judged, counts
    log.info("clicks policy 'both': %d judged pairs, %d more from clicks", len(judged), len(fresh))
    return pd.concat([judged.assign(confidence=np.nan), fresh], ignore_index=True), counts


def confidence_weights(frame):
    """frame with `weight` multiplied by `confidence` where a row has one (the weight defaults to 1);
    the frame itself when it has no confidence column."""
    if "confidence" not in frame.columns:
        return frame
    confidence = frame["confidence"].astype(float).fillna(1.0).to_numpy()
    weight = frame["weight"].to_numpy(float) if "weight" in frame.columns else np.ones(len(frame))
    return frame.assign(weight=weight * confidence)


def click_pair_count(pairs) -> int:
    """How many rows of a pairs table carry a click-derived label."""
    return int(pairs["confidence"].notna().sum()) if "confidence" in pairs.columns else 0
