"""The zero-shot and MS MARCO baselines rank an exact match above an unrelated product."""

import numpy as np
import pytest

from shoprank.core.ranking.baselines import msmarco_model_dir, msmarco_scores, zeroshot_scores
from shoprank.core.common.errors import ConfigError

# (query, exact match, unrelated product)
CASES = [
    ("red running shoes", "Red running shoes | brand: Stride | category: Shoes > Running",
     "Cast iron skillet 12 inch | category: Kitchen > Cookware"),
    ("stainless steel water bottle", "Stainless steel water bottle 750 ml | category: Sports > Bottles",
     "Wireless gaming mouse | brand: Zap | category: Electronics > Mice"),
    ("usb c charger 65w", "65W USB-C fast charger | category: Electronics > Chargers",
     "Organic cotton baby blanket | category: Baby > Bedding"),
]


def _pairs():
    queries, texts = [], []
    for query, match, unrelated in CASES:
        queries += [query, query]
        texts += [match, unrelated]
    return queries, texts


@pytest.mark.parametrize("scorer", [msmarco_scores, zeroshot_scores], ids=["msmarco", "zeroshot"])
def test_exact_match_ranks_above_unrelated(scorer):
    queries, texts = _pairs()
    scores = scorer(queries, texts, batch_size=4)
    assert scores.shape == (len(queries),) and scores.dtype == np.float32
    assert np.all(np.isfinite(scores))
    assert np.all(scores[0::2] > scores[1::2])


def test_msmarco_scores_do_not_depend_on_input_order():
    queries, texts = _pairs()
    forward = msmarco_scores(queries, texts, batch_size=4)
    backward = msmarco_scores(queries[::-1], texts[::-1], batch_size=4)[::-1]
    np.testing.assert_array_equal(forward, backward)


def test_zeroshot_is_a_cosine(tmp_path):
    scores = zeroshot_scores(["same text", "same text"], ["same text", "other words"], cache_dir=tmp_path)
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert -1.0 <= scores[1] < scores[0]
    assert list(tmp_path.glob("emb-*.npz")), "embeddings were not cached"


def test_mismatched_lengths_and_empty_input():
    with pytest.raises(ConfigError, match="one query per text"):
        msmarco_scores(["a"], ["b", "c"])
    assert msmarco_scores([], []).shape == (0,)
    assert zeroshot_scores([], []).shape == (0,)


def test_msmarco_model_ships_in_the_installed_wheel():
    assert (msmarco_model_dir() / "model.onnx").stat().st_size > 1_000_000
