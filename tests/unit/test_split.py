import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.core.data.split import SplitConfig, split_queries


def test_split_is_by_query_and_stable():
    ids = [f"q{i}" for i in range(2000)]
    first = split_queries(ids)
    assert split_queries(ids) == first
    # adding queries never moves existing ones
    more = split_queries(ids + [f"new{i}" for i in range(100)])
    assert all(more[q] == first[q] for q in ids)
    shares = {s: sum(v == s for v in first.values()) / len(ids) for s in ("train", "validation", "test")}
    assert shares["validation"] == pytest.approx(0.15, abs=0.03)
    assert shares["test"] == pytest.approx(0.15, abs=0.03)


def test_pairs_never_put_one_query_in_two_splits(small_pairs):
    splits_per_query = small_pairs.groupby("query_id")["split"].nunique()
    assert (splits_per_query == 1).all()
    assert set(small_pairs["split"]) == {"train", "validation", "test"}


def test_split_seed_changes_assignment_and_bad_fractions_are_rejected():
    ids = [f"q{i}" for i in range(500)]
    assert split_queries(ids, SplitConfig(seed=1)) != split_queries(ids, SplitConfig(seed=2))
    with pytest.raises(ConfigError, match="validation_fraction \\+ test_fraction"):
        SplitConfig(validation_fraction=0.6, test_fraction=0.5)
