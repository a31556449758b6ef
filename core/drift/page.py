"""The on-call page: a one-screen summary on top of Evidently's detail, in one self-contained HTML file.

The summary answers, in this order: drifted or not and how badly; which signals moved most (score,
method, threshold, and how the distribution moved); the two windows (dates, rows, model versions)
and the sample sizes tested; what to do next; the exact command that reruns the check. Every other
signal sits in a folded table. Evidently's report follows. The page stays under MAX_HTML_BYTES
(Kubeflow's UI fails on larger artifacts; kfp issue 5513): Evidently's detail is left out, and the
summary says so, if it would not fit.
"""

from __future__ import annotations

import logging

from shoprank.core.common.html_page import escape, table

log = logging.getLogger(__name__)

MAX_HTML_BYTES = 10 * 1024 * 1024
_CSS = """
#oncall{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2328;max-width:1280px;
 margin:12px auto 4px;padding:0 16px;font-size:14px;line-height:1.4}
#oncall h1{font-size:20px;margin:0 0 6px} #oncall h2{font-size:15px;margin:12px 0 4px}
#oncall .verdict{padding:10px 14px;border-radius:6px;font-size:17px;font-weight:600;margin:6px 0 10px}
#oncall .ok{background:#dafbe1;border:1px solid #4ac26b} #oncall .bad{background:#ffebe9;border:1px solid #ff8182}
#oncall .warn{background:#fff8c5;border:1px solid #d4a72c}
#oncall .cols{display:flex;gap:24px;flex-wrap:wrap} #oncall .cols>div{flex:1 1 520px;min-width:0}
#oncall table{border-collapse:collapse;font-size:13px;margin:4px 0;width:100%}
#oncall th,#oncall td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
#oncall th{background:#f6f8fa} #oncall td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
#oncall ol{margin:4px 0 4px 20px;padding:0} #oncall li{margin:2px 0}
#oncall code{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:4px 8px;display:block;
 font-size:13px;white-space:pre-wrap;word-break:break-all}
#oncall .muted{color:#57606a;font-size:12px} #oncall details{margin:6px 0} #oncall summary{cursor:pointer;font-weight:600}
#oncall-detail{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;max-width:1280px;margin:8px auto 0;
 padding:8px 16px 0;border-top:3px solid #d0d7de;font-size:15px;font-weight:600;color:#1f2328}
"""
_HEADLINE = {"drift": "DRIFT", "no drift": "NO DRIFT", "not enough data": "NOT ENOUGH DATA"}


def summary_html(result: dict, embedding_figure: str = "") -> str:
    """The one-screen summary (a <div id="oncall">) for a drift result from core.drift.check."""
    verdict = result["verdict"]
    css = {"drift": "bad", "no drift": "ok"}.get(verdict, "warn")
    headline = (f"{_HEADLINE[verdict]}"
                + (f" - severity {result['severity']}" if verdict == "drift" else "")
                + f" · {result['signals_drifted']} of {result['signals_tested']} signals drifted"
                + (f" ({', '.join(result['groups_drifted'])})" if result["groups_drifted"] else ""))
    top = result["top_signals"]
    top_table = _top_table(top) if top else "<p>No signal moved beyond chance.</p>"
    parts = [
        f"<style>{_CSS}</style><div id='oncall'>",
        "<h1>shoprank drift check: current window vs reference</h1>",
        f"<div class='verdict {css}'>{escape(headline)}</div>",
        "<div class='cols'><div>",
        f"<h2>Top drifted signals</h2>{top_table}",
        f"<p class='muted'>{escape(_method_note(result))}</p>",
        "</div><div>",
        f"<h2>Windows</h2>{_windows_table(result)}",
        "</div></div>",
        "<h2>What to do next</h2><ol>" + "".join(f"<li>{escape(step)}</li>" for step in result["next_steps"]) + "</ol>",
        f"<h2>Rerun this check</h2><code>{escape(result['rerun_command'] or '(not recorded)')}</code>",
        _all_signals(result),
        _online(result),
    ]
    if embedding_figure:
        parts.append(f"<details><summary>Query embeddings (PCA projection)</summary>{embedding_figure}</details>")
    parts.append("</div>")
    return "".join(parts)


