"""A fine-tuned cross-encoder reranker loaded for inference, with torch or with onnxruntime alone.

A model artifact directory (core/ranking/artifact.py) holds hf/, model.onnx, model.int8.onnx and
manifest.json. `Reranker.load` also takes a bare HF directory. Both classes score structured pairs
(query, locale and the product's fields; core/text/query_features.py writes them in the model's
pair format) with the same tokenisation (pair encoding, longest-first truncation to the length the model was trained
with, which training stores as the tokenizer's model_max_length) and the pair format the model
was trained with (versions in hf/config.json): price verdicts in the product text
(core/text/price_fit.py) and spelling notes in the query (core/text/query_spelling.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from shoprank.core.common.errors import ConfigError
from shoprank.core.common.precision import default_device, forward_context, resolve_bf16
from shoprank.core.common.progress import ProgressLog
from shoprank.core.ranking.artifact import ONNX_FILE, ONNX_INT8_FILE, hf_model_dir, stored_pad_token, trained_max_length
from shoprank.core.ranking.buckets import DEFAULT_BATCH_SIZE, DEFAULT_MAX_TOKENS, length_buckets, pad_batch
from shoprank.core.text.pair_format import PairFormat, tokenize_pairs
from shoprank.core.text.query_features import format_pairs

log = logging.getLogger(__name__)


class _BucketedScorer:
    """The scoring loop both runtimes share: format the pairs, tokenise them without padding,
    batch them by token length (core/ranking/buckets.py) and run each batch padded to its longest.

    A runtime provides encode_pairs (token ids and type ids of formatted pairs) and forward
    (logits of one padded batch), and has pair_format and pad_id."""

    pair_format: PairFormat
    pad_id: int

    def score(self, pairs, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Relevance scores (float32 logits, higher = more relevant), in row order.

        pairs: a DataFrame or a sequence of mappings with query, title and optionally locale, brand,
        category, price, attributes, description (core/text/query_features.py format_pairs); pass all
        of a query's candidates in one call.
        """
        queries, texts = format_pairs(pairs, self.pair_format)  # before batching: both compare candidates
        return self.score_pairs(queries, texts, batch_size)

    def score_pairs(self, queries: Sequence[str], texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE,
                    max_tokens: int = DEFAULT_MAX_TOKENS) -> np.ndarray:
        """Scores of pairs already in the model's pair format (core/text/query_features.format_pairs),
        in input order: float32 array of shape (len(texts),). Pairs of several queries may share a call."""
        out = np.zeros(len(texts), dtype=np.float32)
        if not len(texts):
            return out
        encoded = self.encode_pairs(queries, texts)
        lengths = [len(ids) for ids, _ in encoded]
        progress = ProgressLog(log, self.progress_name, len(encoded), "pairs")
        for idx in length_buckets(lengths, batch_size, max_tokens):
            out[idx] = self.forward(*pad_batch([encoded[i] for i in idx], self.pad_id))
            progress.advance(len(idx))
        return out

    def token_lengths(self, queries: Sequence[str], texts: Sequence[str]) -> list[int]:
        """Tokens of each formatted pair as the model reads it (after truncation)."""
        return [len(ids) for ids, _ in self.encode_pairs(queries, texts)]


