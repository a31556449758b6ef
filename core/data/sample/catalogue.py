"""The sample's products: titles, descriptions, brands, categories, prices and attributes from the vocabulary."""

from __future__ import annotations

import numpy as np

from shoprank.core.data.sample.config import SampleConfig
from shoprank.core.data.sample.vocabulary import (ADJECTIVES, BRANDS, COLORS, COMPLEMENT_OF, LEAF_INDEX, LEAVES,
                                                  SELLING_POINTS)

SELLING_POINTS_PER_TITLE = 3


def generate_products(config: SampleConfig, rng: np.random.Generator):
    import pandas as pd

    leaf_brands = {leaf.path: rng.choice(BRANDS, size=6, replace=False) for leaf in LEAVES}
    leaf_of = rng.choice(len(LEAVES), size=config.n_products)
    leaf_of[: len(LEAVES)] = np.arange(len(LEAVES))  # every category present
    price_factor = 1 + 0.5 * config.drift
    rows = []
    for i, li in enumerate(leaf_of):
        leaf = LEAVES[li]
        brand = str(rng.choice(leaf_brands[leaf.path]))
        adjective = str(rng.choice(ADJECTIVES))
        material = str(rng.choice(leaf.materials))
        color = str(rng.choice(COLORS))
        size = str(rng.choice(leaf.sizes))
        low, high = leaf.price_range
        price = round(float(np.exp(rng.uniform(np.log(low), np.log(high)))) * price_factor, 2) - 0.01
        # Catalogues name one thing many ways: titles use the type or one of its synonyms.
        type_name = leaf.product_type if rng.random() < 0.6 else str(rng.choice(leaf.synonyms))
        title = f"{brand} {adjective} {material.title()} {type_name.title()} - {color.title()}, {size}"
        # Descriptions cross-sell related items, as real copy does; word overlap alone misleads.
        partners = sorted(COMPLEMENT_OF.get(leaf.name, ()))
        cross_sell = f" Pairs well with our {LEAVES[LEAF_INDEX[partners[int(rng.integers(len(partners)))]]].product_type} range." if partners else ""
        description = (
            f"The {adjective.lower()} {type_name} from {brand} in {color} {material}. {leaf.feature}{cross_sell}"
            if rng.random() > 0.05 else None
        )
        rows.append({
            "product_id": f"P{i:06d}",
            "title": title,
            "description": description,
            "brand": brand if rng.random() > 0.03 else None,
            "category": leaf.path,
            "price": max(price, 0.99),
            "attributes": {"color": color, "material": material, "size": size},
            # Hidden generator fields, dropped before the table leaves this module.
            "_leaf": int(li), "_adjective": adjective, "_brand": brand,
        })
    return pd.DataFrame(rows)


def marketplace_titles(titles, rng: np.random.Generator) -> list[str]:
    """"Brand Adj Material Type - Color, Size" -> "Brand Adj Material Type, <3 selling points> - Color, Size"."""
    out = []
    for title in titles:
        name, variant = title.rsplit(" - ", 1)
        points = ", ".join(rng.choice(SELLING_POINTS, size=SELLING_POINTS_PER_TITLE, replace=False))
        out.append(f"{name}, {points} - {variant}")
    return out
