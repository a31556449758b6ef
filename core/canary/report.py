"""The canary's decision page, in Markdown and HTML, and its flat metrics.

Top: the final verdict and its reason. Then one row per step (the evaluation that ended it; holds
waiting for more evidence are counted, and kept in the JSON): the candidate's traffic share, the
SLO figures of both versions (requests, success rate, p99 latency), the ranking evidence
(interleaving wins / losses / ties with the sign test's p-value, or CTR and purchase rate of a
split with the two-proportion test's p-value) and the step's verdict with its reason.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from shoprank.core.canary.decision import HOLD, PROMOTE, ROLLBACK, CanaryPolicy, Decision, VersionStats
from shoprank.core.common.html_page import escape, page, table, verdict

HEADERS = ("evaluation", "candidate traffic", "requests (stable / candidate)", "success rate (stable / candidate)",
           "p99 ms (stable / candidate)", "ranking evidence", "p-value", "verdict", "reason")


@dataclasses.dataclass(frozen=True)
class StepRecord:
    """One evaluation of the canary: what both versions did and what was decided."""

    stable: VersionStats
    candidate: VersionStats
    decision: Decision

    def to_dict(self) -> dict:
        return {"stable": dataclasses.asdict(self.stable), "candidate": dataclasses.asdict(self.candidate),
                "decision": self.decision.to_dict()}


def _evidence(decision: Decision) -> str:
    ranking = decision.ranking
    if not ranking:
        return "not judged (SLOs or sample first)"
    if ranking["method"] == "interleaving":
        return f"{ranking['wins']} wins / {ranking['losses']} losses / {ranking['ties']} ties"
    ctr, buy = ranking["ctr"], ranking["purchase_rate"]
    return f"CTR {ctr[0]:.3f} vs {ctr[1]:.3f}; purchases {buy[0]:.3f} vs {buy[1]:.3f} (p={ranking['purchase_p_value']:.3g})"


def shown(steps: Sequence[StepRecord]) -> list[tuple[int, StepRecord]]:
    """(evaluation number, record) of the evaluations that ended a step (a verdict other than
    hold) and of the last one; the holds in between only waited for more evidence."""
    return [(i, s) for i, s in enumerate(steps, start=1) if s.decision.verdict != HOLD or i == len(steps)]


def _held_note(steps: Sequence[StepRecord]) -> str:
    held = len(steps) - len(shown(steps))
    return (f"{len(steps)} evaluations; shown: those that ended a step and the last; the {held} that held for more "
            "evidence are in canary.json.") if held else f"{len(steps)} evaluations."


def _rows(steps: Sequence[StepRecord]) -> list[list]:
    rows = []
    for i, step in shown(steps):
        s, c, d = step.stable, step.candidate, step.decision
        p_value = d.ranking.get("p_value") if d.ranking else None
        rows.append([i, f"{c.traffic_percent:g}%", f"{s.requests} / {c.requests}",
                     f"{s.success_rate:.2%} / {c.success_rate:.2%}", f"{s.p99_ms:.0f} / {c.p99_ms:.0f}",
                     _evidence(d), "n/a" if p_value is None else f"{p_value:.3g}", d.verdict, d.reason])
    return rows


def final_decision(steps: Sequence[StepRecord]) -> Decision | None:
    return steps[-1].decision if steps else None


def _headline(steps: Sequence[StepRecord]) -> str:
    final = final_decision(steps)
    if final is None:
        return "NO DECISION: the canary took no step"
    return f"{final.verdict.upper()}: {final.reason}"


def _policy_line(policy: CanaryPolicy) -> str:
    return (f"Policy: steps {'/'.join(str(s) for s in policy.steps)}%, at least {policy.min_requests} candidate requests "
            f"per step, success rate >= {policy.min_success_rate:.0%}, p99 <= {policy.max_p99_ms:g} ms, ranking evidence "
            f"{policy.evidence} (alpha {policy.alpha:g}, at least {policy.min_sessions} sessions)")


def decision_markdown(steps: Sequence[StepRecord], policy: CanaryPolicy, title: str = "shoprank canary") -> str:
    """The page as Markdown (a GitHub-style table; pipes in reasons escaped)."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [f"# {title}", "", f"**{cell(_headline(steps))}**", "", _policy_line(policy), "", _held_note(steps), "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in _rows(steps)]
    return "\n".join(lines) + "\n"


def decision_html(steps: Sequence[StepRecord], policy: CanaryPolicy, title: str = "shoprank canary") -> str:
    """The page as one self-contained HTML document."""
    final = final_decision(steps)
    ok = None if final is None or final.verdict not in (PROMOTE, ROLLBACK) else final.verdict == PROMOTE
    body = (verdict(_headline(steps), ok) + f"<p class='muted'>{escape(_policy_line(policy))}</p>"
            + "<h2>Steps</h2>" + f"<p class='muted'>{escape(_held_note(steps))}</p>" + table(HEADERS, _rows(steps)))
    return page(title, body)


def decision_metrics(steps: Sequence[StepRecord]) -> dict:
    """Flat numbers for a kfp Metrics artifact: the verdict as flags and the last step's evidence."""
    final = final_decision(steps)
    out = {"steps": float(len(steps))}
    if final is None:
        return out
    last = steps[-1]
    out.update({"promoted": float(final.verdict == PROMOTE), "rolled_back": float(final.verdict == ROLLBACK),
                "final_candidate_percent": float(final.next_percent),
                "candidate_success_rate": last.candidate.success_rate, "candidate_p99_ms": last.candidate.p99_ms,
                "stable_p99_ms": last.stable.p99_ms})
    ranking = final.ranking or {}
    if "p_value" in ranking:
        out["ranking_p_value"] = float(ranking["p_value"])
    for key in ("wins", "losses", "ties"):
        if key in ranking:
            out[f"interleaving_{key}"] = float(ranking[key])
    return out
