"""Length buckets: batches of token sequences sorted by length, so padding fills few slots.

A cross-encoder pads every sequence of a batch to the batch's longest; with mixed lengths
(product titles of 10 to 60 tokens) padding one request's candidates to its longest wastes
about 45% of the token slots. Sorting by token length and cutting the sorted list into
batches bounded by a count and by a token budget (rows x longest) leaves little padding and
keeps each batch's activations a bounded size (the idea of length-bucketed batching, as in
Vaswani et al. 2017, section 5.1, "batched together by approximate sequence length").
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DEFAULT_BATCH_SIZE = 64
DEFAULT_MAX_TOKENS = 4096  # padded token slots per batch: 64 pairs of 64 tokens


def length_buckets(lengths: Sequence[int], batch_size: int = DEFAULT_BATCH_SIZE,
                   max_tokens: int = DEFAULT_MAX_TOKENS) -> list[np.ndarray]:
    """Index batches covering range(len(lengths)) once each, shortest sequences first.

    Each batch has at most batch_size rows and rows x (its longest length) <= max_tokens
    (a single sequence longer than max_tokens gets a batch of its own). Ties keep input order.
    """
    if batch_size < 1 or max_tokens < 1:
        raise ValueError(f"batch_size and max_tokens must be >= 1, got {batch_size} and {max_tokens}")
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    for stop in range(1, len(order) + 1):
        rows = stop - start
        longest = lengths[order[stop - 1]]
        if rows > batch_size or (rows > 1 and rows * longest > max_tokens):
            batches.append(order[start:stop - 1])
            start = stop - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


def pad_batch(sequences: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int) -> tuple[np.ndarray, ...]:
    """(input_ids, attention_mask, token_type_ids) int64 arrays of shape (rows, longest) from
    (ids, type_ids) pairs, right-padded with pad_id (mask 0, type 0)."""
    longest = max(len(ids) for ids, _ in sequences)
    ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.int64)
    types = np.zeros((len(sequences), longest), dtype=np.int64)
    for row, (seq, seq_types) in enumerate(sequences):
        ids[row, :len(seq)] = seq
        mask[row, :len(seq)] = 1
        types[row, :len(seq_types)] = seq_types
    return ids, mask, types


def padding_share(lengths: Sequence[int], batches: Sequence[np.ndarray]) -> float:
    """Share of the padded token slots of `batches` that hold padding (0 = none)."""
    lengths = np.asarray(lengths)
    slots = sum(len(b) * int(lengths[b].max()) for b in batches if len(b))
    return 0.0 if slots == 0 else 1.0 - float(lengths.sum()) / slots
