"""The console's ranking-quality table: each ranker's means per held-out split, with the query counts behind them.

A mean over a handful of queries is mostly noise (a test NDCG was once computed on one query), so
every row says how many queries it averages, how many were left out and why (a single candidate,
all candidates labelled the same, no relevant candidate: core/evaluation/metrics.py), and a split
with fewer than FEW_QUERIES queries gets a warning under the table.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from shoprank.core.evaluation.metrics import FEW_QUERIES, LEFT_OUT_REASONS

_METRICS = (("ndcg@10", "NDCG@10"), ("mrr", "MRR"), ("recall@10", "Recall@10"))
_REASON_WORDS = {"single_candidate": "single-candidate", "same_label": "same-label", "no_relevant": "no-relevant"}


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _left_out(m: dict) -> str:
    parts = [f"{int(m[f'left_out_{r}'])} {_REASON_WORDS[r]}" for r in LEFT_OUT_REASONS if m.get(f"left_out_{r}")]
    return ", ".join(parts) or "-"


def print_quality_table(console: Console, rankers: dict) -> list[str]:
    """Print the table of rankers -> split -> metrics (means, `queries`, `left_out_*` counts); return the warnings."""
    table = Table(title="ranking quality (held-out queries)")
    for col in ("ranker", "split", "NDCG@10", "MRR", "Recall@10", "queries", "left out"):
        table.add_column(col)
    few: dict[str, int] = {}
    for ranker, splits in rankers.items():
        for split, m in splits.items():
            queries = m.get("queries")
            table.add_row(ranker, split, *(_fmt(m.get(key)) for key, _ in _METRICS),
                          "?" if queries is None else str(int(queries)), _left_out(m))
            if queries is not None and queries < FEW_QUERIES:
                few[split] = int(queries)
    console.print(table)
    warnings = [f"warning: the {split} split has {n} quer{'y' if n == 1 else 'ies'} that can be ranked; a mean over "
                f"fewer than {FEW_QUERIES} moves by several points when one query changes: judge more queries"
                for split, n in sorted(few.items())]
    for warning in warnings:
        console.print(f"[yellow]{warning}[/yellow]", soft_wrap=True)
    return warnings
