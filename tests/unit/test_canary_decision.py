"""decide(): a table of stable/candidate situations and the verdict each must get."""

import pytest

from shoprank.core.canary.decision import (HOLD, PROMOTE, ROLLBACK, STEP, CanaryPolicy, VersionStats, decide,
                                           latency_quantiles)
from shoprank.core.common.errors import ConfigError

POLICY = CanaryPolicy(min_requests=100, min_sessions=100, max_p99_ms=500.0)
AB = CanaryPolicy(evidence="ab", min_requests=100, min_sessions=1000)


def stable(**kw):
    base = dict(name="stable", traffic_percent=100 - kw.get("share", 10), requests=900, errors=0, p99_ms=80.0)
    base.update({k: v for k, v in kw.items() if k != "share"})
    return VersionStats(**base)


def candidate(percent=10, **kw):
    base = dict(name="candidate", traffic_percent=percent, requests=200, errors=0, p50_ms=20.0, p99_ms=90.0)
    base.update(kw)
    return VersionStats(**base)


# (case, stable, candidate, policy, verdict, next percent, words the reason must hold)
CASES = [
    ("too few requests", stable(), candidate(requests=99, errors=50), POLICY, HOLD, 10, "99 of 100"),
    ("5xx share over 1%", stable(), candidate(requests=200, errors=3), POLICY, ROLLBACK, 0, "success rate 98.50% < 99.00%"),
    ("exactly 99% passes", stable(), candidate(requests=200, errors=2), POLICY, STEP, 25, "SLOs met at 10%"),
    ("p99 over the bound", stable(), candidate(p99_ms=501.0), POLICY, ROLLBACK, 0, "p99 latency 501 ms > 500 ms"),
    ("both SLOs broken", stable(), candidate(errors=40, p99_ms=900.0), POLICY, ROLLBACK, 0, "success rate 80.00%"),
    ("SLO before ranking win", stable(interleaving_wins=10), candidate(percent=50, errors=10, sessions=400, interleaving_wins=200),
     POLICY, ROLLBACK, 0, "SLO breach"),
    ("healthy first step", stable(), candidate(sessions=50, interleaving_wins=20), POLICY, STEP, 25, "step to 25%"),
    ("healthy second step", stable(share=25), candidate(percent=25), POLICY, STEP, 50, "SLOs met at 25%"),
    ("significant interleaving loss", stable(interleaving_wins=80), candidate(percent=25, sessions=200, interleaving_wins=40),
     POLICY, ROLLBACK, 0, "80 losses"),
    ("loss below min sample waits", stable(interleaving_wins=30), candidate(percent=10, sessions=60, interleaving_wins=5),
     POLICY, STEP, 25, "5 wins / 30 losses"),
    ("win at the last step promotes", stable(share=50, interleaving_wins=40),
     candidate(percent=50, sessions=200, interleaving_wins=80), POLICY, PROMOTE, 100, "significant ranking win"),
    ("no win at the last step holds", stable(share=50, interleaving_wins=55),
     candidate(percent=50, sessions=200, interleaving_wins=60), POLICY, HOLD, 50, "p < 0.05"),
    ("too little evidence at the last step holds", stable(share=50, interleaving_wins=10),
     candidate(percent=50, sessions=40, interleaving_wins=30), POLICY, HOLD, 50, "more sessions"),
    ("budget spent without a win", stable(share=50, interleaving_wins=55),
     candidate(percent=50, sessions=200, interleaving_wins=60), CanaryPolicy(max_sessions=200), ROLLBACK, 0, "within 200 sessions"),
    ("no win needed", stable(share=50, interleaving_wins=55), candidate(percent=50, sessions=200, interleaving_wins=60),
     CanaryPolicy(require_ranking_win=False), PROMOTE, 100, "no significant ranking loss"),
    ("sequential p needs more than the sign test", stable(share=50, interleaving_wins=40),
     candidate(percent=50, sessions=200, interleaving_wins=62), CanaryPolicy(sequential=True), HOLD, 50, "sequential p="),
    ("sequential p promotes a clear win", stable(share=50, interleaving_wins=40),
     candidate(percent=50, sessions=400, interleaving_wins=110), CanaryPolicy(sequential=True), PROMOTE, 100, "significant"),
    ("shared host: both slow, candidate within 1.5x", stable(p99_ms=900.0), candidate(p99_ms=1200.0),
     CanaryPolicy(min_requests=100, shared_host_p99_ratio=1.5), STEP, 25, "step to 25%"),
    ("shared host: candidate far slower than a slow stable", stable(p99_ms=900.0), candidate(p99_ms=1400.0),
     CanaryPolicy(min_requests=100, shared_host_p99_ratio=1.5), ROLLBACK, 0, "p99 latency 1400 ms > 1350 ms"),
    ("shared host: a fast stable keeps the absolute bound", stable(p99_ms=100.0), candidate(p99_ms=600.0),
     CanaryPolicy(min_requests=100, shared_host_p99_ratio=1.5), ROLLBACK, 0, "p99 latency 600 ms > 500 ms"),
    ("A/B: CTR loss", stable(share=25, sessions=3000, click_sessions=1500),
     candidate(percent=25, sessions=1000, click_sessions=400), AB, ROLLBACK, 0, "CTR 0.400 vs 0.500"),
    ("A/B: purchase loss alone", stable(share=50, sessions=3000, click_sessions=1500, purchase_sessions=600),
     candidate(percent=50, sessions=3000, click_sessions=1510, purchase_sessions=450), AB, ROLLBACK, 0, "purchase rate 0.150"),
    ("A/B: CTR win promotes", stable(share=50, sessions=3000, click_sessions=1500, purchase_sessions=300),
     candidate(percent=50, sessions=3000, click_sessions=1700, purchase_sessions=330), AB, PROMOTE, 100, "CTR 0.567 vs 0.500"),
    ("A/B: too few sessions", stable(share=50, sessions=3000, click_sessions=1500),
     candidate(percent=50, sessions=900, click_sessions=800), AB, HOLD, 50, "more sessions"),
]


