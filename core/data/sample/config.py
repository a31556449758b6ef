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
    logging_error: share (0..1) of the production ranker's noise that repeats in every session of a
    query (its persistent mistakes, as a deterministic ranker makes); 0, the default, draws fresh
    noise per session, so the click log is the one it always was. Position-biased raw CTR inherits
    persistent mistakes; debiased click labels (core/clicks) should not.
    taste_strength: how strongly shoppers' tastes (a favourite brand, colour and price band each;
    core/data/sample/tastes.py) raise their clicks and purchases: exp(strength * matches); 0, the
    default, means no tastes and the click log it always was.
    n_shoppers: how many shoppers (hashed user ids) search; each session draws one (default 5000).
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
    logging_error: float = 0.0
    taste_strength: float = 0.0
    n_shoppers: int = 5000
    marketplace_titles: bool = False
    batch: int = 0

    def __post_init__(self):
        checks = [
            (self.n_products >= len(LEAVES), f"n_products >= {len(LEAVES)}", self.n_products),
            (self.n_queries >= 1, "n_queries >= 1", self.n_queries),
            (self.candidates_per_query >= 5, "candidates_per_query >= 5", self.candidates_per_query),
            (0.0 <= self.label_noise < 1.0, "0 <= label_noise < 1", self.label_noise),
            (0.0 <= self.drift <= 1.0, "0 <= drift <= 1", self.drift),
            (self.taste_strength >= 0.0, "taste_strength >= 0", self.taste_strength),
            (self.n_shoppers >= 1, "n_shoppers >= 1", self.n_shoppers),
            (0.0 <= self.logging_error <= 1.0, "0 <= logging_error <= 1", self.logging_error),
            (self.batch >= 0, "batch >= 0", self.batch),
        ]
        for ok, expected, got in checks:
            if not ok:
                raise ConfigError(f"sample config: expected {expected}, got {got}")
