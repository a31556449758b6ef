"""A fine-tuned cross-encoder reranker loaded for inference, with torch or with onnxruntime alone.

A model artifact directory holds:
    hf/               HF model dir (AutoModelForSequenceClassification, num_labels=1) + tokenizer
    model.onnx        fp32 ONNX export (inputs input_ids, attention_mask[, token_type_ids]; output logits)
    model.int8.onnx   dynamically quantised int8 ONNX
    manifest.json     sha256 of every file, training config, data fingerprint, metrics
`Reranker.load` also takes a bare HF directory. Both classes score (query, text) pairs with the
same tokenisation (pair encoding, longest-first truncation to the length the model was trained
with, which training stores as the tokenizer's model_max_length) and the pair format the model
was trained with (versions in hf/config.json): price verdicts in the product text
(core/price_fit.py) and spelling notes in the query (core/query_spelling.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import ConfigError
from .precision import default_device, forward_context, resolve_bf16
from .price_fit import PRICE_VERDICT_VERSION, with_price_verdicts
from .progress import ProgressLog
from .query_spelling import SPELLING_NOTES_VERSION, with_spelling_notes

log = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 128
HF_SUBDIR = "hf"
ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model.int8.onnx"
MANIFEST_FILE = "manifest.json"
# BERT-style position tables end at 512; tokenizers without a limit report ~1e30.
MAX_POSITIONS = 512
# Keys in the HF config.json: the pair format versions the model was trained with. Models saved
# before a key existed lack it and read pairs without that addition; a stored true means version 1.
PRICE_VERDICTS_KEY = "shoprank_price_verdicts"
SPELLING_NOTES_KEY = "shoprank_spelling_notes"


def hf_model_dir(model_dir: str | Path) -> Path:
    """The HF directory inside a model artifact directory, or the directory itself when bare."""
    model_dir = Path(model_dir)
    if (model_dir / HF_SUBDIR / "config.json").exists():
        return model_dir / HF_SUBDIR
    if (model_dir / "config.json").exists():
        return model_dir
    raise ConfigError(
        f"expected a model artifact directory with {HF_SUBDIR}/config.json or a bare HF directory "
        f"with config.json, got {model_dir} (contents: {sorted(p.name for p in model_dir.glob('*'))[:10]})"
    )


def _stored_setting(hf_dir: str | Path, file_name: str, key: str):
    """One top-level value of a JSON file in the HF directory; None when the file or key is missing."""
    path = Path(hf_dir) / file_name
    return json.loads(path.read_text()).get(key) if path.exists() else None


def trained_max_length(hf_dir: str | Path) -> int:
    """The truncation length stored with the tokenizer, capped at the position table size."""
    value = _stored_setting(hf_dir, "tokenizer_config.json", "model_max_length")
    if not isinstance(value, (int, float)) or value <= 0:
        return DEFAULT_MAX_LENGTH
    return int(min(value, MAX_POSITIONS))


@dataclasses.dataclass(frozen=True)
class PairFormat:
    """What a model reads beyond the raw (query, product text): the versions of the additions."""

    price_verdicts: int = 0   # core/price_fit.py: verdicts after the product's price
    spelling_notes: int = 0   # core/query_spelling.py: nearest candidate words after misspelt query words

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
    value = _stored_setting(hf_dir, "config.json", key)
    if value is None:
        return 0
    if not isinstance(value, (bool, int)):
        raise ConfigError(f"expected {key} in {Path(hf_dir) / 'config.json'} to be a version "
                          f"number or true/false, got {value!r}")
    return int(value)


def _pad_token(hf_dir: Path) -> str:
    token = _stored_setting(hf_dir, "tokenizer_config.json", "pad_token")
    if isinstance(token, dict):  # older tokenizers store an AddedToken
        token = token.get("content")
    return token or "[PAD]"


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


def length_order(queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """Indices sorted by character length, so inference batches carry little padding."""
    return np.argsort([len(q) + len(t) for q, t in zip(queries, texts)], kind="stable")


class Reranker:
    """A cross-encoder (AutoModelForSequenceClassification, one logit) scored with torch."""

    def __init__(self, model, tokenizer, max_length: int, device: str, pair_format: PairFormat = PairFormat(),
                 precision: str = "auto"):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.pair_format = pair_format
        # "auto" scores in bf16 where training ran bf16 too (core/precision.py), so a model is
        # scored as its validation picked it: on a 2-core AVX512-BF16 CPU 2.5-2.9x the fp32 rate,
        # test NDCG@10 0.9885 against 0.9882 (sample), 0.9851 against 0.9851 (10x sample).
        # fp32 gives the scores ONNX fp32 reproduces to 1e-4.
        self.use_bf16 = resolve_bf16(precision, device)

    @classmethod
    def load(cls, model_dir: str | Path, device: str | None = None, max_length: int | None = None,
             precision: str = "auto") -> "Reranker":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        hf_dir = hf_model_dir(model_dir)
        device = device or default_device()
        tokenizer = AutoTokenizer.from_pretrained(hf_dir)
        model = AutoModelForSequenceClassification.from_pretrained(hf_dir, num_labels=1)
        model.eval().to(device)
        return cls(model, tokenizer, max_length or trained_max_length(hf_dir), device, PairFormat.stored(hf_dir),
                   precision)

    def score(self, queries: Sequence[str], texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Relevance scores (float32 logits, higher = more relevant), in input order; pass all of a
        query's candidates in one call."""
        import torch

        queries, texts = pair_inputs(queries, texts, self.pair_format)  # before batching: both compare candidates
        out = np.zeros(len(texts), dtype=np.float32)
        order = length_order(queries, texts)
        progress = ProgressLog(log, "reranker", len(order), "pairs")
        with torch.inference_mode(), forward_context(self.device, self.use_bf16):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = tokenize_pairs(self.tokenizer, [queries[i] for i in idx], [texts[i] for i in idx],
                                       self.max_length, return_tensors="pt", padding=True)
                batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
                out[idx] = self.model(**batch).logits[:, 0].float().cpu().numpy()
                progress.advance(len(idx))
        return out


