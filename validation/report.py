"""The validation report (HTML): verdict first, then every broken rule with example rows, then all rules."""

from __future__ import annotations

import json

from shoprank.core.common import html_page

from .runner import ValidationOutcome


def render_report(outcome: ValidationOutcome | None, error: str | None = None, row_counts: dict | None = None) -> str:
    """HTML for a validation run; `error` covers failures before rules could run (e.g. a missing column)."""
    parts = []
    if error is not None:
        parts.append(html_page.verdict("FAILED before the rules could run: the data stops here.", False))
        parts.append(f"<pre>{html_page.escape(error)}</pre>")
        return html_page.page("Data validation", "".join(parts))
    assert outcome is not None
    if outcome.success:
        parts.append(html_page.verdict(f"PASSED: all {len(outcome.results)} rules hold; the data goes on to training.", True))
    else:
        parts.append(html_page.verdict(
            f"FAILED: {len(outcome.failures)} of {len(outcome.results)} rules broken; the data stops here.", False))
    if row_counts:
        parts.append("<h2>Tables</h2>" + html_page.table(["table", "rows"], sorted(row_counts.items())))
    if outcome.failures:
        parts.append("<h2>Broken rules</h2>")
        for r in outcome.failures:
            parts.append(f"<p><b>{html_page.escape(r.table)}.{html_page.escape(r.column or '*')}</b> — "
                         f"{html_page.escape(r.describe().split(': ', 1)[0])}</p>")
            if r.error:
                parts.append(f"<p class='muted'>{html_page.escape(r.error)}</p>")
            elif r.examples:
                cols = list(r.examples[0].keys())
                parts.append(f"<p class='muted'>{r.failed_rows} of {r.total_rows} rows; first {len(r.examples)}:</p>")
                parts.append(html_page.table(cols, [[_cell(e.get(c)) for c in cols] for e in r.examples]))
            else:
                parts.append(f"<p class='muted'>observed: {html_page.escape(r.observed)}</p>")
    parts.append("<h2>All rules (Great Expectations)</h2>")
    parts.append(html_page.table(
        ["table", "column", "rule", "arguments", "result", "failed rows"],
        [[r.table, r.column or "*", r.rule, json.dumps(r.kwargs), "pass" if r.success else "FAIL", r.failed_rows]
         for r in outcome.results],
    ))
    return html_page.page("Data validation", "".join(parts))


def _cell(value) -> str:
    return json.dumps(value) if isinstance(value, (dict, list)) else ("" if value is None else str(value))
