"""The prepare stage: validated tables -> the pairs table (core/data/pairs.py) with query-level splits."""

from __future__ import annotations

import logging
from pathlib import Path

from shoprank.core.data.pairs import build_pairs, write_pairs
from shoprank.core.data.schema import REQUIRED_TABLES, read_table
from shoprank.core.data.split import SPLITS, SplitConfig

log = logging.getLogger(__name__)


def prepare_pairs(validated_dir: str | Path, pairs_path: str | Path, split_config: SplitConfig = SplitConfig()) -> dict:
    """Write the pairs Parquet file and return counts per split."""
    validated_dir = Path(validated_dir)
    tables = {name: read_table(validated_dir / f"{name}.parquet", name) for name in REQUIRED_TABLES}
    pairs = build_pairs(tables, split_config)
    write_pairs(pairs, pairs_path)
    metrics = {"pairs": len(pairs)}
    for split in SPLITS:
        part = pairs[pairs["split"] == split]
        metrics[f"pairs_{split}"] = len(part)
        metrics[f"queries_{split}"] = int(part["query_id"].nunique())
    log.info("prepare: %s", metrics)
    return metrics
