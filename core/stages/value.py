"""The `value` stage: score every training pair's data value, turn values into weights.

Reads a pairs table (core/data/pairs.py), embeds the query and product texts with the
pretrained encoder (cached on disk by content hash), builds one feature vector per pair,
values the train rows against the validation rows (core/valuation/methods.py), and writes the
pairs back with two more columns:

    value   the method's value of the row (higher = more useful); NaN on validation/test rows
    weight  the policy's sample weight (validation/test rows keep 1.0)

plus `label_issue` (cleanlab's flag, False outside train). With the `drop` policy the
dropped train rows are left out of the written table. An HTML report shows a value
histogram per label and the most suspicious pairs.

Pair features: the element-wise product of the query and product unit embeddings, scaled by
sqrt(dim) so entries are O(1), plus their cosine similarity as one more column weighted by
`cosine_weight`. The product keeps the *relation* between query and product (which dims
agree), unlike a concatenation, which clusters pairs by topic rather than by relevance;
the weighted cosine is the strongest single relevance signal and would be drowned by the
other columns in a Euclidean distance at weight 1. On the 20%-noise sample this raised
KNN-Shapley's flipped-label AUROC from 0.73 (concatenation) and 0.81 (product alone) to 0.85.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np

from shoprank.core.common.errors import DataValidationError
from shoprank.core.data.pairs import read_pairs, write_pairs
from shoprank.core.common.seeding import seed_everything
from shoprank.core.valuation.config import (ConfidentLearningConfig, DataOobConfig, KnnShapleyConfig, PolicyConfig,
                                            ValuationConfig)
from shoprank.core.valuation.methods import value_examples

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PairFeatureConfig:
    """How a (query, product) pair becomes one vector.

    cosine_weight: weight of the cosine-similarity column appended to the scaled product.
    batch_size: encoder batch size.
    cache_dir: directory for cached embeddings (None = no cache).
    max_length: tokens of each text the encoder reads for these features. 64 keeps the title,
        brand and first fields of a product text (a pair's relevance mostly shows there) at about
        half the encoding time of the encoder's default 128 on long catalogue texts (README,
        "Value stage cost").
    """

    cosine_weight: float = 8.0
    batch_size: int = 64
    cache_dir: str | None = None
    max_length: int = 64


@dataclasses.dataclass(frozen=True)
class ValueStageConfig:
    """The stage's settings: valuation (method, k, policy), features, report size, seed."""

    valuation: ValuationConfig = ValuationConfig()
    features: PairFeatureConfig = PairFeatureConfig()
    report_rows: int = 50
    seed: int = 0

    @classmethod
    def build(cls, method: str = "knn_shapley", k: int = 10, policy: str = "weight", floor: float = 0.1,
              fraction: float | None = None, seed: int = 0, cache_dir: str | None = None) -> "ValueStageConfig":
        """The nested config from its common knobs; fraction None = the estimated noisy share."""
        valuation = ValuationConfig(
            method=method,
            knn=KnnShapleyConfig(k=k),
            oob=DataOobConfig(seed=seed),
            confident=ConfidentLearningConfig(seed=seed),
            policy=PolicyConfig(policy=policy, floor=floor, fraction=fraction),
        )
        return cls(valuation=valuation, features=PairFeatureConfig(cache_dir=cache_dir), seed=seed)


def pair_features(query_emb: np.ndarray, product_emb: np.ndarray, cosine_weight: float = 8.0) -> np.ndarray:
    """(n, d + 1) float32 features from unit query and product embeddings (see module doc)."""
    product = query_emb * product_emb
    cosine = product.sum(axis=1, keepdims=True)
    return np.hstack([product * np.sqrt(query_emb.shape[1]), cosine_weight * cosine]).astype(np.float32)


def embed_pairs(pairs, config: PairFeatureConfig = PairFeatureConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Query and product embeddings per row; each distinct text is encoded once."""
    import pandas as pd

    from shoprank.core.ranking.encoder import encode_texts

    out = []
    for column in ("query", "product_text"):
        codes, uniques = pd.factorize(pairs[column].astype(str), sort=True)
        emb = encode_texts(list(uniques), batch_size=config.batch_size, cache_dir=config.cache_dir,
                           max_length=config.max_length)
        out.append(emb[codes])
    return out[0], out[1]


def run_value_stage(pairs_path: str | Path, scored_path: str | Path, report_path: str | Path | None = None,
                    config: ValueStageConfig = ValueStageConfig()) -> dict:
    """Value the train pairs against the validation pairs; write scored pairs and the report.

    Returns the metrics dict (method, n, estimated noisy share, seconds, ...).
    """
    started = time.perf_counter()
    seed_everything(config.seed)
    log.info("value stage: %s", config)
    pairs = read_pairs(pairs_path).reset_index(drop=True)
    train = (pairs["split"] == "train").to_numpy()
    valid = (pairs["split"] == "validation").to_numpy()
    if not train.any():
        raise DataValidationError(
            f"value stage: expected train rows in the pairs table, got splits {sorted(pairs['split'].unique())} "
            f"({len(pairs)} rows)"
        )
    if config.valuation.method == "knn_shapley" and not valid.any():
        raise DataValidationError(
            "value stage: knn_shapley values train rows against validation rows, got 0 validation rows; "
            "use method data_oob or add validation queries"
        )
    # Only the rows valuation reads are embedded (train and validation):
    # test texts would cost encoder time and change nothing.
    used = train | valid
    features = pair_features(*embed_pairs(pairs[used], config.features), config.features.cosine_weight)
    labels = pairs["label"].to_numpy()
    embed_seconds = time.perf_counter() - started
    valid_in_used = valid[used]
    result = value_examples(
        features[train[used]], labels[train],
        features[valid_in_used] if valid_in_used.any() else None, labels[valid] if valid_in_used.any() else None,
        config.valuation,
    )
    scored = pairs.copy()
    scored["value"] = np.nan
    scored.loc[train, "value"] = result.values
    scored["weight"] = 1.0
    scored.loc[train, "weight"] = result.weights
    scored["label_issue"] = False
    scored.loc[train, "label_issue"] = result.is_issue
    kept = scored[scored["weight"] > 0].reset_index(drop=True)
    write_pairs(kept, scored_path)
    metrics = dict(result.metrics)
    metrics.update(
        valuation_seconds=metrics.pop("seconds"),
        n_dropped=int(len(scored) - len(kept)),
        n_written=int(len(kept)),
        embed_seconds=round(embed_seconds, 4),
        embedded_rows=int(used.sum()),
        seconds=round(time.perf_counter() - started, 4),
    )
    if report_path is not None:
        from shoprank.core.valuation.report import render_value_report

        Path(report_path).parent.mkdir(parents=True, exist_ok=True)
        Path(report_path).write_text(render_value_report(scored[train], metrics, config.report_rows), encoding="utf-8")
    log.info("value stage: wrote %d rows (%d dropped) in %.1fs", len(kept), metrics["n_dropped"], metrics["seconds"])
    return metrics
