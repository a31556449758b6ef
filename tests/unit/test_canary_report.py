"""The canary decision page: per step traffic, SLOs, interleaving evidence with p-value, verdict."""

from shoprank.core.canary.decision import CanaryPolicy, VersionStats, decide
from shoprank.core.canary.report import StepRecord, decision_html, decision_markdown, decision_metrics

POLICY = CanaryPolicy(min_requests=50, min_sessions=50)


def _steps():
    steps = []
    for percent, wins, losses in ((10, 30, 10), (25, 60, 20), (50, 120, 40)):
        stable = VersionStats("v1", 100 - percent, requests=400, errors=0, p99_ms=40.0, interleaving_wins=losses)
        candidate = VersionStats("v2", percent, requests=200, errors=1, p99_ms=55.0, sessions=wins + losses + 20,
                                 interleaving_wins=wins)
        steps.append(StepRecord(stable, candidate, decide(stable, candidate, POLICY)))
    return steps


def test_markdown_and_html_show_every_step_and_the_final_verdict():
    steps = _steps()
    assert [s.decision.verdict for s in steps] == ["step", "step", "promote"]
    md = decision_markdown(steps, POLICY)
    assert md.splitlines()[2].startswith("**PROMOTE: SLOs met and significant ranking win")
    rows = [line for line in md.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 3 and "| 50% |" in rows[2] and "120 wins / 40 losses / 20 ties" in rows[2]
    assert "99.50%" in rows[0] and "| 40 / 55 |" in rows[0]
    html = decision_html(steps, POLICY)
    assert "verdict ok" in html and html.count("<tr>") == 4 and "120 wins / 40 losses" in html


def test_rollback_page_is_red_and_metrics_flag_it():
    stable = VersionStats("v1", 90, requests=400, p99_ms=40.0)
    candidate = VersionStats("v2", 10, requests=100, errors=20, p99_ms=40.0)
    steps = [StepRecord(stable, candidate, decide(stable, candidate, POLICY))]
    assert "verdict bad" in decision_html(steps, POLICY) and "ROLLBACK: SLO breach" in decision_markdown(steps, POLICY)
    metrics = decision_metrics(steps)
    assert metrics["rolled_back"] == 1.0 and metrics["promoted"] == 0.0 and metrics["candidate_success_rate"] == 0.8
    assert decision_metrics([]) == {"steps": 0.0}


def test_holds_between_steps_are_counted_not_listed():
    stable = VersionStats("v1", 90, requests=400, p99_ms=40.0)
    waiting = VersionStats("v2", 10, requests=5, p99_ms=40.0)
    ready = VersionStats("v2", 10, requests=80, p99_ms=40.0)
    steps = [StepRecord(stable, c, decide(stable, c, POLICY)) for c in (waiting, waiting, ready)]
    md = decision_markdown(steps, POLICY)
    rows = [line for line in md.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 1 and rows[0].startswith("| 3 | 10% |") and "the 2 that held" in md
