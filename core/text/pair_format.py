"""The pair format: both sides of a (query, product text) pair as a model reads them, and its tokenisation.

A model stores the versions of the additions it was trained with (price verdicts in the product
text, core/text/price_fit.py; spelling notes in the query, core/text/query_spelling.py) in its
hf/config.json, so inference writes pairs exactly as training did.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence
from shoprank.core.common.errors import ConfigError
from shoprank.core.ranking.artifact import DEFAULT_MAX_LENGTH, stored_setting
from shoprank.core.text.price_fit import PRICE_VERDICT_VERSION, with_price_verdicts
from shoprank.core.text.query_spelling import SPELLING_NOTES_VERSION, with_spelling_notes

# Keys in the HF config.json: the pair format versions the model was trained with. Models saved
# before a key existed lack it and read pairs without that addition; a stored true means version 1.
PRICE_VERDICTS_KEY = "shoprank_price_verdicts"
SPELLING_NOTES_KEY = "shoprank_spelling_notes"


@dataclasses.dataclass(frozen=True)
class PairFormat:
    """What a model reads beyond the raw (query, product text): the versions of the additions."""

    price_verdicts: int = 0   # core/text/price_fit.py: verdicts after the product's price
    spelling_notes: int = 0   # core/text/query_spelling.py: nearest candidate words after misspelt query words

    @classmethod
    def latest(cls) -> "PairFormat":
        """What training writes now."""
        return cls(PRICE_VERDICT_VERSION, SPELLING_NOTES_VERSION)

    @classmethod
    def stored(cls, hf_dir: str | Path) -> "PairFormat":
        """The format in the HF directory's config.json; 0 for each key it lacks."""
        return cls(**{field: _stored_version(hf_dir, key) for field, key in _FORMAT_KEYS.items()})

    def store(self, model_config) -> None:
        """Write the versions into an HF model config (saved as config.json)."""
        for field, key in _FORMAT_KEYS.items():
            setattr(model_config, key, getattr(self, field))


_FORMAT_KEYS = {"price_verdicts": PRICE_VERDICTS_KEY, "spelling_notes": SPELLING_NOTES_KEY}


def _stored_version(hf_dir: str | Path, key: str) -> int:
    value = stored_setting(hf_dir, "config.json", key)
    if value is None:
        return 0
    if not isinstance(value, (bool, int)):
        raise ConfigError(f"expected {key} in {Path(hf_dir) / 'config.json'} to be a version "
                          f"number or true/false, got {value!r}")
    return int(value)


def pair_inputs(queries: Sequence[str], texts: Sequence[str], pair_format: PairFormat) -> tuple[list[str], list[str]]:
    """Both sides of each pair as the model reads them: in the format it was trained with.

    All candidates of a query must come in one call: a "cheap" verdict compares them, and a
    spelling note is drawn from their words.
    """
    if len(queries) != len(texts):
        raise ConfigError(f"queries and texts must have the same length, got {len(queries)} and {len(texts)}")
    return (with_spelling_notes(queries, texts, pair_format.spelling_notes),
            with_price_verdicts(queries, texts, pair_format.price_verdicts))


def tokenize_pairs(tokenizer, queries: Sequence[str], texts: Sequence[str],
                   max_length: int = DEFAULT_MAX_LENGTH, return_tensors: str | None = None,
                   padding: bool | str = False, pair_format: PairFormat = PairFormat()) -> dict:
    """Encode (query, text) pairs as one sequence each: [CLS] query [SEP] text [SEP].

    Shared by training and inference so both see the same tokens. Without padding the result
    holds lists of ids of varying length (training pads per batch). Pass all of a query's candidates
    together unless pair_format is plain (see pair_inputs).
    """
    queries, texts = pair_inputs(queries, texts, pair_format)
    return tokenizer(queries, texts, truncation="longest_first", max_length=max_length, padding=padding,
                     return_tensors=return_tensors)
