"""Training data for the reranker: pairs in, tokenised examples and seeded, length-grouped batches out.

Pairs are tokenised once (no padding), truncated at max_length (set, or fitted to the pairs);
each batch is padded to its own longest row. Batch order
is a pure function of (seed, epoch), so a resumed run replays exactly the batches an
uninterrupted run would see.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

import numpy as np

from shoprank.core.text.pair_format import PairFormat, tokenize_pairs
from shoprank.core.training.distill import TEACHER_COLUMN
from shoprank.core.text.query_features import format_pairs

log = logging.getLogger(__name__)

# Batches are drawn from pools of this many batches sorted by length: little padding, still shuffled.
POOL_BATCHES = 50
# A fitted max_length keeps whole the query and product fields of this share of training pairs,
# rounded up to a multiple of 8, within these bounds (128 keeps a CPU step affordable).
FIELDS_WHOLE_SHARE = 0.95
FITTED_MAX_LENGTH_BOUNDS = (64, 128)
FIT_SAMPLE_PAIRS = 4000  # whole queries, seeded, so the fit is quick on any catalogue


def data_fingerprint(frame) -> str:
    """sha256 over the rows that shape training: query, locale, text, label, weight, split (order-independent)."""
    cols = [c for c in ("query_id", "query", "locale", "product_id", "product_text", "label", "weight", "split")
            if c in frame]
    rows = sorted("\x1f".join(str(v) for v in row) for row in frame[cols].itertuples(index=False))
    h = hashlib.sha256("|".join(cols).encode())
    for row in rows:
        h.update(row.encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def select_by_budget(frame, max_pairs: int | None, seed: int):
    """Whole queries in a seeded order until max_pairs rows (queries stay intact for list losses)."""
    if not max_pairs or len(frame) <= max_pairs:
        return frame
    query_ids = np.array(sorted(frame["query_id"].astype(str).unique()))
    order = np.random.default_rng([seed, 7]).permutation(len(query_ids))
    sizes = frame.groupby(frame["query_id"].astype(str)).size()
    keep, total = [], 0
    for qid in query_ids[order]:
        if total and total + sizes[qid] > max_pairs:
            break
        keep.append(qid)
        total += int(sizes[qid])
    return frame[frame["query_id"].astype(str).isin(set(keep))]


@dataclasses.dataclass
class Examples:
    """Tokenised pairs. ids/type_ids: one int array per row; groups: query index per row."""

    ids: list
    type_ids: list
    labels: np.ndarray
    weights: np.ndarray
    groups: np.ndarray
    query_ids: np.ndarray
    product_ids: np.ndarray
    teacher: np.ndarray | None = None  # standardised teacher score per row (distillation), or None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.ids), dtype=np.int64, count=len(self.ids))

    def without_zero_weights(self) -> "Examples":
        """The rows of weight > 0 (a weight of 0 removes a row from training)."""
        keep = np.flatnonzero(self.weights > 0)
        if len(keep) == len(self):
            return self
        _, groups = np.unique(self.groups[keep], return_inverse=True)  # queries stay numbered 0..n-1
        return Examples(ids=[self.ids[i] for i in keep], type_ids=[self.type_ids[i] for i in keep],
                        labels=self.labels[keep], weights=self.weights[keep], groups=groups.astype(np.int64),
                        query_ids=self.query_ids[keep], product_ids=self.product_ids[keep],
                        teacher=None if self.teacher is None else self.teacher[keep])


def by_query(frame):
    """Rows in a fixed order with each query's candidates together (query_id, then product_id
    when present), as a pair format that reads all of a query's candidates needs."""
    return frame.sort_values(["query_id", "product_id"] if "product_id" in frame else ["query_id"], kind="stable")


def field_lengths(frame, tokenizer, pair_format: PairFormat = PairFormat(), seed: int = 0) -> np.ndarray:
    """Tokens of each pair up to the end of the product's fields (title, brand, category, price
    with its verdict, attributes: all but the description), for a seeded sample of whole queries;
    counted up to a little past the longest fitted max_length.

    A cross-encoder truncates from the end of the text, so a max_length shorter than this cuts
    the price, category or attributes of the pair.
    """
    sample = by_query(select_by_budget(frame, FIT_SAMPLE_PAIRS, seed))
    queries, fields = format_pairs(sample, pair_format, descriptions=False)
    encoded = tokenizer(queries, fields, truncation="longest_first", max_length=FITTED_MAX_LENGTH_BOUNDS[1] + 8)
    return np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64)


def fitted_max_length(lengths: np.ndarray, tokenizer=None) -> int:
    """The shortest multiple of 8 that keeps the fields whole in 95% of pairs, within 64..128
    (and the tokenizer's own limit)."""
    low, high = FITTED_MAX_LENGTH_BOUNDS
    high = min(high, int(getattr(tokenizer, "model_max_length", high) or high))
    needed = int(np.ceil(np.quantile(lengths, FIELDS_WHOLE_SHARE) / 8.0) * 8)
    return int(min(max(needed, low), high))


