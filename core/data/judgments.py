"""One label per judged (query, product) pair, by a stated rule, and a count of the pairs that conflicted.

A pair can be judged several times: by several human raters, or by a rater and by clicks. The rule:
1. human judgments win over click-derived ones (a pair with any human label uses only those);
2. among the labels of that source, the pair takes their *lower median*: the middle label of
   the sorted labels, and for an even count the lower of the two middle ones (so 0, 3 -> 0 and
   2, 3 -> 2; always a grade someone gave, and ties go to the more cautious grade). The median
   is the usual aggregate of ordinal relevance grades (it is not moved by one outlying rater);
   the highest label, used before, let any one generous judgment win.
A pair *conflicts* when the labels of its chosen source disagree; their count is reported
(prepare stage metric `conflicting_pairs`) so a shop can see how noisy its judgments are.
"""

from __future__ import annotations

import numpy as np

PAIR_KEY = ["query_id", "product_id"]


def lower_median(labels) -> int:
    """The lower median of a sequence of integer labels (the middle one; of two, the lower)."""
    ordered = np.sort(np.asarray(labels, dtype=np.int64))
    return int(ordered[(len(ordered) - 1) // 2])


def resolve_labels(judgments):
    """(one row per pair, with the rule's label, sorted by pair; number of pairs whose labels conflicted).

    judgments: columns query_id, product_id, label (int), source ("human" or "clicks").
    """
    frame = judgments.copy()
    frame["_human"] = frame["source"] == "human"
    has_human = frame.groupby(PAIR_KEY, sort=False)["_human"].transform("any")
    chosen = frame[frame["_human"] | ~has_human].sort_values(PAIR_KEY + ["label"], kind="stable")
    groups = chosen.groupby(PAIR_KEY, sort=False)
    # The lower median of each pair's sorted labels is its row number (n - 1) // 2 (vectorised).
    is_median = groups.cumcount().to_numpy() == (groups["label"].transform("size").to_numpy() - 1) // 2
    distinct = groups["label"].transform("nunique").to_numpy()
    resolved = chosen[is_median].assign(_distinct=distinct[is_median]).drop(columns="_human")
    conflicts = int((resolved["_distinct"] > 1).sum())
    return resolved.drop(columns="_distinct").reset_index(drop=True), conflicts
