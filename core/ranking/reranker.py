"""A fine-tuned cross-encoder reranker loaded for inference, with torch or with onnxruntime alone.

A model artifact directory (core/ranking/artifact.py) holds hf/, model.onnx, model.int8.onnx and
manifest.json. `Reranker.load` also takes a bare HF directory. Both classes score structured pairs
(the pairs contract's query, locale and product fields) in the pair format the model was trained
with (stored in hf/config.json; core/text/query_features.py writes the pairs: price verdicts in
the product text, spelling notes in the query), with the same tokenisation (pair encoding,
longest-first truncation to the length the model was trained with, which training stores as the
tokenizer's model_max_length).
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
from shoprank.core.text.pair_format import PairFormat, tokenize_pairs
from shoprank.core.text.query_features import format_pairs

log = logging.getLogger(__name__)


def length_order(queries: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """Indices sorted by character length, so inference batches carry little padding."""
    return np.argsort([len(q) + len(t) for q, t in zip(queries, texts)], kind="stable")


class _PairScorer:
    """Scores structured pairs: writes them in the model's pair format, then scores the texts."""

    pair_format: PairFormat

    def score(self, pairs, batch_size: int = 64) -> np.ndarray:
        """Relevance scores (float32 logits, higher = more relevant), in row order.

        pairs: a DataFrame or a sequence of mappings with query, title and optionally locale, brand,
        category, price, attributes, description (core/text/query_features.py format_pairs); pass all
        of a query's candidates in one call.
        """
        queries, texts = format_pairs(pairs, self.pair_format)  # before batching: both compare candidates
        return self.score_formatted(queries, texts, batch_size)

    def score_formatted(self, queries: Sequence[str], texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        raise NotImplementedError


class Reranker(_PairScorer):
    """A cross-encoder (AutoModelForSequenceClassification, one logit) scored with torch."""

    def __init__(self, model, tokenizer, max_length: int, device: str, pair_format: PairFormat = PairFormat(),
                 precision: str = "auto"):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.pair_format = pair_format
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

    def score_formatted(self, queries: Sequence[str], texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Scores of (query, text) pairs already in the model's pair format, in input order."""
        import torch

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


class OnnxReranker(_PairScorer):
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
        pad_token = stored_pad_token(hf_dir)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad_token) or 0, pad_token=pad_token)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        return cls(session, tokenizer, max_length, PairFormat.stored(hf_dir))

    def score_formatted(self, queries: Sequence[str], texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Scores of (query, text) pairs already in the model's pair format, in input order."""
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


def score_candidates(ranker, query: str, candidates: Sequence[Mapping], locale: str | None = None) -> np.ndarray:
    """Scores (float32, higher = more relevant, input order) of one query's candidate products.

    candidates: product records with the products contract's fields (title required; brand,
    category, price, attributes, description optional), as a served request carries them.
    locale: the query's locale (None: the model's default locale), which picks the words of its
    price features. The structured path of evaluation too (Reranker.score on pairs rows), so
    serving writes the pairs the way training did. ranker: a Reranker or OnnxReranker.
    """
    return ranker.score([{**candidate, "query": query, "locale": locale} for candidate in candidates])