@pytest.mark.parametrize("case,stable_stats,candidate_stats,policy,verdict,next_percent,words", CASES, ids=[c[0] for c in CASES])
def test_decide_table(case, stable_stats, candidate_stats, policy, verdict, next_percent, words):
    decision = decide(stable_stats, candidate_stats, policy)
    assert decision.verdict == verdict, decision.reason
    assert decision.next_percent == next_percent
    assert words in decision.reason


def test_decision_carries_its_evidence_as_json():
    decision = decide(stable(share=50, interleaving_wins=40), candidate(percent=50, sessions=200, interleaving_wins=80), POLICY)
    snapshot = decision.to_dict()
    assert snapshot["ranking"]["wins"] == 80 and snapshot["ranking"]["losses"] == 40 and snapshot["ranking"]["ties"] == 80
    assert snapshot["ranking"]["p_value"] < 0.001
    assert [c["name"] for c in snapshot["checks"]] == ["success_rate", "p99_ms"] and all(c["passed"] for c in snapshot["checks"])


def test_custom_steps_are_followed():
    policy = CanaryPolicy(steps=(5, 20, 100))
    assert decide(stable(), candidate(percent=5), policy).next_percent == 20
    assert decide(stable(), candidate(percent=20, sessions=200, interleaving_wins=90), policy).verdict == HOLD


@pytest.mark.parametrize("bad,expected", [
    (dict(steps=(10, 50)), "steps rising from above 0 to 100"),
    (dict(steps=(50, 10, 100)), "steps rising"),
    (dict(min_success_rate=1.5), "0 < min_success_rate <= 1"),
    (dict(evidence="bandit"), "evidence in"),
    (dict(alpha=0.0), "0 < alpha < 1"),
])
def test_bad_policy_is_refused_with_what_was_expected(bad, expected):
    with pytest.raises(ConfigError, match=expected):
        CanaryPolicy(**bad)


def test_bad_version_stats_are_refused():
    with pytest.raises(ConfigError, match="errors <= requests"):
        VersionStats("c", 10, requests=5, errors=6)
    with pytest.raises(ConfigError, match=r"traffic_percent in \[0, 100\]"):
        VersionStats("c", 120)


def test_latency_quantiles():
    q = latency_quantiles(range(1, 101))
    assert q["p50_ms"] == pytest.approx(50.5) and q["p99_ms"] == pytest.approx(99.01)
    assert latency_quantiles([]) == {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    with pytest.raises(ConfigError, match="finite latencies"):
        latency_quantiles([1.0, float("nan")])
