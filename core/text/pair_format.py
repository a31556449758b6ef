"""The pair format: which query features a model reads in its (query, product) pairs, stored with the model; and tokenisation.

A model stores the versions of the additions it was trained with (price verdicts in the product
text, core/text/price_fit.py; spelling notes in the query, core/text/query_spelling.py), the
features switched off within them and the locale that queries without one read as, in its
hf/config.json, so inference writes pairs exactly as training did (core/text/query_features.py
writes them).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

from shoprank.core.common.errors import ConfigError
from shoprank.core.ranking.artifact import DEFAULT_MAX_LENGTH, stored_setting
from shoprank.core.text.locale_words import DEFAULT_LOCALE
from shoprank.core.text.price_fit import PRICE_VERDICT_VERSION
from shoprank.core.text.query_spelling import SPELLING_NOTES_VERSION

# Keys in the HF config.json: the pair format versions the model was trained with. Models saved
# before a key existed lack it and read pairs without that addition; a stored true means version 1.
PRICE_VERDICTS_KEY = "shoprank_price_verdicts"
SPELLING_NOTES_KEY = "shoprank_spelling_notes"
# The switches and default locale; models saved before it existed read every feature, as en_US.
QUERY_FEATURES_KEY = "shoprank_query_features"
_SWITCHES = ("price_limits", "low_price_words", "default_locale")


@dataclasses.dataclass(frozen=True)
class PairFormat:
    """What a model reads beyond the raw (query, product): the versions of the additions, and
    which of their features are on.

    price_verdicts: version of the verdicts after the product's price (0 = none).
    spelling_notes: version of the notes after misspelt query words (0 = none).
    price_limits: verdicts against a price limit the query names ("under $40").
    low_price_words: verdicts and spelling notes for queries asking for a low price without a
        number ("cheap mug", "chep mug").
    default_locale: the locale of queries whose locale is null (core/text/locale_words.py).
    """

    price_verdicts: int = 0
    spelling_notes: int = 0
    price_limits: bool = True
    low_price_words: bool = True
    default_locale: str = DEFAULT_LOCALE

    @classmethod
    def latest(cls, price_limits: bool = True, low_price_words: bool = True, spelling_notes: bool = True,
               default_locale: str = DEFAULT_LOCALE) -> "PairFormat":
        """What training writes now, with the chosen features on (price verdicts are version 0 when
        neither price feature is on, spelling notes when they are off)."""
        return cls(PRICE_VERDICT_VERSION if price_limits or low_price_words else 0,
                   SPELLING_NOTES_VERSION if spelling_notes else 0, price_limits, low_price_words, default_locale)

    @property
    def is_plain(self) -> bool:
        """True when the pairs are read as they are: no verdict, no note can apply."""
        return self.spelling_notes == 0 and (self.price_verdicts == 0 or not (self.price_limits or self.low_price_words))

    @classmethod
    def stored(cls, hf_dir: str | Path) -> "PairFormat":
        """The format in the HF directory's config.json; 0 for each version it lacks, every feature
        on and en_US without the switches."""
        switches = stored_setting(hf_dir, "config.json", QUERY_FEATURES_KEY) or {}
        if not isinstance(switches, dict) or set(switches) - set(_SWITCHES):
            raise ConfigError(f"expected {QUERY_FEATURES_KEY} in {Path(hf_dir) / 'config.json'} to be an object "
                              f"with keys among {list(_SWITCHES)}, got {switches!r}")
        return cls(**{field: _stored_version(hf_dir, key) for field, key in _VERSION_KEYS.items()}, **switches)

    def store(self, model_config) -> None:
        """Write the format into an HF model config (saved as config.json)."""
        for field, key in _VERSION_KEYS.items():
            setattr(model_config, key, getattr(self, field))
        setattr(model_config, QUERY_FEATURES_KEY, {name: getattr(self, name) for name in _SWITCHES})


_VERSION_KEYS = {"price_verdicts": PRICE_VERDICTS_KEY, "spelling_notes": SPELLING_NOTES_KEY}


def _stored_version(hf_dir: str | Path, key: str) -> int:
    value = stored_setting(hf_dir, "config.json", key)
    if value is None:
        return 0
    if not isinstance(value, (bool, int)):
        raise ConfigError(f"expected {key} in {Path(hf_dir) / 'config.json'} to be a version "
                          f"number or true/false, got {value!r}")
    return int(value)


def tokenize_pairs(tokenizer, queries: Sequence[str], texts: Sequence[str],
                   max_length: int = DEFAULT_MAX_LENGTH, return_tensors: str | None = None,
                   padding: bool | str = False) -> dict:
    """Encode (query, text) pairs as one sequence each: [CLS] query [SEP] text [SEP].

    Shared by training and inference so both see the same tokens; the inputs are already in the
    model's pair format (core/text/query_features.py format_pairs). Without padding the result
    holds lists of ids of varying length (training pads per batch).
    """
    if len(queries) != len(texts):
        raise ConfigError(f"queries and texts must have the same length, got {len(queries)} and {len(texts)}")
    return tokenizer(list(queries), list(texts), truncation="longest_first", max_length=max_length,
                     padding=padding, return_tensors=return_tensors)
