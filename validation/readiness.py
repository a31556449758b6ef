"""Is there enough data for the chosen run? Checked at validate, so a data set too small for the
methods stops there (saying what is missing and how much more is needed), not after training.

The check splits the judged queries exactly as the prepare stage will (core/data/split.py, with
the same SplitConfig), resolves repeated judgments by the same rule (core/data/judgments.py),
and asks of each split what the later stages need:
- train: at least one query and two different labels (training, and every valuation method);
  confident_learning also needs 2 training rows of every label it sees (out-of-fold probabilities);
- validation: at least one pair for knn_shapley (it values train rows against validation rows);
- test: at least one query that can be ranked (2+ candidates, not all labelled the same), or the
  evaluation has nothing to measure.
Splits with fewer than FEW_QUERIES rankable queries are warned about (a mean over them is noisy).
"""

from __future__ import annotations

import dataclasses
import math

from shoprank.core.data.judgments import resolve_labels
from shoprank.core.data.split import SPLITS, SplitConfig, split_queries
from shoprank.core.evaluation.metrics import FEW_QUERIES, left_out_reason


@dataclasses.dataclass(frozen=True)
class DataRequirements:
    """What the run will do with the data: its split and its valuation method ("" = not checked)."""

    split: SplitConfig = SplitConfig()
    value_method: str = ""


@dataclasses.dataclass(frozen=True)
class Readiness:
    """Problems stop the run at validate; warnings are reported and the run goes on."""

    problems: list[str]
    warnings: list[str]
    counts: dict  # per split: queries, rankable_queries, pairs


def _fraction(config: SplitConfig, split: str) -> float:
    return {"test": config.test_fraction, "validation": config.validation_fraction}.get(
        split, 1.0 - config.test_fraction - config.validation_fraction)


def _more_queries(have_total: int, need: int, fraction: float) -> str:
    """How many more rankable queries the data set needs for `need` of them in a split of `fraction`."""
    if fraction <= 0:
        return "its fraction is 0: raise it"
    wanted = math.ceil(need / fraction)
    if wanted > have_total:
        more = wanted - have_total
        return (f"add about {more} more judged quer{'y' if more == 1 else 'ies'} with 2+ differently labelled "
                f"candidates ({wanted} in all give {need} there on average)")
    return "the split's hash put none there; add a few judged queries or change the split seed"


def check_readiness(tables: dict, requirements: DataRequirements = DataRequirements()) -> Readiness:
    """Check typed tables (judgments, queries) against what the run needs; see the module doc."""
    judgments, _ = resolve_labels(tables["judgments"])
    texts = dict(zip(tables["queries"]["query_id"].astype(str), tables["queries"]["query"]))
    judgments = judgments[judgments["query_id"].astype(str).isin(texts)]
    query_ids = sorted(judgments["query_id"].astype(str).unique())
    splits = split_queries(query_ids, requirements.split, texts=[texts[q] for q in query_ids])
    judgments = judgments.assign(split=judgments["query_id"].astype(str).map(splits))
    rankable = {qid for qid, group in judgments.groupby("query_id")
                if left_out_reason(group["label"].to_numpy(), relevant=0) == ""}
    total_rankable = len(rankable)
    problems, warnings, counts = [], [], {}
    for split in SPLITS:
        part = judgments[judgments["split"] == split]
        queries = set(part["query_id"].astype(str))
        counts[split] = {"queries": len(queries), "rankable_queries": len(queries & rankable), "pairs": len(part)}
    fractions = {split: _fraction(requirements.split, split) for split in SPLITS}

    train = judgments[judgments["split"] == "train"]
    if counts["train"]["queries"] == 0 or train["label"].nunique() < 2:
        problems.append(
            f"train split: {counts['train']['queries']} queries, labels {sorted(train['label'].unique().tolist())}; "
            "training and valuation need at least 1 query and 2 different labels there: "
            + _more_queries(total_rankable, 1, fractions["train"]))
    if counts["test"]["rankable_queries"] == 0:
        problems.append(
            f"test split: 0 queries that can be ranked (2+ candidates, not all labelled the same) of "
            f"{counts['test']['queries']} there; the evaluation needs at least 1: "
            + _more_queries(total_rankable, 1, fractions["test"]))
    method = requirements.value_method
    if method == "knn_shapley" and counts["validation"]["pairs"] == 0:
        problems.append(
            "validation split: 0 pairs; value method knn_shapley values training pairs against validation pairs "
            "and needs at least 1: " + _more_queries(total_rankable, 1, fractions["validation"])
            + ", or use --value-method data_oob")
    if method == "confident_learning" and len(train):
        per_label = train["label"].value_counts().sort_index()
        short = {int(label): int(n) for label, n in per_label.items() if n < 2}
        if short:
            problems.append(
                f"train split: label(s) {sorted(short)} with {sorted(short.values())} row(s) "
                f"(train rows per label: {dict((int(k), int(v)) for k, v in per_label.items())}); value method "
                "confident_learning needs at least 2 training rows of every label it sees (out-of-fold probabilities): "
                + "; ".join(f"add {2 - n} more train-split row(s) labelled {label}" for label, n in short.items())
                + ", or use --value-method knn_shapley or data_oob")
    for split in ("validation", "test"):
        n = counts[split]["rankable_queries"]
        if 0 < n < FEW_QUERIES:
            warnings.append(f"{split} split: only {n} queries that can be ranked; a mean over fewer than {FEW_QUERIES} "
                            "moves by several points when one query changes")
    if counts["validation"]["rankable_queries"] == 0 and counts["train"]["queries"]:
        warnings.append("validation split: no query that can be ranked; training cannot stop early or keep its best "
                        "step, and runs its whole budget")
    return Readiness(problems=problems, warnings=warnings, counts=counts)
