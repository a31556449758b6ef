"""The embedding cache works per text: a later call with an overlapping set encodes only what is new;
truncation length and precision are part of each text's key."""

import logging

import numpy as np

from shoprank.core.ranking.encoder import encode_texts


def _encoded_counts(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "to encode" in r.getMessage()]


def test_overlapping_calls_reuse_cached_texts_and_match_uncached_vectors(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="shoprank.core.ranking.encoder")
    first = encode_texts(["red wool scarf", "blue cotton shirt", "steel water bottle"], cache_dir=tmp_path)
    second = encode_texts(["steel water bottle", "oak desk lamp", "red wool scarf", "oak desk lamp"],
                          cache_dir=tmp_path)
    messages = _encoded_counts(caplog)
    assert "3 texts, 0 from cache, 3 to encode (" in messages[0]
    # Two of four from the cache; the repeated new text is encoded once.
    assert "4 texts, 2 from cache, 1 to encode (" in messages[1]
    np.testing.assert_array_equal(second[0], first[2])
    np.testing.assert_array_equal(second[2], first[0])
    np.testing.assert_array_equal(second[1], second[3])
    uncached = encode_texts(["steel water bottle", "oak desk lamp"])
    np.testing.assert_allclose(second[:2], uncached, atol=1e-5)
    assert len(list(tmp_path.glob("emb-*.npz"))) == 2
    assert not list(tmp_path.glob(".*")), "no temporary files are left behind"


def test_truncation_length_is_part_of_the_key(tmp_path):
    text = "a long product description " * 20
    long_vector = encode_texts([text], cache_dir=tmp_path, max_length=128)
    short_vector = encode_texts([text], cache_dir=tmp_path, max_length=8)
    assert not np.allclose(long_vector, short_vector)


def test_precision_is_part_of_the_key_and_bf16_stays_close_to_fp32(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="shoprank.core.ranking.encoder")
    texts = ["red wool scarf | brand: Acme | category: Apparel > Scarves | price: $12.99", "oak desk lamp"]
    fp32 = encode_texts(texts, cache_dir=tmp_path, precision="fp32")
    bf16 = encode_texts(texts, cache_dir=tmp_path, precision="bf16")
    assert _encoded_counts(caplog)[-1].endswith("2 texts, 0 from cache, 2 to encode (bf16)")
    assert not np.array_equal(fp32, bf16)
    cosine = (fp32 * bf16).sum(axis=1)
    assert cosine.min() > 0.999, cosine
    np.testing.assert_array_equal(encode_texts(texts, cache_dir=tmp_path, precision="fp32"), fp32)
    assert _encoded_counts(caplog)[-1].endswith("2 texts, 2 from cache, 0 to encode (fp32)")
