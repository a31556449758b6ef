"""The drift check end to end: two windows in, the verdict (a JSON-ready dict) and the on-call HTML out.

    result, html = run_drift_check(Window("reference", interactions=ref), Window("current", interactions=cur))

Steps: unit tables (tables.py), which signals can be tested and at what level (Bonferroni over
the signals tested; config.py), Evidently reports (evidently_reports.py), the query-embedding
test (embeddings.py), the verdict (verdict.py) and the page (page.py).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from shoprank.core.drift import signals as sig
from shoprank.core.drift.config import DriftConfig, SignalSpec
from shoprank.core.drift.tables import unit_tables
from shoprank.core.drift.verdict import DRIFT, NO_DRIFT, NOT_ENOUGH, SignalResult, decide, next_steps
from shoprank.core.drift.windows import Window

log = logging.getLogger(__name__)
_TITLES = {sig.QUERY_UNITS: "Queries, products shown and clicked, online quality (one row per distinct query)",
           sig.REQUEST_UNITS: "Request log (one row per request)"}


def run_drift_check(reference: Window, current: Window, config: DriftConfig = DriftConfig(),
                    rerun_command: str = "", page: bool = True) -> tuple[dict, str]:
    """Compare `current` with `reference`; returns (the verdict with every fact behind it, the HTML page).

    page: False skips Evidently's Reports and the page ("" is returned): the verdict is the same.
    Raises SchemaError when the windows share no data to compare (interactions in one, only a
    request log in the other). A window too small to test gives the verdict "not enough data".
    """
    from shoprank.core.drift import evidently_reports, page as on_call

    started = time.perf_counter()
    log.info("drift check: %s vs %s; config %s", reference.source or reference.name, current.source or current.name,
             config.to_dict())
    tables = unit_tables(reference, current, config)
    results, pending = _plan(tables, config)
    m = sum(sig.SIGNALS[name].is_p_value(spec.method) for name, spec in pending.items())
    alpha = config.family_alpha / max(m, 1)
    sections = []
    for table, title in _TITLES.items():
        tests = [evidently_reports.ColumnTest(name, sig.SIGNALS[name].kind, spec.method, _threshold(name, spec, alpha))
                 for name, spec in pending.items() if sig.SIGNALS[name].table == table]
        if not tests:
            continue
        reference_frame, current_frame = tables.frames[table]
        for test in tests:
            score, drifted, threshold = evidently_reports.column_drift(reference_frame[test.column],
                                                                       current_frame[test.column], test)
            results[test.column] = _tested(test.column, test.method, score, drifted, threshold, tables.frames[table])
        if page:  # Evidently's detail shows the drifted signals first, strongest first
            tests.sort(key=lambda t: (results[t.column].status != DRIFT, -results[t.column].strength))
            sections.append((title, evidently_reports.value_drift(reference_frame, current_frame, tests)[1]))
    figure = ""
    if "queries.embedding" in pending:
        figure = _embedding(results, pending["queries.embedding"], tables.frames[sig.EMBEDDING_UNITS], alpha, config, page)
    online = tables.online or {}
    if tables.impressions is not None and page:
        online["pooled"], widgets = evidently_reports.ranking_quality(*tables.impressions, k=config.ctr_k)
        sections.append((f"Online ranking quality of the sampled searches: MRR@10 and HitRate@{config.ctr_k} (= CTR@{config.ctr_k})",
                         widgets))
    ordered = [results[name] for name in sig.SIGNALS if name in results]
    decision = decide(ordered)
    result = {
        **decision,
        "family_alpha": config.family_alpha,
        "per_signal_alpha": alpha,
        "top_signals": [results[name].to_dict() for name in decision["drifted_signals"][:5]],
        "signals": [r.to_dict() for r in ordered],
        "windows": tables.facts,
        "sample": tables.sample,
        "online": online,
        "next_steps": next_steps(decision, ordered, current.source, config.min_units, tables.facts),
        "rerun_command": rerun_command,
        "config": config.to_dict(),
    }
    result["seconds"] = round(time.perf_counter() - started, 2)
    html = on_call.on_call_page(result, evidently_reports.render_html(sections), figure) if page else ""
    log.info("drift check: %s (severity %s), %d of %d signals drifted, %.1fs", result["verdict"], result["severity"],
             result["signals_drifted"], result["signals_tested"], time.perf_counter() - started)
    return result, html


def _threshold(name: str, spec: SignalSpec, alpha: float) -> float | None:
    if spec.threshold is not None:
        return spec.threshold
    return alpha if sig.SIGNALS[name].is_p_value(spec.method) else None


def _plan(tables, config: DriftConfig) -> tuple[dict, dict]:
    """({signal: result} for signals that cannot be tested, {signal: spec} for those that can)."""
    results, pending = {}, {}
    for name, signal in sig.SIGNALS.items():
        spec = config.spec(name)
        if not spec.enabled:
            continue
        base = dict(name=name, group=signal.group, description=signal.description, method=spec.method,
                    p_value_method=signal.is_p_value(spec.method))
        blocker = tables.missing.get(signal.table) or _source_missing(name, tables.missing)
        if blocker is not None:
            results[name] = SignalResult(status=blocker[0], note=blocker[1], **base)
            continue
        ref, cur = tables.frames[signal.table]
        n_ref, n_cur = (len(ref), len(cur)) if signal.kind == "emb" else (int(ref[name].notna().sum()), int(cur[name].notna().sum()))
        if min(n_ref, n_cur) < config.min_units:
            results[name] = SignalResult(status=NOT_ENOUGH, n_reference=n_ref, n_current=n_cur, note=(
                f"{n_ref} reference and {n_cur} current units; at least {config.min_units} needed in each"), **base)
            continue
        pending[name] = spec
    return results, pending


def _source_missing(name: str, missing: dict):
    if name.startswith(("shown.", "clicked.")) or name == "queries.category":
        return missing.get("products")
    if name == "queries.locale":
        return missing.get("queries")
    return None


def _tested(name: str, method: str, score: float, drifted: bool, threshold, frames) -> SignalResult:
    signal = sig.SIGNALS[name]
    ref, cur = frames[0][name].dropna(), frames[1][name].dropna()
    raw = sig.RAW + name
    change, direction = describe_change(frames[0][raw].dropna() if raw in frames[0] else ref,
                                        frames[1][raw].dropna() if raw in frames[1] else cur, signal.kind)
    return SignalResult(name=name, group=signal.group, description=signal.description, status=DRIFT if drifted else NO_DRIFT,
                        method=method, threshold=threshold, score=score, p_value_method=signal.is_p_value(method),
                        n_reference=len(ref), n_current=len(cur), change=change, direction=direction)


def describe_change(ref, cur, kind: str) -> tuple[str, int]:
    """A short, readable account of how a signal moved, and its direction (+1 up, -1 down, 0 same).

    Numbers: the mean and median, reference -> current. Categories: the two values whose shares
    moved most ("yes" for yes/no signals); the direction is that of the first.
    """
    if kind == "num":
        before, after = float(ref.mean()), float(cur.mean())
        relative = f" ({(after - before) / abs(before):+.0%})" if before else ""
        text = f"mean {_fmt(before)} -> {_fmt(after)}{relative}; median {_fmt(float(ref.median()))} -> {_fmt(float(cur.median()))}"
        return text, int(np.sign(round(after - before, 12)))
    shares_ref, shares_cur = ref.value_counts(normalize=True), cur.value_counts(normalize=True)
    values = sorted(set(shares_ref.index) | set(shares_cur.index), key=str)
    if set(values) <= {"yes", "no"}:
        movers = ["yes"]
    else:
        movers = sorted(values, key=lambda v: -abs(shares_cur.get(v, 0.0) - shares_ref.get(v, 0.0)))[:2]
    parts = [f"'{v}' {shares_ref.get(v, 0.0):.1%} -> {shares_cur.get(v, 0.0):.1%}" for v in movers]
    first = movers[0]
    return "; ".join(parts), int(np.sign(round(shares_cur.get(first, 0.0) - shares_ref.get(first, 0.0), 12)))


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _embedding(results: dict, spec: SignalSpec, texts: tuple, alpha: float, config: DriftConfig, figure: bool) -> str:
    from shoprank.core.drift.embeddings import embedding_drift, projection_figure
    from shoprank.core.ranking.encoder import encode_texts

    signal = sig.SIGNALS["queries.embedding"]
    vectors = encode_texts(list(texts[0]) + list(texts[1]), cache_dir=config.embedding_cache_dir)
    ref, cur = vectors[: len(texts[0])], vectors[len(texts[0]):]
    outcome = embedding_drift(ref, cur, spec.method, alpha, spec.threshold)
    change = (f"held-out AUC {outcome['score']:.3f} (0.5 = indistinguishable), p = {outcome['p_value']:.2g}"
              if spec.method == "classifier" else f"MMD {outcome['score']:.4f}")
    results["queries.embedding"] = SignalResult(
        name=signal.name, group=signal.group, description=signal.description,
        status=DRIFT if outcome["drifted"] else NO_DRIFT, method=spec.method, threshold=outcome["threshold"],
        score=outcome["score"], p_value_method=signal.is_p_value(spec.method), n_reference=len(ref), n_current=len(cur),
        change=change, direction=0)
    return projection_figure(ref, cur) if figure else ""
