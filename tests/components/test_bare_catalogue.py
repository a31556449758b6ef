"""A catalogue without prices, brands or categories (and queries without a locale) is valid data:
it goes through validate, prepare, train and evaluate, and the query features skip what is missing."""

import json
import shutil

import pandas as pd
import pytest

from shoprank.core.data.pairs import read_pairs
from shoprank.core.stages.evaluate import EvaluationConfig, run_evaluate_stage
from shoprank.core.stages.prepare import prepare_pairs
from shoprank.core.stages.train import run_train_stage
from shoprank.core.text.query_features import format_pairs
from shoprank.core.training.config import TrainConfig
from shoprank.validation.stage import validate_data_dir
from support.tiny_model import tiny_model_dir


@pytest.fixture(scope="module")
def bare_data(tmp_path_factory, small_data_dir):
    """The small sample with the products' price, brand and category columns left out, and queries
    in a locale with no word table."""
    data = tmp_path_factory.mktemp("bare") / "data"
    shutil.copytree(small_data_dir, data)
    products = pd.read_parquet(data / "products.parquet").drop(columns=["price", "brand", "category"])
    products.to_csv(data / "products.csv", index=False)
    (data / "products.parquet").unlink()
    queries = pd.read_parquet(data / "queries.parquet")
    queries.assign(locale=["fr_FR" if i % 2 else None for i in range(len(queries))]).to_parquet(
        data / "queries.parquet", index=False)
    return data


def test_a_catalogue_without_prices_brands_or_categories_runs_end_to_end(bare_data, tmp_path, caplog):
    metrics = validate_data_dir(bare_data, tmp_path / "validated", tmp_path / "validation.html")
    assert metrics["rows_products"] == 300
    counts = prepare_pairs(tmp_path / "validated", tmp_path / "pairs.parquet")
    pairs = read_pairs(tmp_path / "pairs.parquet")
    assert counts["pairs"] == len(pairs) > 0
    assert pairs["price"].isna().all() and pairs["brand"].isna().all() and pairs["category"].isna().all()
    assert not pairs["product_text"].str.contains("price: |brand: |category: ").any()

    config = TrainConfig(init_model_dir=str(tiny_model_dir(tmp_path / "tiny")), max_steps=2, batch_size=16,
                         num_threads=1, checkpoint_every=0)
    # Price limits and "cheap" need a price: none is written, though the queries ask for them.
    limited = pairs[pairs["query"].str.contains("under \\$|cheap", regex=True) & pairs["locale"].isna()]
    assert len(limited) > 0
    _, texts = format_pairs(limited, config.pair_format)
    assert texts == limited["product_text"].tolist()
    with caplog.at_level("WARNING", logger="shoprank.core.stages.train"):
        train_metrics = run_train_stage(tmp_path / "pairs.parquet", tmp_path / "model", config, quantize=False)
    assert train_metrics["steps"] == 2
    warnings = [r.getMessage() for r in caplog.records if "no query-feature word table" in r.getMessage()]
    assert len(warnings) == 1 and "fr_FR: " in warnings[0]  # said once, with the count

    result = run_evaluate_stage(tmp_path / "pairs.parquet", tmp_path / "model", tmp_path / "evaluation.json",
                                tmp_path / "evaluation.html", config=EvaluationConfig(baselines=("bm25",)))
    assert set(result["rankers"]) == {"model", "bm25"}
    assert 0.0 <= result["rankers"]["model"]["ndcg@10"] <= 1.0 and result["pairs"] > 0
    assert json.loads((tmp_path / "evaluation.json").read_text())["split"] == "test"
