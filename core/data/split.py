"""Query-level train/validation/test split: one query never lands in two splits.

Nor does one search: queries whose texts are equal after normalisation (normalise_query) share
the split of the smallest query id among them, so the same search under two query ids, judged
on the same products, cannot be trained on and then tested on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata

from shoprank.core.common.errors import ConfigError

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class SplitConfig:
    """Fractions of queries per split; test gets the rest. seed salts the hash."""

    validation_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0

    def __post_init__(self):
        if not (0 <= self.validation_fraction < 1 and 0 <= self.test_fraction < 1):
            raise ConfigError(
                f"split fractions must lie in [0, 1), got validation={self.validation_fraction}, "
                f"test={self.test_fraction}"
            )
        if self.validation_fraction + self.test_fraction >= 1:
            raise ConfigError(
                "validation_fraction + test_fraction must be < 1 to leave training queries, "
                f"got {self.validation_fraction + self.test_fraction}"
            )


def assign_split(query_id: str, config: SplitConfig = SplitConfig()) -> str:
    """Stable split for one query id: a hash, so adding queries never moves old ones."""
    digest = hashlib.sha256(f"{config.seed}:{query_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < config.test_fraction:
        return "test"
    if u < config.test_fraction + config.validation_fraction:
        return "validation"
    return "train"


def normalise_query(text: str) -> str:
    """A query's text as a search engine would see it: Unicode NFKC, case-folded, runs of
    whitespace as one space, no leading or trailing space ("Red  Mug " == "red mug")."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(text)).casefold()).strip()


def query_groups(query_ids, texts) -> dict[str, str]:
    """Map each query id to its group's key: the smallest query id with the same normalised text."""
    first: dict[str, str] = {}
    for qid, text in sorted(zip(map(str, query_ids), texts)):
        first.setdefault(normalise_query(text), qid)
    return {qid: first[normalise_query(text)] for qid, text in zip(map(str, query_ids), texts)}


def split_queries(query_ids, config: SplitConfig = SplitConfig(), texts=None) -> dict[str, str]:
    """Map every query id to 'train', 'validation' or 'test'.

    texts (one per query id): when given, queries with the same normalised text share a split,
    the one of the smallest query id among them (a query with a unique text keeps its own).
    """
    query_ids = list(query_ids)
    keys = query_groups(query_ids, texts) if texts is not None else {str(q): str(q) for q in query_ids}
    return {qid: assign_split(keys[str(qid)], config) for qid in query_ids}
