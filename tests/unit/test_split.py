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


def test_one_search_under_several_query_ids_lands_in_one_split():
    from shoprank.core.data.split import normalise_query

    assert normalise_query("  Red\u00a0MUG  for  Tea ") == normalise_query("red mug for tea") == "red mug for tea"
    ids = [f"q{i}" for i in range(300)]
    texts = [f"query {i}" for i in range(300)]
    alone = split_queries(ids, texts=texts)
    assert alone == split_queries(ids)  # unique texts keep their own split
    # every 10th query repeats query 0's search in another spelling
    texts = [("Query  0" if i % 10 == 0 else t) for i, t in enumerate(texts)]
    grouped = split_queries(ids, texts=texts)
    assert {grouped[f"q{i}"] for i in range(0, 300, 10)} == {alone["q0"]}
    assert sum(alone[f"q{i}"] != alone["q0"] for i in range(0, 300, 10)) > 0  # without grouping they would spread
    assert all(grouped[q] == alone[q] for i, q in enumerate(ids) if i % 10)


def test_repeated_judgments_take_the_lower_median_and_are_counted():
    import pandas as pd

    from shoprank.core.data.judgments import lower_median, resolve_labels

    assert [lower_median(x) for x in ([3], [0, 3], [2, 3], [3, 0, 2], [1, 1, 3, 3])] == [3, 0, 2, 2, 1]
    judgments = pd.DataFrame({
        "query_id": ["a", "a", "a", "a", "b", "b", "c", "c"],
        "product_id": ["1", "1", "1", "2", "1", "1", "1", "1"],
        "label": [3, 0, 2, 1, 3, 1, 2, 2],
        "source": ["human", "human", "human", "human", "clicks", "human", "clicks", "clicks"],
    })
    resolved, conflicts = resolve_labels(judgments)
    labels = {(q, p): label for q, p, label in zip(resolved["query_id"], resolved["product_id"], resolved["label"])}
    assert labels == {("a", "1"): 2, ("a", "2"): 1, ("b", "1"): 1, ("c", "1"): 2}  # human wins over clicks in b
    assert conflicts == 1  # a/1 only: b/1 has one human label, c/1's click labels agree
