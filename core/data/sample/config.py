"""Knobs of the built-in sample generator."""

from __future__ import annotations

import dataclasses

from shoprank.core.common.errors import ConfigError
from shoprank.core.data.sample.vocabulary import LEAVES


@dataclasses.dataclass(frozen=True)
class SampleConfig:
    """Knobs of the sample generator.

    seed: every random choice derives from it. n_products / n_queries: size.
    candidates_per_query: judged products per query (>= 20).
    label_noise: share of judgments whose label is flipped to another grade.
    drift: 0 = reference batch; up to 1 = shifted queries, categories and prices.
    sessions_per_query: mean search sessions per query in the click log.
    marketplace_titles: titles as marketplaces write them, with selling points between the name
    and the variant (about 30 tokens instead of 13); everything else stays the same.
    batch: 0 = the first fortnight of traffic; another number = a later fortnight of the same shop
    (the same catalogue, fresh queries, judgments and interactions, dated 14 days per batch later).
    A different seed is a different shop: another catalogue, with other brands per category.
    """

    seed: int = 0
    n_products: int = 3000
    n_queries: int = 400
    candidates_per_query: int = 24
    label_noise: float = 0.0
    drift: float = 0.0
    sessions_per_query: float = 3.0
    marketplace_titles: bool = False
    batch: int = 0

    def __post_init__(self):
        checks = [
            (self.n_products >= len(LEAVES), f"n_products >= {len(LEAVES)}", self.n_products),
            (self.n_queries >= 1, "n_queries >= 1", self.n_queries),
            (self.candidates_per_query >= 5, "candidates_per_query >= 5", self.candidates_per_query),
            (0.0 <= self.label_noise < 1.0, "0 <= label_noise < 1", self.label_noise),
            (0.0 <= self.drift <= 1.0, "0 <= drift <= 1", self.drift),
            (self.batch >= 0, "batch >= 0", self.batch),
        ]
        for ok, expected, got in checks:
            if not ok:
                raise ConfigError(f"sample config: expected {expected}, got {got}")
