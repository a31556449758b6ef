"""The value component end to end via python_func on a small pairs file."""

import numpy as np
import pandas as pd
import pytest
from kfp.dsl import HTML, Dataset, Metrics

from shoprank.components.value.component import value_data
from shoprank.core.common.errors import DataValidationError
from shoprank.core.data.pairs import build_pairs
from shoprank.core.data.sample.generator import SampleConfig, generate_sample


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    sample = generate_sample(SampleConfig(seed=0, n_products=200, n_queries=30, label_noise=0.2))
    path = tmp_path_factory.mktemp("data") / "pairs.parquet"
    build_pairs(sample.tables).to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("embeddings"))


def _run(tmp_path, pairs_file, cache_dir, **params):
    outputs = {
        "scored_pairs": Dataset(uri=str(tmp_path / "scored.parquet")),
        "metrics": Metrics(uri=str(tmp_path / "metrics.json")),
        "report": HTML(uri=str(tmp_path / "report.html")),
    }
    value_data.python_func(pairs=Dataset(uri=str(pairs_file)), embedding_cache_dir=cache_dir, **outputs, **params)
    return outputs


def test_weight_policy_writes_value_and_weight_columns_metrics_and_report(tmp_path, pairs_file, cache_dir):
    pairs = pd.read_parquet(pairs_file)
    outputs = _run(tmp_path, pairs_file, cache_dir, method="knn_shapley", k=10, policy="weight")
    scored = pd.read_parquet(outputs["scored_pairs"].path)
    assert len(scored) == len(pairs)
    assert {"value", "weight", "label_issue"} <= set(scored.columns)
    train = scored["split"] == "train"
    assert scored.loc[train, "value"].notna().all() and scored.loc[~train, "value"].isna().all()
    assert (scored.loc[~train, "weight"] == 1.0).all()
    assert scored.loc[train, "weight"].between(0.1, 1.0).all() and (scored.loc[train, "weight"] < 1).any()
    # The lowest-valued train pair gets the floor weight.
    assert scored.loc[scored.loc[train, "value"].idxmin(), "weight"] == pytest.approx(0.1)

    metrics = outputs["metrics"].metadata
    assert metrics["method"] == "knn_shapley" and metrics["n"] == int(train.sum())
    assert 0 < metrics["estimated_noisy_share"] < 0.6 and metrics["seconds"] > 0
    assert metrics["n_validation"] == int((pairs["split"] == "validation").sum())
    # Test rows are never read by valuation, so their texts are not encoded.
    assert metrics["embedded_rows"] == int(pairs["split"].isin(["train", "validation"]).sum()) < len(pairs)

    page = open(outputs["report"].path, encoding="utf-8").read()
    assert "most suspicious pairs" in page and "data:image/png;base64," in page
    worst = scored[train].sort_values("value").iloc[0]
    assert worst["query"].split()[0] in page and worst["product_text"].split(" | ")[0] in page
    assert page.count("<tr>") >= 50

    # Same seed, same values (the embeddings now come from the cache).
    again = _run(tmp_path / "again", pairs_file, cache_dir, method="knn_shapley", k=10, policy="weight")
    np.testing.assert_array_equal(pd.read_parquet(again["scored_pairs"].path)["value"].to_numpy(), scored["value"].to_numpy())


def test_drop_policy_with_data_oob_removes_the_lowest_train_rows(tmp_path, pairs_file, cache_dir):
    pairs = pd.read_parquet(pairs_file)
    n_train = int((pairs["split"] == "train").sum())
    outputs = _run(tmp_path, pairs_file, cache_dir, method="data_oob", policy="drop", fraction=0.1)
    scored = pd.read_parquet(outputs["scored_pairs"].path)
    assert len(scored) == len(pairs) - round(0.1 * n_train)
    assert outputs["metrics"].metadata["n_dropped"] == round(0.1 * n_train)
    assert (scored["weight"] == 1.0).all()
    assert scored.loc[scored["split"] == "train", "value"].between(0, 1).all()


def test_knn_without_validation_rows_is_a_clear_error(tmp_path, pairs_file, cache_dir):
    only_train = pd.read_parquet(pairs_file).assign(split="train")
    path = tmp_path / "only_train.parquet"
    only_train.to_parquet(path, index=False)
    with pytest.raises(DataValidationError, match="0 validation rows"):
        _run(tmp_path, path, cache_dir, method="knn_shapley")
