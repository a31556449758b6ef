"""Personalised training from the click log: which sessions join the training pairs, and when.

One model serves both kinds of request. It is fine-tuned on the judged pairs plus the training
split's search sessions (core/clicks/sessions.py: one row per shown result, labels bought 3 /
clicked 2 / neither 0, each carrying the shopper's leak-free history, core/clicks/history.py),
with the shopper history feature on (core/text/shopper_history.py). A request with
`user.recent_items` is scored with the history after the query; one without it on the plain text,
exactly as the same model scores a judged pair.

When (`personalise_decision`): asked for (the default) and the sessions table has at least
`min_history_sessions` training sessions whose shopper has a history. A shop without a click
log, or whose shoppers never come back, trains the plain model unchanged.

How many (`training_session_rows`): at most `max_session_rows` rows, whole sessions; every
training session with a history first (they teach the feature), then a seeded draw of the
others. Validation and test sessions never join: early stopping stays on the judged validation
queries, and the test sessions are what the evaluation scores (core/evaluation/session_report.py).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from shoprank.core.common.errors import ConfigError

log = logging.getLogger(__name__)

HISTORY_COLUMN = "history"
HISTORY_TOKENS = 32  # room for the history summary (at most 100 characters, core/text/shopper_history.py)


@dataclasses.dataclass(frozen=True)
class PersonaliseConfig:
    """min_history_sessions: training sessions with a shopper history needed to personalise
    (default 50). max_session_rows: most session rows added to the training pairs (default 3000,
    whole sessions; about half the judged training pairs of the built-in sample, so a default run
    trains about 1.4x as long). seed: the draw of sessions without history when over the cap."""

    min_history_sessions: int = 50
    max_session_rows: int = 3000
    seed: int = 0

    def __post_init__(self):
        if self.min_history_sessions < 1 or self.max_session_rows < 1:
            raise ConfigError(f"personalise config: expected min_history_sessions >= 1 and max_session_rows >= 1, "
                              f"got {self.min_history_sessions} and {self.max_session_rows}")


def sessions_table(tables: dict, splits: dict):
    """The session pairs (core/clicks/sessions.py session_pairs) of the interactions table, with the
    shoppers' leak-free histories and the PBM propensities fitted on the same log; None without
    an interactions table (or an empty one).

    tables: the contract tables (products, queries, interactions); splits: query_id -> split, as
    build_pairs assigned them (sessions of queries without a split are left out).
    """
    from shoprank.core.clicks.history import session_histories
    from shoprank.core.clicks.propensity import fit_pbm
    from shoprank.core.clicks.sessions import session_pairs

    interactions = tables.get("interactions")
    if interactions is None or len(interactions) == 0:
        return None
    fit = fit_pbm(interactions)
    return session_pairs(tables, session_histories(interactions, tables["products"]), splits, fit)


def history_session_count(sessions, split: str = "train") -> int:
    """Sessions of `split` whose shopper has a history before them."""
    if sessions is None or len(sessions) == 0:
        return 0
    chosen = sessions[sessions["split"] == split]
    return int(chosen.groupby("query_id")["has_history"].first().astype(bool).sum())


def personalise_decision(sessions, requested: bool, config: PersonaliseConfig = PersonaliseConfig()) -> tuple[bool, str]:
    """(personalise?, the reason in words) for a sessions table (None or empty: no click log)."""
    if not requested:
        return False, "off (--no-personalise)"
    if sessions is None or len(sessions) == 0:
        return False, "off: the data has no interactions table (no sessions to learn from)"
    with_history = history_session_count(sessions)
    if with_history < config.min_history_sessions:
        return False, (f"off: {with_history} training sessions have a shopper history, fewer than the "
                       f"{config.min_history_sessions} needed")
    return True, f"on: {with_history} training sessions have a shopper history (>= {config.min_history_sessions})"


def training_session_rows(sessions, config: PersonaliseConfig = PersonaliseConfig()):
    """The training split's session rows within the cap: whole sessions, those with a history first
    (in session order), then a seeded draw of the others."""
    train = sessions[sessions["split"] == "train"]
    groups = train.groupby("query_id", sort=True).agg(rows=("product_id", "size"), has_history=("has_history", "first"))
    rng = np.random.default_rng(config.seed)
    others = groups.index[~groups["has_history"].astype(bool)].to_numpy()
    order = np.concatenate([groups.index[groups["has_history"].astype(bool)].to_numpy(), rng.permutation(others)])
    sizes = groups["rows"].reindex(order).to_numpy()
    kept = order[np.cumsum(sizes) <= config.max_session_rows]
    if len(kept) < len(order):
        log.info("personalise: %d of %d training sessions (%d of %d rows) kept by the cap of %d rows",
                 len(kept), len(order), int(sizes[: len(kept)].sum()), int(sizes.sum()), config.max_session_rows)
    return train[train["query_id"].isin(set(kept))]


def with_session_rows(pairs, sessions, config: PersonaliseConfig = PersonaliseConfig()):
    """The pairs (history "") followed by the capped training session rows (with their history),
    in the pairs' columns; columns only the pairs have are left empty on the session rows."""
    import pandas as pd

    rows = training_session_rows(sessions, config)
    columns = list(pairs.columns) + ([HISTORY_COLUMN] if HISTORY_COLUMN not in pairs.columns else [])
    rows = rows.reindex(columns=columns)
    if "weight" in pairs.columns and "weight" not in rows:
        rows["weight"] = 1.0
    return pd.concat([pairs.assign(**{HISTORY_COLUMN: ""}), rows], ignore_index=True)


def personalised_training(pairs, config, sessions, requested: bool = True,
                          settings: PersonaliseConfig | None = None):
    """(training pairs, TrainConfig, metrics) for the train stage: the pairs and config unchanged
    unless `personalise_decision` says on; then the capped training sessions joined to the pairs,
    shopper_history on, max_length raised by HISTORY_TOKENS (the history comes on top of the
    query, not out of the product's text) and distillation off (the teacher reads no history:
    its score margins within each list would pull a session's scores back to the history-blind
    order the sessions are there to change). One log line says which and why.

    config: a TrainConfig; sessions: the sessions table (None: no click log); settings: None =
    PersonaliseConfig(seed=config.seed).
    """
    from shoprank.core.training.distill import TEACHER_COLUMN

    settings = settings or PersonaliseConfig(seed=config.seed)
    on, reason = personalise_decision(sessions, requested, settings)
    if not on:
        log.info("train: personalise %s", reason)
        return pairs, config, {"personalised": 0.0, "session_rows_trained": 0.0}
    joined = with_session_rows(pairs.drop(columns=[TEACHER_COLUMN], errors="ignore"), sessions, settings)
    added = len(joined) - len(pairs)
    max_length = None if config.max_length is None else config.max_length + HISTORY_TOKENS
    log.info("train: personalise %s; %d session rows join %d pairs (cap %d), shopper history on, max_length %s, "
             "distillation off", reason, added, len(pairs), settings.max_session_rows, max_length)
    config = dataclasses.replace(config, shopper_history=True, distill_weight=0.0, max_length=max_length)
    return joined, config, {"personalised": 1.0, "session_rows_trained": float(added)}
