"""Query-level train/validation/test split: one query never lands in two splits."""

from __future__ import annotations

import dataclasses
import hashlib

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


def split_queries(query_ids, config: SplitConfig = SplitConfig()) -> dict[str, str]:
    """Map every query id to 'train', 'validation' or 'test'."""
    return {qid: assign_split(str(qid), config) for qid in query_ids}