class OnnxReranker:
    """The same scores from model.onnx or model.int8.onnx with onnxruntime and tokenizers (no torch)."""

    def __init__(self, session, tokenizer, max_length: int, pair_format: PairFormat = PairFormat()):
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.pair_format = pair_format
        self.input_names = {i.name for i in session.get_inputs()}

    @classmethod
    def load(cls, model_dir: str | Path, quantized: bool = False, threads: int | None = None,
             max_length: int | None = None) -> "OnnxReranker":
        """Load from an artifact directory (int8 file when quantized) or from a .onnx path whose
        sibling hf/ directory holds the tokenizer."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = Path(model_dir)
        onnx_path = path if path.suffix == ".onnx" else path / (ONNX_INT8_FILE if quantized else ONNX_FILE)
        if not onnx_path.exists():
            raise ConfigError(f"expected an ONNX model at {onnx_path}, found none")
        hf_dir = hf_model_dir(onnx_path.parent)
        max_length = max_length or trained_max_length(hf_dir)
        tokenizer = Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
        pad_token = _pad_token(hf_dir)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad_token) or 0, pad_token=pad_token)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        return cls(session, tokenizer, max_length, PairFormat.stored(hf_dir))

    def score(self, queries: Sequence[str], texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Relevance scores (float32 logits, higher = more relevant), in input order; pass all of a
        query's candidates in one call."""
        queries, texts = pair_inputs(queries, texts, self.pair_format)
        out = np.zeros(len(texts), dtype=np.float32)
        order = length_order(queries, texts)
        progress = ProgressLog(log, "reranker (onnx)", len(order), "pairs")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([(str(queries[i]), texts[i]) for i in idx])
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            logits = self.session.run(["logits"], {k: v for k, v in feeds.items() if k in self.input_names})[0]
            out[idx] = logits[:, 0]
            progress.advance(len(idx))
        return out
