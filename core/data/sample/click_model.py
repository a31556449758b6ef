"""The shoppers' click model: which results a shopper clicks and buys, given their labels in rank order.

A position-based click model (PBM; Richardson et al. 2007, Craswell et al. 2008; Chuklin,
Markov and de Rijke 2015, "Click Models for Web Search", ch. 3): a shopper examines rank r with
probability `examination[r]` whatever else is on the page, and clicks an examined result with
its label's `attractiveness`; a click turns into a purchase with the label's `purchase`
probability. `abandonment` is the share of shoppers who leave a page without clicking whatever
it shows (abandoned queries: Li, Huffman and Tokuda 2009, "Good abandonment in mobile and PC
internet search", SIGIR); the sample's click log uses none. The sample's click log (core/data/sample/generator.py) and the simulated shoppers
of the canary (core/canary/shoppers.py) both draw from it.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from shoprank.core.common.errors import ConfigError

# Examination by position (1 / rank^0.9 for ranks 1..10), attractiveness and purchase by label 0..3.
EXAMINATION = tuple(float(x) for x in 1.0 / np.arange(1, 11) ** 0.9)
ATTRACTIVENESS = (0.03, 0.12, 0.35, 0.75)
PURCHASE = (0.0, 0.05, 0.12, 0.35)


@dataclasses.dataclass(frozen=True)
class ClickModel:
    """Position bias x label-driven attraction, and purchases after a click.

    examination: P(a shopper looks at rank r), one value per rank from 1; nothing below the last
    rank is examined. attractiveness / purchase: P(click | examined) and P(purchase | click) by
    graded label (0..3, the ESCI scale). abandonment: P(a shopper leaves without examining
    anything), default 0.
    """

    examination: tuple = EXAMINATION
    attractiveness: tuple = ATTRACTIVENESS
    purchase: tuple = PURCHASE
    abandonment: float = 0.0

    def __post_init__(self):
        for name in ("examination", "attractiveness", "purchase"):
            values = getattr(self, name)
            if not values or not all(0.0 <= v <= 1.0 for v in values):
                raise ConfigError(f"click model: expected {name} as probabilities in [0, 1], got {values}")
        if len(self.attractiveness) != len(self.purchase):
            raise ConfigError(f"click model: expected one attractiveness and one purchase value per label, got "
                              f"{len(self.attractiveness)} and {len(self.purchase)}")
        if not 0.0 <= self.abandonment < 1.0:
            raise ConfigError(f"click model: expected 0 <= abandonment < 1, got {self.abandonment}")

    @property
    def depth(self) -> int:
        """How many ranks a shopper may examine."""
        return len(self.examination)

    def session(self, labels: Sequence[int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Clicks and purchases of one shopper on one result page.

        labels: graded labels (ints 0..3) in rank order; ranks past `depth` are never examined.
        Returns two bool arrays of len(labels): clicked, purchased. Draws one uniform for
        abandonment (only when it is above 0), then one per rank in order and one more after each
        click (the sample's click log depends on that order, so keep it).
        """
        n = len(labels)
        clicked = np.zeros(n, dtype=bool)
        purchased = np.zeros(n, dtype=bool)
        if self.abandonment and rng.random() < self.abandonment:
            return clicked, purchased
        for r in range(min(n, self.depth)):
            label = int(labels[r])
            clicked[r] = rng.random() < self.examination[r] * self.attractiveness[label]
            purchased[r] = bool(clicked[r] and rng.random() < self.purchase[label])
        return clicked, purchased
