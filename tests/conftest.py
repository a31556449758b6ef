"""Shared fixtures: small deterministic sample data, written once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO_ROOT = Path(__file__).resolve().parents[1]
SMALL_SAMPLE = dict(seed=7, n_products=300, n_queries=60)


def pytest_collection_modifyitems(config, items):
    """GPU tests run only where a CUDA device exists."""
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if has_gpu:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; none is present")
    for item in items:
        if item.get_closest_marker("gpu"):   # the marker, not a test id that happens to contain "gpu"
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_sample():
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample

    return generate_sample(SampleConfig(**SMALL_SAMPLE))


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory, small_sample) -> Path:
    """The small sample as Parquet files (read-only for tests: copy before breaking it)."""
    return small_sample.write(tmp_path_factory.mktemp("small-data"))


@pytest.fixture(scope="session")
def small_pairs(small_sample):
    from shoprank.core.data.pairs import build_pairs

    return build_pairs(small_sample.tables)


@pytest.fixture(scope="session")
def small_marketplace_pairs():
    """The small sample's pairs with long marketplace-style titles."""
    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample

    return build_pairs(generate_sample(SampleConfig(**SMALL_SAMPLE, marketplace_titles=True)).tables)
