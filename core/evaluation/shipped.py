"""The candidates a trained model folder offers, and which of them ships.

A folder offers the model ("model") and, when it holds a fitted blend with some weight besides
the model's (hybrid.json, core/ranking/hybrid.py), the hybrid ("hybrid"). Both are scored on the
held-out split like every other ranker; the one that ships was chosen on the validation split
when the blend was fitted (the hybrid only when it beat the model alone there by the blend's
margin), never on the split the gate judges. The hybrid reuses the model's scores of the same
frame: the model runs once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from shoprank.core.common.html_page import escape, table
from shoprank.core.ranking.hybrid import MODEL

HYBRID = "hybrid"


def candidate_scorers(model_scorer: Callable, model_dir: str | Path,
                      cache_dir: str | None = None) -> tuple[dict[str, Callable], str, dict | None]:
    """({"model": scorer[, "hybrid": scorer]}, the shipped candidate's name, the blend's record or None).

    model_scorer: pairs frame -> the model's scores. cache_dir: the zero-shot encoder's embedding
    cache (the zero-shot baseline's). Raises ConfigError for a hybrid.json that is not a blend."""
    from shoprank.core.ranking.hybrid import load_blend

    blend = load_blend(model_dir)
    memo: dict = {}

    def model(frame):
        if memo.get("frame") is not frame:
            memo.update(frame=frame, scores=model_scorer(frame))
        return memo["scores"]

    scorers = {MODEL: model}
    if blend is None:
        return scorers, MODEL, None
    if blend.is_hybrid:
        scorers[HYBRID] = lambda frame: blend.score_frame(frame, model(frame), cache_dir)
    record = {key: value for key, value in blend.to_dict().items() if key != "bm25"}
    return scorers, HYBRID if blend.ships and blend.is_hybrid else MODEL, record


def shipped_section(result: Mapping) -> str:
    """HTML: which ranker ships and why (validation NDCG@k of the hybrid and of the model alone, the weights)."""
    blend = result.get("blend")
    shipped = result.get("shipped", MODEL)
    if not blend:
        return ("<h2>Which ranker ships</h2><p>The model ships: the folder has no hybrid blend "
                "(trained with --no-blend, or before blends).</p>")
    validation = blend.get("validation", {})
    weights = ", ".join(f"{escape(name)} {weight:.2f}" for name, weight in blend.get("weights", {}).items())
    rows = [[name, _num(validation.get(key))] for name, key in (("model alone", "model"), ("best blend", "hybrid"))]
    return ("<h2>Which ranker ships</h2>"
            f"<p><b>{escape(shipped)}</b> ships: {escape(blend.get('reason', ''))}. Chosen on the "
            f"{escape(validation.get('split', 'validation'))} split ({validation.get('queries', 'n/a')} queries), "
            f"never on the held-out split the gate judges.</p>"
            + table([f"ranker ({escape(str(validation.get('metric', 'ndcg@10')).upper())}, validation)", "value"], rows)
            + f"<p class='muted'>Blend: {escape(blend.get('method', ''))}, per-query {escape(blend.get('norm', ''))} "
            f"normalisation, weights {weights} (fitted on a simplex grid; core/ranking/hybrid_fit.py).</p>")


def _num(value):
    return "n/a" if value is None else value
