"""The validation report (HTML): verdict first, then every broken rule with example rows, then all rules."""

from __future__ import annotations

import json

from shoprank.core.common import html_page

from .runner import ValidationOutcome


def render_report(outcome: ValidationOutcome | None, error: str | None = None, row_counts: dict | None = None,
                  readiness=None) -> str:
    """HTML for a validation run; `error` covers failures before rules could run (e.g. a missing column);
    `readiness` (validation/readiness.py) is whether the data is enough for the run's methods."""
    parts = []
    if error is not None:
        parts.append(html_page.verdict("FAILED before the rules could run: the data stops here.", False))
        parts.append(f"<pre>{html_page.escape(error)}</pre>")
        return html_page.page("Data validation", "".join(parts))
    assert outcome is not None
    if outcome.success and readiness is not None and readiness.problems:
        parts.append(html_page.verdict(
            f"FAILED: every rule holds, but the data set is too small for this run ({len(readiness.problems)} "
            "problem(s) below); the data stops here.", False))
    elif outcome.success:
        held = len(outcome.results) - len(outcome.warnings)
        parts.append(html_page.verdict(
            f"PASSED: {held} of {len(outcome.results)} rules hold"
            + (f", {len(outcome.warnings)} warning(s) below" if outcome.warnings else "")
            + "; the data goes on to training.", True))
    else:
        parts.append(html_page.verdict(
            f"FAILED: {len(outcome.failures)} of {len(outcome.results)} rules broken; the data stops here.", False))
    if row_counts:
        parts.append("<h2>Tables</h2>" + html_page.table(["table", "rows"], sorted(row_counts.items())))
    if readiness is not None and (readiness.problems or readiness.warnings):
        parts.append("<h2>Enough data for this run?</h2>")
        parts += [f"<p><b>FAIL</b> {html_page.escape(p)}</p>" for p in readiness.problems]
        parts += [f"<p><b>warning</b> {html_page.escape(w)}</p>" for w in readiness.warnings]
    if readiness is not None:
        parts.append(html_page.table(["split", "queries", "queries that can be ranked", "pairs"],
                                     [[split, c["queries"], c["rankable_queries"], c["pairs"]]
                                      for split, c in readiness.counts.items()]))
    for heading, broken in (("Broken rules", outcome.failures), ("Warnings (the data goes on)", outcome.warnings)):
        if not broken:
            continue
        parts.append(f"<h2>{heading}</h2>")
        for r in broken:
            parts.append(f"<p><b>{html_page.escape(r.table)}.{html_page.escape(r.column or '*')}</b> — "
                         f"{html_page.escape(r.describe().split(': ', 1)[0])}</p>")
            if r.error:
                parts.append(f"<p class='muted'>{html_page.escape(r.error)}</p>")
            elif r.blocked_by:
                parts.append(f"<p class='muted'>not checked: the column holds values of another type "
                             f"(see rule {html_page.escape(r.blocked_by)})</p>")
            elif r.examples:
                cols = list(r.examples[0].keys())
                parts.append(f"<p class='muted'>{r.failed_rows} of {r.total_rows} rows; first {len(r.examples)}:</p>")
                parts.append(html_page.table(cols, [[_cell(e.get(c)) for c in cols] for e in r.examples]))
            else:
                parts.append(f"<p class='muted'>observed: {html_page.escape(r.observed)}</p>")
    parts.append("<h2>All rules (Great Expectations)</h2>")
    parts.append(html_page.table(
        ["table", "column", "rule", "arguments", "result", "failed rows"],
        [[r.table, r.column or "*", r.rule, json.dumps(r.kwargs),
          "pass" if r.success else ("warning" if r in outcome.warnings else "FAIL"), r.failed_rows]
         for r in outcome.results],
    ))
    return html_page.page("Data validation", "".join(parts))


def _cell(value) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else ("" if value is None else str(value))