def on_call_page(result: dict, evidently_html: str, embedding_figure: str = "") -> str:
    """The summary placed at the top of Evidently's HTML document (or alone if that would pass MAX_HTML_BYTES)."""
    summary = summary_html(result, embedding_figure)
    heading = "<div id='oncall-detail'>Evidently detail: each signal's test and distributions</div>"
    marker = "<body>"
    if evidently_html and marker in evidently_html:
        at = evidently_html.index(marker) + len(marker)
        html = evidently_html[:at] + summary + heading + evidently_html[at:]
        html = html.replace("<head>", "<head><title>shoprank drift check</title>", 1)
    else:
        html = _standalone(summary)
    if len(html.encode("utf-8")) > MAX_HTML_BYTES:
        log.warning("drift page: %.1f MB with Evidently's detail, over %d MB; writing the summary alone",
                     len(html.encode("utf-8")) / 2**20, MAX_HTML_BYTES // 2**20)
        html = _standalone(summary + "<p>Evidently's detail was left out: the page would pass 10 MB. "
                           "Lower max_units to include it.</p>")
    return html


def _top_table(top: list[dict]) -> str:
    rows = "".join(
        f"<tr><td><b>{escape(s['name'])}</b><br><span class='muted'>{escape(s['description'])}</span></td>"
        f"<td>{escape(s['change']).replace('-&gt;', '&rarr;')}</td><td class='num'>{_score(s)}</td>"
        f"<td>{escape(s['method'])}</td><td class='num'>{_num(s['threshold'])}</td></tr>" for s in top)
    return ("<table><thead><tr><th>signal</th><th>how it moved (reference &rarr; current)</th><th>score</th>"
            f"<th>method</th><th>threshold</th></tr></thead><tbody>{rows}</tbody></table>")


def _score(signal: dict) -> str:
    if signal["method"] == "classifier":
        return f"AUC {_num(signal['score'])}"
    return ("p = " if signal["p_value_method"] else "") + _num(signal["score"])


def _standalone(body: str) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>shoprank drift check</title></head><body>{body}</body></html>"


def _num(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def _method_note(result: dict) -> str:
    return (f"p-value tests at {result['per_signal_alpha']:.2g} each: family false-alarm rate {result['family_alpha']} "
            f"over {result['signals_tested']} signals (Bonferroni). Each distinct query counts once; "
            f"the sample sizes are in the windows table.")


def _windows_table(result: dict) -> str:
    ref, cur = result["windows"]["reference"], result["windows"]["current"]
    rows = [["source", ref.get("source", ""), cur.get("source", "")],
            ["from", _date(ref.get("start")), _date(cur.get("start"))],
            ["to", _date(ref.get("end")), _date(cur.get("end"))]]
    for key, label in (("interactions", "interaction rows"), ("searches", "searches"),
                       ("distinct_queries", "distinct queries"), ("requests", "requests")):
        if key in ref or key in cur:
            rows.append([label, ref.get(key, "-"), cur.get(key, "-")])
    for key, label in (("model_versions", "model versions"), ("model_sha256", "model sha256")):
        if key in ref or key in cur:
            rows.append([label, _counts(ref.get(key)), _counts(cur.get(key))])
    for table_name, sizes in result["sample"].items():
        label = {"query_units": "units tested (distinct queries)", "request_units": "units tested (requests)",
                 "embedding_units": "queries embedded"}.get(table_name, table_name)
        rows.append([label, sizes.get("reference", "-"), sizes.get("current", "-")])
    return table(["", "reference", "current"], rows)


def _date(value) -> str:
    return "-" if not value else str(value)[:16].replace("T", " ")


def _counts(counts) -> str:
    if not counts:
        return "-"
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{k} ({v})" for k, v in items[:3]) + (f", +{len(items) - 3} more" if len(items) > 3 else "")


def _all_signals(result: dict) -> str:
    rows = [[s["status"], s["name"], s["description"], s["change"] or s["note"], _num(s["score"]), s["method"],
             _num(s["threshold"]), s["n_reference"], s["n_current"]] for s in result["signals"]]
    return ("<details><summary>All signals</summary>"
            + table(["status", "signal", "what", "how it moved / why not tested", "score", "method", "threshold",
                     "n ref", "n cur"], rows) + "</details>")


def _online(result: dict) -> str:
    by_version = (result.get("online") or {}).get("by_model_version") or {}
    if not by_version:
        return ""
    k = result["config"]["ctr_k"]
    rows = []
    for version, windows in sorted(by_version.items()):
        for window in ("reference", "current"):
            if window in windows:
                v = windows[window]
                rows.append([version, window, v["searches"], v["ctr_at_k"], v["mrr"], v["purchase_rate"]])
    return ("<details><summary>Online quality per model version</summary>"
            + table(["model version", "window", "searches", f"CTR@{k}", "MRR", "purchase rate"], rows) + "</details>")
