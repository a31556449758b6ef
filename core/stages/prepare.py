"""The prepare stage: validated tables -> the pairs table (core/data/pairs.py) with query-level splits."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from shoprank.core.clicks.policy import DEFAULT_CLICK_POLICY, click_pair_count
from shoprank.core.data.judgments import resolve_labels
from shoprank.core.data.pairs import build_pairs, write_pairs
from shoprank.core.data.schema import OPTIONAL_TABLES, REQUIRED_TABLES, read_table
from shoprank.core.data.split import SPLITS, SplitConfig, query_groups

log = logging.getLogger(__name__)


def prepare_pairs(validated_dir: str | Path, pairs_path: str | Path, split_config: SplitConfig = SplitConfig(),
                  clicks_policy: str = DEFAULT_CLICK_POLICY, sessions_path: str | Path | None = None) -> dict:
    """Write the pairs Parquet file and return counts per split, the number of judged pairs whose
    labels conflicted (resolved by core/data/judgments.py) and of queries that share their
    normalised text with another query id (kept in one split). The interactions table, when the
    validated folder has one, gives click labels by `clicks_policy` (core/clicks/policy.py) and, when
    `sessions_path` is given, the search sessions with shopper histories (core/stages/sessions.py)."""
    validated_dir = Path(validated_dir)
    tables = {name: read_table(validated_dir / f"{name}.parquet", name) for name in REQUIRED_TABLES}
    for name in OPTIONAL_TABLES:
        if (validated_dir / f"{name}.parquet").is_file():
            tables[name] = read_table(validated_dir / f"{name}.parquet", name)
    pairs = build_pairs(tables, split_config, clicks_policy)
    write_pairs(pairs, pairs_path)
    conflicts = resolve_labels(tables["judgments"])[1]
    judged = pairs.drop_duplicates("query_id")
    groups = query_groups(judged["query_id"], judged["query"])
    group_sizes = Counter(groups.values())
    shared = sum(1 for key in groups.values() if group_sizes[key] > 1)
    metrics = {"pairs": len(pairs), "conflicting_pairs": conflicts, "queries_sharing_text": shared,
               "clicks_policy": clicks_policy, "click_labelled_pairs": click_pair_count(pairs)}
    if sessions_path is not None:
        from shoprank.core.stages.sessions import write_sessions

        metrics.update(write_sessions(tables, pairs, sessions_path))
    if conflicts:
        log.warning("prepare: %d judged pairs have conflicting labels; each took the lower median of its human "
                    "labels (of its click labels without a human one)", conflicts)
    if shared:
        log.warning("prepare: %d queries share their text with another query id; each such group stays in one split",
                    shared)
    for split in SPLITS:
        part = pairs[pairs["split"] == split]
        metrics[f"pairs_{split}"] = len(part)
        metrics[f"queries_{split}"] = int(part["query_id"].nunique())
    log.info("prepare: %s", metrics)
    return metrics
