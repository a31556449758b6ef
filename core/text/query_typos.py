"""Misspelt copies of training queries, so the reranker learns to read what shoppers type.

Shoppers misspell a good share of search queries ("backack", "wtach"). A cross-encoder trained
only on clean queries sees a misspelt word as unfamiliar word pieces and ranks worse than a
bi-encoder would. Training on a seeded share of queries with one Damerau edit (drop, swap,
double, or a keyboard-neighbour substitution) in one word teaches it to match them anyway.
"""

from __future__ import annotations

import numpy as np

# Neighbours on a QWERTY keyboard: the substitutions people actually make.
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    ch: "".join(row[j] for j in (i - 1, i + 1) if 0 <= j < len(row))
    for row in _KEYBOARD_ROWS for i, ch in enumerate(row)
}
# Words shorter than this are left alone: one edit would leave too little of them.
MIN_WORD_LENGTH = 4


def misspell(text: str, rng: np.random.Generator) -> str:
    """`text` with one edit inside one alphabetic word of >= MIN_WORD_LENGTH letters (unchanged if none).

    The first letter stays, as it does in most real misspellings.
    """
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= MIN_WORD_LENGTH and w.isalpha()]
    if not candidates:
        return text
    w = int(rng.choice(candidates))
    word = words[w]
    i = int(rng.integers(1, len(word) - 1))
    edit = int(rng.integers(4))
    if edit == 0 and word[i] != word[i + 1]:
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif edit in (0, 1):  # swapping two equal letters would change nothing: drop one instead
        word = word[:i] + word[i + 1 :]
    elif edit == 2:
        word = word[:i] + word[i] + word[i:]
    else:
        neighbours = _NEIGHBOURS.get(word[i].lower(), "")
        if neighbours:
            word = word[:i] + neighbours[int(rng.integers(len(neighbours)))] + word[i + 1 :]
        else:
            word = word[:i] + word[i + 1 :]
    words[w] = word
    return " ".join(words)


def with_misspelt_queries(frame, rate: float, seed: int, epoch: int):
    """A copy of a pairs frame in which a seeded `rate` share of queries (all of a query's rows
    alike) is misspelt; a pure function of (frame, rate, seed, epoch). rate 0 returns the frame."""
    if rate <= 0:
        return frame
    rng = np.random.default_rng([seed, epoch, 0x7970])
    first_text = frame.drop_duplicates("query_id").set_index("query_id")["query"]
    first_text.index = first_text.index.astype(str)
    query_ids = sorted(first_text.index)
    chosen = [q for q, draw in zip(query_ids, rng.random(len(query_ids))) if draw < rate]
    typo_of = {q: misspell(str(first_text[q]), rng) for q in chosen}
    out = frame.copy()
    rows = out["query_id"].astype(str).isin(typo_of)
    out.loc[rows, "query"] = out.loc[rows, "query_id"].astype(str).map(typo_of)
    return out
