"""The built-in sample: a deterministic synthetic shop from a seed (the one entry point; its parts live beside it).

Products are built from core/data/sample/vocabulary.py (catalogue.py). Queries (queries.py) are written the ways shoppers
write them (exact product, attribute combinations, category browsing, misspellings,
synonyms); each query gets >= 20 judged candidates on the ESCI scale, chosen so that word
overlap alone misleads (same colour or material in another category, synonyms, typos;
judgments.py). Interactions come from the position-based click model (click_model.py) over a production
ranker (interactions.py). Knobs: size, label-noise rate (flipped rows listed in a separate truth table that
the pipeline never reads), a drift intensity (shifted query mix, categories, prices) and a batch
number (a later fortnight of the same shop: the same catalogue, fresh queries and traffic).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from shoprank.core.data.sample.catalogue import generate_products, marketplace_titles
from shoprank.core.data.sample.config import SampleConfig
from shoprank.core.data.sample.interactions import generate_interactions
from shoprank.core.data.sample.judgments import flip_labels, generate_judgments
from shoprank.core.data.sample.queries import generate_queries
from shoprank.core.data.sample.vocabulary import LEAVES
from shoprank.core.data.schema import write_tables

log = logging.getLogger(__name__)

_TITLE_STREAM = 97  # marketplace titles draw from their own stream: the rest of the sample stays the same
_BATCH_STREAM = 98  # a later batch draws its queries and traffic from its own stream, after the same catalogue
TRUTH_DIR = "truth"
NOISE_TRUTH_FILE = "label_noise.parquet"
__all__ = ["SampleConfig", "SampleData", "generate_sample"]


@dataclasses.dataclass
class SampleData:
    """Generated tables (contract dtypes) and the truth about flipped labels."""

    config: SampleConfig
    tables: dict
    noise_truth: object  # DataFrame [query_id, product_id, clean_label, noisy_label]

    def write(self, out_dir: str | Path, fmt: str = "parquet") -> Path:
        """Write the contract tables to out_dir and the noise truth to out_dir/truth/."""
        out_dir = write_tables(_as_files(self.tables), out_dir, fmt)
        truth_dir = out_dir / TRUTH_DIR
        truth_dir.mkdir(exist_ok=True)
        self.noise_truth.to_parquet(truth_dir / NOISE_TRUTH_FILE, index=False)
        return out_dir


def _as_files(tables: dict) -> dict:
    """Attributes go to files as JSON strings, so Parquet and CSV hold the same thing."""
    out = dict(tables)
    products = tables["products"].copy()
    products["attributes"] = products["attributes"].map(lambda a: None if a is None else json.dumps(a, sort_keys=True))
    out["products"] = products
    return out


def generate_sample(config: SampleConfig = SampleConfig()) -> SampleData:
    """Generate the whole sample shop deterministically from config.seed."""
    rng = np.random.default_rng(config.seed)
    leaf_weights = _leaf_weights(config.drift, rng)
    products = generate_products(config, rng)
    if config.marketplace_titles:
        products["title"] = marketplace_titles(products["title"], np.random.default_rng([config.seed, _TITLE_STREAM]))
    if config.batch:
        rng = np.random.default_rng([config.seed, _BATCH_STREAM, config.batch])
    queries, specs = generate_queries(config, rng, products, leaf_weights)
    judgments = generate_judgments(config, rng, products, specs)
    judgments, noise_truth = flip_labels(judgments, config.label_noise, rng)
    interactions = generate_interactions(config, rng, queries, judgments)
    log.info(
        "sample: %d products, %d queries, %d judgments, %d interactions (seed=%d, noise=%.2f, drift=%.2f)",
        len(products), len(queries), len(judgments), len(interactions), config.seed, config.label_noise, config.drift,
    )
    tables = {"products": products, "queries": queries, "judgments": judgments, "interactions": interactions}
    # Generator-only columns (leading underscore) never leave this module.
    tables = {name: frame[[c for c in frame.columns if not c.startswith("_")]] for name, frame in tables.items()}
    return SampleData(config=config, tables=tables, noise_truth=noise_truth)


def _leaf_weights(drift: float, rng: np.random.Generator) -> np.ndarray:
    weights = np.ones(len(LEAVES))
    if drift > 0:
        # A fixed-by-seed handful of categories becomes popular (a season, a promotion).
        hot = np.random.default_rng(10_007).choice(len(LEAVES), size=5, replace=False)
        weights[hot] *= 1 + 12 * drift
    return weights / weights.sum()
