"""max_length and the product fields: how long pairs are up to the description, the fitted length,
and what training does with them."""

import pytest
from transformers import AutoTokenizer

from shoprank.core.data.sample.vocabulary import SELLING_POINTS
from shoprank.core.ranking.encoder import pretrained_model_dir
from shoprank.core.ranking.artifact import trained_max_length
from shoprank.core.text.pair_format import PairFormat
from support.tiny_model import tiny_model_dir, toy_pairs, pairs_table
from shoprank.core.training.batches import (FIELDS_WHOLE_SHARE, FITTED_MAX_LENGTH_BOUNDS, field_lengths, fields_whole_share,
                                      fitted_max_length)
from shoprank.core.training.config import TrainConfig
from shoprank.core.training.loop import train

LOW, HIGH = FITTED_MAX_LENGTH_BOUNDS


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(pretrained_model_dir())


def fit(frame, tokenizer, pair_format=PairFormat()):
    lengths = field_lengths(frame, tokenizer, pair_format)
    max_length = fitted_max_length(lengths, tokenizer)
    return max_length, fields_whole_share(lengths, max_length)


def test_fits_the_fields_of_most_pairs_in_a_multiple_of_8(small_pairs, tokenizer):
    lengths = field_lengths(small_pairs, tokenizer, PairFormat.latest())
    assert len(lengths) == len(small_pairs)  # under 4,000 pairs: all of them
    max_length = fitted_max_length(lengths, tokenizer)
    assert LOW <= max_length <= HIGH and max_length % 8 == 0
    assert fields_whole_share(lengths, max_length) >= FIELDS_WHOLE_SHARE
    assert fields_whole_share(lengths, max_length - 8) < FIELDS_WHOLE_SHARE or max_length == LOW
    shuffled = small_pairs.sample(frac=1.0, random_state=1)
    assert sorted(field_lengths(shuffled, tokenizer, PairFormat.latest())) == sorted(lengths)


def test_marketplace_titles_get_a_longer_length(small_pairs, small_marketplace_pairs, tokenizer):
    short, _ = fit(small_pairs, tokenizer, PairFormat.latest())
    long, whole = fit(small_marketplace_pairs, tokenizer, PairFormat.latest())
    assert long >= short + 8 and whole >= FIELDS_WHOLE_SHARE
    lengths = field_lengths(small_marketplace_pairs, tokenizer, PairFormat.latest())
    assert fields_whole_share(lengths, 64) < 0.25  # what a fixed 64 keeps of them


def test_the_description_does_not_count(tokenizer):
    pairs = toy_pairs()
    plain = field_lengths(pairs_table(pairs, price=10.0), tokenizer)
    described = field_lengths(pairs_table(pairs, price=10.0, description="word " * 300), tokenizer)
    assert list(described) == list(plain)


def test_bounds_and_the_share_left_whole(tokenizer):
    pairs = toy_pairs()
    assert fit(pairs_table(pairs, title="mug", brand=None), tokenizer) == (LOW, 1.0)
    endless = pairs_table(pairs, title=[f"{t} " + "stainless steel " * 80 for t in pairs["title"]])
    assert fit(endless, tokenizer) == (HIGH, 0.0)


@pytest.fixture(scope="module")
def long_title_pairs():
    """Toy pairs whose titles run long, with every field after them."""
    pairs = toy_pairs()
    return pairs_table(
        pairs, title=[f"{t}, " + ", ".join(SELLING_POINTS[:5]) for t in pairs["title"]], brand="Acme",
        category="Home > Kitchen > Mugs", price=12.5, attributes='{"color": "red", "material": "stoneware", "size": "large"}')


def test_training_fits_max_length_when_none_is_set(tmp_path, tokenizer, long_title_pairs):
    tiny = tiny_model_dir(tmp_path / "tiny")
    config = TrainConfig(init_model_dir=str(tiny), max_length=None, batch_size=8, epochs=1, num_threads=1,
                         checkpoint_every=0)
    result = train(long_title_pairs, tmp_path / "m", config)
    expected, whole = fit(long_title_pairs[long_title_pairs["split"] == "train"], tokenizer, config.pair_format)
    assert expected > 64
    assert result["max_length"] == expected == trained_max_length(tmp_path / "m")
    assert result["fields_whole_share"] == whole >= FIELDS_WHOLE_SHARE


def test_training_warns_when_max_length_cuts_most_fields(tmp_path, caplog, long_title_pairs):
    tiny = tiny_model_dir(tmp_path / "tiny")
    config = TrainConfig(init_model_dir=str(tiny), batch_size=8, epochs=1, num_threads=1, checkpoint_every=0)
    assert config.max_length == 64
    with caplog.at_level("WARNING", logger="shoprank.core.training.loop"):
        result = train(long_title_pairs, tmp_path / "m", config)
    assert result["max_length"] == 64 == trained_max_length(tmp_path / "m")
    assert result["fields_whole_share"] < 0.75
    warning = next(r.getMessage() for r in caplog.records if "cuts the product fields" in r.getMessage())
    assert "max_length 64" in warning and "max_length None, or 0 on the train component, fits it" in warning

