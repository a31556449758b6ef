"""Self-contained HTML pages for artifacts: one skeleton, tables and inline PNG figures."""

from __future__ import annotations

import base64
import html
import io
from typing import Iterable, Sequence

_CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#1f2328;max-width:1200px}
h1{font-size:22px;margin:0 0 8px} h2{font-size:17px;margin:24px 0 8px}
.verdict{padding:12px 16px;border-radius:6px;font-size:16px;margin:8px 0 16px}
.ok{background:#dafbe1;border:1px solid #4ac26b} .bad{background:#ffebe9;border:1px solid #ff8182}
.warn{background:#fff8c5;border:1px solid #d4a72c}
table{border-collapse:collapse;font-size:13px;margin:6px 0} th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.num{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#57606a;font-size:12px}
"""


def escape(value: object) -> str:
    return html.escape(str(value))


def page(title: str, body: str) -> str:
    """A complete HTML document with inline CSS."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>")


def verdict(text: str, ok: bool | None) -> str:
    """The one-line answer at the top of a page: green, red, or yellow when undecided."""
    css = "ok" if ok else ("warn" if ok is None else "bad")
    return f"<div class='verdict {css}'>{escape(text)}</div>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table; numbers are right-aligned and floats shown with 4 decimals."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"<td class='num'>{v:.4f}</td>"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"<td class='num'>{v}</td>"
        return f"<td>{escape(v)}</td>"

    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_png(fig) -> str:
    """A matplotlib figure as an inline <img>; closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f"<img alt='figure' src='data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}'/>"


def new_figure(width: float = 7.0, height: float = 3.5):
    """A matplotlib figure and axes on the non-interactive backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))
