"""The sample's shoppers and their tastes: a favourite brand, colour and price band per shopper.

A shopper's taste multiplies how attractive a result is (and how likely a click turns into a
purchase) by exp(strength * matches), where matches counts how many of the product's brand,
colour and price band (the cheapest, middle or dearest third of its category's price range, on a
log scale) are the shopper's favourites; the click model (click_model.py) caps the probabilities
at 1. Strength 0 (the default) means no tastes: the click log is the one the sample always wrote.
The tastes draw from their own random stream, so turning them on changes only the clicks and
purchases, and they are written to truth/shopper_tastes.parquet (the pipeline never reads truth/).
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from shoprank.core.data.sample.vocabulary import BRANDS, COLORS, LEAVES

_TASTE_STREAM = 100
TASTES_TRUTH_FILE = "shopper_tastes.parquet"
PRICE_BANDS = ("low", "mid", "high")


def user_hash(index: int) -> str:
    """The hashed id of shopper `index` (what the interactions table stores; never the index)."""
    return hashlib.sha256(f"user-{index}".encode()).hexdigest()[:16]


def price_band(price: float, leaf: int) -> int:
    """0, 1 or 2: the third of the leaf's price range (log scale) the price falls in."""
    low, high = LEAVES[leaf].price_range
    share = (np.log(max(price, 1e-2)) - np.log(low)) / (np.log(high) - np.log(low))
    return int(np.clip(np.floor(share * 3), 0, 2))


@dataclasses.dataclass(frozen=True)
class ShopperTastes:
    """Favourite brand, colour and price band of each of n shoppers (index = shopper number)."""

    strength: float
    brand: np.ndarray  # shape (n,), str
    color: np.ndarray  # shape (n,), str
    band: np.ndarray  # shape (n,), int 0..2

    @classmethod
    def draw(cls, seed: int, n_shoppers: int, strength: float) -> "ShopperTastes":
        rng = np.random.default_rng([seed, _TASTE_STREAM])
        return cls(strength=strength, brand=rng.choice(BRANDS, size=n_shoppers),
                   color=rng.choice(COLORS, size=n_shoppers), band=rng.integers(0, 3, size=n_shoppers))

    def matches(self, shopper: int, brands, colors, bands) -> np.ndarray:
        """How many of each product's brand, colour and band the shopper favours (ints 0..3)."""
        return ((np.asarray(brands) == self.brand[shopper]).astype(int) + (np.asarray(colors) == self.color[shopper])
                + (np.asarray(bands) == self.band[shopper]))

    def boost(self, shopper: int, brands, colors, bands) -> np.ndarray:
        """Multipliers of attractiveness and purchase, exp(strength * matches), one per product."""
        return np.exp(self.strength * self.matches(shopper, brands, colors, bands))

    def truth(self, shoppers):
        """DataFrame [user_id, favourite_brand, favourite_color, favourite_price_band, strength] of the given shoppers."""
        import pandas as pd

        shoppers = np.asarray(sorted(set(int(s) for s in shoppers)), dtype=int)
        return pd.DataFrame({"user_id": [user_hash(int(s)) for s in shoppers], "favourite_brand": self.brand[shoppers],
                             "favourite_color": self.color[shoppers],
                             "favourite_price_band": [PRICE_BANDS[b] for b in self.band[shoppers]],
                             "strength": self.strength})