def fields_whole_share(lengths: np.ndarray, max_length: int) -> float:
    """Share of pairs whose query and product fields fit in max_length."""
    return float(np.mean(lengths <= max_length))


def tokenize_examples(frame, tokenizer, max_length: int, pair_format: PairFormat = PairFormat()) -> Examples:
    """Tokenise a pairs frame (sorted by query_id, product_id) into Examples; all of a query's
    candidates are in the frame, as pair_format needs."""
    frame = by_query(frame)
    encoded = tokenize_pairs(tokenizer, *format_pairs(frame, pair_format), max_length)
    query_ids = frame["query_id"].astype(str).to_numpy()
    _, groups = np.unique(query_ids, return_inverse=True)
    weights = frame["weight"].to_numpy(np.float64) if "weight" in frame else np.ones(len(frame))
    return Examples(
        ids=[np.asarray(x, dtype=np.int64) for x in encoded["input_ids"]],
        type_ids=[np.asarray(x, dtype=np.int64) for x in encoded["token_type_ids"]],
        labels=frame["label"].to_numpy(np.float32),
        weights=weights.astype(np.float32),
        groups=groups.astype(np.int64),
        query_ids=query_ids,
        product_ids=frame["product_id"].astype(str).to_numpy() if "product_id" in frame else np.arange(len(frame)).astype(str),
        teacher=frame[TEACHER_COLUMN].to_numpy(np.float32) if TEACHER_COLUMN in frame else None,
    )


def epoch_batches(examples: Examples, epoch: int, seed: int, batch_size: int, grouped: bool,
                  list_size: int) -> list[np.ndarray]:
    """Row-index batches for one epoch, a pure function of (seed, epoch).

    Pointwise: rows shuffled, sorted by length inside pools, cut into batches, batches shuffled.
    Grouped (list losses): each query's rows split into lists of <= list_size, lists with a
    single distinct label dropped (nothing to rank), lists packed whole into batches of about
    batch_size rows by similar length.
    """
    rng = np.random.default_rng([seed, epoch])
    lengths = examples.lengths
    units = _ranked_lists(examples, rng, list_size) if grouped else [np.array([i]) for i in rng.permutation(len(examples))]
    units_per_pool = max(1, batch_size * POOL_BATCHES // (list_size if grouped else 1))
    batches: list[np.ndarray] = []
    for start in range(0, len(units), units_per_pool):
        chunk = sorted(units[start : start + units_per_pool], key=lambda u: float(lengths[u].mean()))
        current: list[np.ndarray] = []
        size = 0
        for unit in chunk:
            if current and size + len(unit) > batch_size:
                batches.append(np.concatenate(current))
                current, size = [], 0
            current.append(unit)
            size += len(unit)
        if current:
            batches.append(np.concatenate(current))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def _ranked_lists(examples: Examples, rng, list_size: int) -> list[np.ndarray]:
    by_query: dict[int, list[int]] = {}
    for row, group in enumerate(examples.groups):
        by_query.setdefault(int(group), []).append(row)
    lists = []
    for group in rng.permutation(len(by_query)):
        rows = rng.permutation(np.asarray(by_query[int(group)]))
        n_lists = -(-len(rows) // list_size)
        for part in np.array_split(rows, n_lists):
            if len(np.unique(examples.labels[part])) > 1:
                lists.append(part)
    return lists


def collate(examples: Examples, rows: np.ndarray, pad_id: int = 0, width_multiple: int = 1) -> dict:
    """Pad one batch to its longest row, rounded up to a multiple of width_multiple (fewer
    distinct shapes, for CUDA graphs); returns torch tensors (CPU)."""
    import torch

    width = -(-max(len(examples.ids[i]) for i in rows) // width_multiple) * width_multiple
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    type_ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, i in enumerate(rows):
        n = len(examples.ids[i])
        input_ids[r, :n] = examples.ids[i]
        type_ids[r, :n] = examples.type_ids[i]
        mask[r, :n] = 1
    # Query slots renumbered 0..k-1 within the batch for the list losses.
    _, groups = np.unique(examples.groups[rows], return_inverse=True)
    batch = {
        "input_ids": torch.from_numpy(input_ids),
        "attention_mask": torch.from_numpy(mask),
        "token_type_ids": torch.from_numpy(type_ids),
        "labels": torch.from_numpy(examples.labels[rows]),
        "weights": torch.from_numpy(examples.weights[rows]),
        "groups": torch.from_numpy(groups.astype(np.int64)),
    }
    if examples.teacher is not None:
        batch["teacher"] = torch.from_numpy(examples.teacher[rows])
    return batch
