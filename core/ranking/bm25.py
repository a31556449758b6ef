"""BM25 baseline (bm25s), scoring judged (query, product) pairs.

The index holds every distinct product text in the pairs table, so IDF reflects the whole
judged catalogue rather than one query's candidates.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class BM25Config:
    """k1 and b are the usual BM25 parameters; stopwords as bm25s understands them."""

    k1: float = 1.5
    b: float = 0.75
    stopwords: str = "en"


def bm25_scores(pairs, config: BM25Config = BM25Config()) -> np.ndarray:
    """BM25 score of each row's product_text for its query, in row order (float32)."""
    import logging

    import bm25s

    # bm25s sets its own logger to DEBUG on import; its per-index notes would flood run logs.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    texts = pairs["product_text"].astype(str)
    corpus = list(dict.fromkeys(texts))
    doc_index = {text: i for i, text in enumerate(corpus)}
    retriever = bm25s.BM25(k1=config.k1, b=config.b)
    retriever.index(bm25s.tokenize(corpus, stopwords=config.stopwords, show_progress=False), show_progress=False)
    vocab = retriever.vocab_dict
    scores = np.zeros(len(pairs), dtype=np.float32)
    row_docs = texts.map(doc_index).to_numpy()
    for query, rows in pairs.groupby("query", sort=False).indices.items():
        tokens = bm25s.tokenize([query], stopwords=config.stopwords, return_ids=False, show_progress=False)[0]
        tokens = [t for t in tokens if t in vocab]
        if tokens:
            scores[rows] = retriever.get_scores(tokens)[row_docs[rows]]
    return scores