class Reranker(_BucketedScorer):
    """A cross-encoder (AutoModelForSequenceClassification, one logit) scored with torch."""

    progress_name = "reranker"

    def __init__(self, model, tokenizer, max_length: int, device: str, pair_format: PairFormat = PairFormat(),
                 precision: str = "auto"):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.pair_format = pair_format
        self.pad_id = tokenizer.pad_token_id or 0
        self.input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids")
                            if n in tokenizer.model_input_names]
        # "auto" scores in bf16 where training ran bf16 too (core/common/precision.py), so a model is
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

    def encode_pairs(self, queries: Sequence[str], texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        encoded = tokenize_pairs(self.tokenizer, list(queries), list(texts), self.max_length)
        types = encoded.get("token_type_ids") or [[0] * len(ids) for ids in encoded["input_ids"]]
        return list(zip(encoded["input_ids"], types))

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        """Logits (float32, shape (rows,)) of one padded batch."""
        import torch

        arrays = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        batch = {name: torch.from_numpy(arrays[name]).to(self.device, non_blocking=True) for name in self.input_names}
        with torch.inference_mode(), forward_context(self.device, self.use_bf16):
            return self.model(**batch).logits[:, 0].float().cpu().numpy()


class OnnxReranker(_BucketedScorer):
    """The same scores from model.onnx or model.int8.onnx with onnxruntime and tokenizers (no torch)."""

    progress_name = "reranker (onnx)"

    def __init__(self, session, tokenizer, max_length: int, pair_format: PairFormat = PairFormat(), pad_id: int = 0):
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.pair_format = pair_format
        self.pad_id = pad_id
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
        tokenizer.no_padding()  # batches are padded to their own longest (core/ranking/buckets.py)
        pad_token = stored_pad_token(hf_dir)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        return cls(session, tokenizer, max_length, PairFormat.stored(hf_dir), tokenizer.token_to_id(pad_token) or 0)

    def encode_pairs(self, queries: Sequence[str], texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        encodings = self.tokenizer.encode_batch([(str(q), str(t)) for q, t in zip(queries, texts)])
        return [(e.ids, e.type_ids) for e in encodings]

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray) -> np.ndarray:
        """Logits (float32, shape (rows,)) of one padded batch."""
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        logits = self.session.run(["logits"], {k: v for k, v in feeds.items() if k in self.input_names})[0]
        return logits[:, 0].astype(np.float32, copy=False)


def candidate_pairs(ranker, query: str, candidates: Sequence[Mapping], locale: str | None = None,
                    history: str | None = None) -> tuple[list[str], list[str]]:
    """One query's candidates as the (query, text) pairs the model reads, in the ranker's pair
    format (core/text/query_features.py format_pairs, from the structured fields). All candidates
    come together: a "cheap" verdict compares them and a spelling note is drawn from their words.
    locale: the query's locale (None: the model's default locale), which picks its price words.
    history: the shopper's recent items summarised (core/text/shopper_history.py), read only by a
    model trained with it; None or "" leaves the pairs as they are without it."""
    return format_pairs([{**candidate, "query": query, "locale": locale, "history": history}
                         for candidate in candidates], ranker.pair_format)


def blend_scores(blend, query: str, candidates: Sequence[Mapping], scores: np.ndarray) -> np.ndarray:
    """The served scores of one query's candidates: the model's `scores` as they are when blend is
    None, else the hybrid score (core/ranking/hybrid.py Blend.apply: the query and its candidates
    are one normalisation group) over the candidates' product texts, written as the pairs table
    writes them (core/text/product_text.py). float32, input order."""
    if blend is None:
        return scores
    from shoprank.core.text.product_text import product_text

    return blend.apply(scores, query, [product_text(candidate) for candidate in candidates])


def score_candidates(ranker, query: str, candidates: Sequence[Mapping], locale: str | None = None,
                     history: str | None = None, blend=None) -> np.ndarray:
    """Scores (float32, higher = more relevant, input order) of one query's candidate products.

    candidates: product records with the products contract's fields (title required; brand,
    category, price, attributes, description optional), as a served request carries them.
    locale: the query's locale (None: the model's default locale). history: the shopper's recent
    items summarised (candidate_pairs), None without shopper context. The one way from raw
    candidates to scores, shared by serving and evaluation, so both write the pairs the way
    training did. ranker: a Reranker or OnnxReranker. blend: the folder's shipped blend
    (core/ranking/hybrid.py shipped_blend), applied after the model (blend_scores); None = the model alone.
    """
    return score_queries(ranker, [(query, candidates, locale, history)], blend=blend)[0]


def score_queries(ranker, requests: Sequence[tuple[str, Sequence[Mapping]]], cache=None,
                  batch_size: int = DEFAULT_BATCH_SIZE, max_tokens: int = DEFAULT_MAX_TOKENS,
                  blend=None) -> list[np.ndarray]:
    """score_candidates for several queries at once: one float32 array per (query, candidates[, locale[, history]]),
    in input order. The pairs of all queries are batched together by token length, so a server
    scores requests that arrive together in one pass.

    cache: a core/ranking/score_cache.ScoreCache; pairs it holds are not scored again, and the
    new scores are stored in it (the model's scores: a blend is applied after the cache).
    blend: as in score_candidates, applied to each query's candidates on its own.
    """
    pairs = [candidate_pairs(ranker, query, candidates, *locale) for query, candidates, *locale in requests]
    scores = score_prepared(ranker, pairs, cache, batch_size, max_tokens)
    return [blend_scores(blend, query, candidates, s) for (query, candidates, *_), s in zip(requests, scores)]


def score_prepared(ranker, pairs: Sequence[tuple[Sequence[str], Sequence[str]]], cache=None,
                   batch_size: int = DEFAULT_BATCH_SIZE, max_tokens: int = DEFAULT_MAX_TOKENS) -> list[np.ndarray]:
    """score_queries after its first step: pairs holds candidate_pairs() of each query."""
    queries = [q for qs, _ in pairs for q in qs]
    texts = [t for _, ts in pairs for t in ts]
    if cache is None:
        flat = ranker.score_pairs(queries, texts, batch_size, max_tokens)
    else:
        flat, missing = cache.lookup(queries, texts)
        if len(missing):
            flat[missing] = ranker.score_pairs([queries[i] for i in missing], [texts[i] for i in missing],
                                               batch_size, max_tokens)
            cache.store([queries[i] for i in missing], [texts[i] for i in missing], flat[missing])
    bounds = np.cumsum([0] + [len(ts) for _, ts in pairs])
    return [flat[start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]
