"""Each search session's shopper history, leak-free: the shopper's clicks and purchases before it began.

For a session that starts at time t (its first event), the history is the shopper's (same hashed
user_id) clicked or bought products with a timestamp strictly before t, most recent first,
summarised as the pair text carries it (core/text/shopper_history.py: brand, colour, category
leaf; at most a few items, bounded in characters). Events of the session itself and any later one
never enter it, so a training pair reads only what a served request could have known.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.common.progress import ProgressLog
from shoprank.core.text.shopper_history import MAX_CHARS, MAX_ITEMS, history_summary

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ("session_id", "user_id", "ts", "product_id", "clicked", "purchased")


@dataclasses.dataclass(frozen=True)
class HistoryConfig:
    """max_items / max_chars: the summary's bounds (defaults 3 items, 100 characters).
    purchases_only: only bought items count (default False: clicked or bought)."""

    max_items: int = MAX_ITEMS
    max_chars: int = MAX_CHARS
    purchases_only: bool = False

    def __post_init__(self):
        if self.max_items < 1 or self.max_chars < 10:
            raise ConfigError(f"history config: expected max_items >= 1 and max_chars >= 10, got "
                              f"{self.max_items} and {self.max_chars}")


def session_histories(interactions, products, config: HistoryConfig = HistoryConfig()):
    """DataFrame [session_id, user_id, start (UTC), history (str, "" without one), history_items (int)],
    one row per session, sorted by session_id.

    interactions: the contract table; products: the catalogue (product_id, title, brand, category,
    attributes). Raises SchemaError when a column the method reads is missing.
    """
    import pandas as pd

    missing = [c for c in HISTORY_COLUMNS if c not in interactions.columns]
    if missing:
        raise SchemaError(f"interactions: expected columns {list(HISTORY_COLUMNS)} for shopper history, missing {missing}")
    catalogue = {row["product_id"]: row for row in products.reindex(
        columns=["product_id", "title", "brand", "category", "attributes"]).to_dict("records")}
    flag = interactions["purchased"].astype(bool)
    if not config.purchases_only:
        flag |= interactions["clicked"].astype(bool)
    # Times as UTC nanoseconds: one comparable number whatever zone the table's timestamps carry.
    nanos = pd.to_datetime(interactions["ts"], utc=True).dt.tz_convert(None).to_numpy("datetime64[ns]").astype(np.int64)
    interactions = interactions.assign(_ns=nanos)
    events = interactions.loc[flag, ["user_id", "_ns", "product_id"]].sort_values(["user_id", "_ns"], kind="stable")
    by_user = {user: (frame["_ns"].to_numpy(), frame["product_id"].to_numpy())
               for user, frame in events.groupby("user_id", sort=False)}
    sessions = interactions.groupby("session_id", sort=True).agg(user_id=("user_id", "first"), start=("ts", "min"),
                                                                 _ns=("_ns", "min"))
    histories, counts = [], []
    progress = ProgressLog(log, "shopper history", len(sessions), "sessions")
    no_events = (np.array([], dtype=np.int64), np.array([], dtype=object))
    for user, start in zip(sessions["user_id"], sessions["_ns"]):
        times, pids = by_user.get(user, no_events)
        before = int(np.searchsorted(times, start, side="left"))  # events strictly before the session began
        recent = [catalogue.get(pid, {"title": str(pid)}) for pid in pids[:before][::-1]]
        summary = history_summary(recent, config.max_items, config.max_chars)
        histories.append(summary)
        counts.append(before)
        progress.advance(1)
    out = sessions.drop(columns="_ns").reset_index().assign(history=histories, history_items=np.asarray(counts, dtype=np.int64))
    log.info("shopper history: %d of %d sessions have one", int((out["history"] != "").sum()), len(out))
    return out
