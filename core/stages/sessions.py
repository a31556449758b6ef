"""The sessions file: the click log's search sessions as pairs (core/clicks/sessions.py), written by
the prepare stage next to the pairs, read by the train stage (personalised training,
core/clicks/personalise.py) and the evaluate stage (core/evaluation/session_report.py).

Always written, so the pipeline's artifact exists: with no rows when the data has no
interactions table; every reader takes a file without rows as "no sessions".
"""

from __future__ import annotations

import logging
from pathlib import Path

from shoprank.core.common.errors import SchemaError

log = logging.getLogger(__name__)


def write_sessions(tables: dict, pairs, path: str | Path) -> dict:
    """Write the session pairs of `tables` (splits as in `pairs`) to `path` as Parquet; counts of
    sessions, rows and sessions with a shopper history (all 0 without an interactions table)."""
    import pandas as pd

    from shoprank.core.clicks.personalise import history_session_count, sessions_table
    from shoprank.core.clicks.sessions import SESSION_COLUMNS
    from shoprank.core.data.pairs import PAIR_COLUMNS, write_pairs

    path = Path(path)
    sessions = sessions_table(tables, dict(zip(pairs["query_id"], pairs["split"])))
    if sessions is None or sessions.empty:
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(columns=PAIR_COLUMNS + ["weight"] + SESSION_COLUMNS).to_parquet(path, index=False)
        return {"sessions": 0, "session_rows": 0, "sessions_with_history_train": 0}
    write_pairs(sessions, path)
    counts = {"sessions": int(sessions["query_id"].nunique()), "session_rows": len(sessions),
              "sessions_with_history_train": history_session_count(sessions, "train")}
    log.info("sessions: %s written to %s", counts, path.name)
    return counts


def read_sessions(path: str | Path | None):
    """The session pairs in `path`, or None when no path is given or the file has no rows.
    Raises SchemaError for a path with no file, or rows that break the pairs contract."""
    import pandas as pd

    from shoprank.core.data.pairs import read_pairs

    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"sessions: expected a Parquet file at {path}, found none")
    frame = pd.read_parquet(path)
    if frame.empty:
        return None
    missing = [c for c in ("session_id", "history", "has_history", "clicked", "purchased") if c not in frame.columns]
    if missing:
        raise SchemaError(f"sessions: expected the session columns of core/clicks/sessions.py, missing {missing}")
    return read_pairs(frame)


def personalised_training_from_file(pairs, config, sessions_path: str | Path | None, requested: bool = True):
    """personalised_training (core/clicks/personalise.py) on the sessions file at sessions_path."""
    from shoprank.core.clicks.personalise import personalised_training

    return personalised_training(pairs, config, read_sessions(sessions_path), requested)
