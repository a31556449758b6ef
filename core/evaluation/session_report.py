"""Held-out search sessions: how well each ranker puts what the shopper bought or clicked on top.

The evaluation result's `sessions` key and its section of the evaluation page (issue 30, item 4).
The held-out split's sessions (core/clicks/sessions.py; a test query's sessions are never trained
on) are ranked by

- `personalised`: the model with the shopper's recent items after the query (only when the model
  reads shopper history, core/text/shopper_history.py),
- `plain`: the same model on the plain query text (what it serves to a request without shopper
  context),
- `bm25`: Okapi BM25 (core/ranking/bm25.py) over the sessions' product texts,

and scored by NDCG@10 and MRR of the bought and of the clicked products among the results each
session showed, separately for shoppers with a history before the session and without one, with
the number of sessions behind each mean (session_metrics; sessions with no positive or only
positives are left out). For a shopper without history the personalised and plain scores are the
same by construction, so the model is scored with history only on the sessions that have one.
"""

from __future__ import annotations

import logging
import math
from typing import Callable, Mapping

import numpy as np

from shoprank.core.common.html_page import escape, table

log = logging.getLogger(__name__)

OUTCOMES = ("bought", "clicked")
GROUPS = ("history", "nohistory", "all")


def evaluate_sessions(sessions, model_scorer: Callable, reads_history: bool, split: str = "test",
                      k: int = 10) -> dict | None:
    """The `sessions` entry of the evaluation result, or None when `split` has no sessions.

    sessions: the sessions file's rows (core/stages/sessions.py); model_scorer: frame -> scores
    (the evaluate stage's scorer of the new model); reads_history: whether that model reads shopper
    history. Returns {"split", "sessions", "sessions_with_history", "personalised_model",
    "rankers": {ranker: {"<outcome>_<group>": {"ndcg@10", "mrr", "sessions"}}}} with None for a
    mean no session defines.
    """
    from shoprank.core.clicks.sessions import session_metrics
    from shoprank.core.ranking.bm25 import bm25_scores

    held_out = sessions[sessions["split"] == split].sort_values(["query_id", "position"]).reset_index(drop=True)
    if held_out.empty:
        return None
    with_history = held_out["has_history"].astype(bool).to_numpy()
    log.info("evaluate: %d held-out sessions (%d rows), %d with a shopper history", held_out["query_id"].nunique(),
             len(held_out), held_out.loc[with_history, "query_id"].nunique())
    plain = np.asarray(model_scorer(held_out.assign(history="")), dtype=float)
    scores = {"plain": plain, "bm25": np.asarray(bm25_scores(held_out), dtype=float)}
    if reads_history:
        personal = plain.copy()
        if with_history.any():
            personal[with_history] = np.asarray(model_scorer(held_out[with_history]), dtype=float)
        scores = {"personalised": personal, **scores}
    rankers = {name: _clean(session_metrics(held_out.assign(score=values), k=k)) for name, values in scores.items()}
    return {"split": split, "sessions": int(held_out["query_id"].nunique()),
            "sessions_with_history": int(held_out.loc[with_history, "query_id"].nunique()),
            "personalised_model": bool(reads_history), "rankers": rankers}


def _clean(metrics: dict) -> dict:
    """NaN means as None (JSON null)."""
    return {key: {name: (None if isinstance(v, float) and math.isnan(v) else v) for name, v in values.items()}
            for key, values in metrics.items()}


def render_sessions_section(result: Mapping | None) -> str:
    """The evaluation page's section for result["sessions"]; "" without one."""
    if not result:
        return ""
    rankers = result["rankers"]
    rows = []
    for outcome in OUTCOMES:
        for group in GROUPS:
            key = f"{outcome}_{group}"
            first = next(iter(rankers.values()))[key]
            rows.append([outcome, _group_name(group), first["sessions"],
                         *[_cell(rankers[name][key].get("ndcg@10")) for name in rankers],
                         *[_cell(rankers[name][key].get("mrr")) for name in rankers]])
    names = list(rankers)
    note = ("The model reads shopper history: <b>personalised</b> is scored with the shopper's recent items "
            "after the query, <b>plain</b> without them." if result["personalised_model"] else
            "The model does not read shopper history (not personalised), so it is scored on the plain text only.")
    return "\n".join([
        f"<h2>Held-out search sessions ({escape(result['split'])} split)</h2>",
        f"<p>{result['sessions']} sessions of held-out queries from the click log, "
        f"{result['sessions_with_history']} of them by a shopper with a history before the session. Each "
        "ranker orders the results the session showed; NDCG@10 and MRR of the products the shopper bought, "
        f"and of those they clicked. {note} Sessions with no such product are left out of a mean.</p>",
        table(["outcome", "shoppers", "sessions", *[f"NDCG@10 {n}" for n in names], *[f"MRR {n}" for n in names]], rows),
    ])


def _group_name(group: str) -> str:
    return {"history": "with history", "nohistory": "without history", "all": "all"}[group]


def _cell(value):
    return "n/a" if value is None else float(value)
