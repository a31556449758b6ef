"""The canary decision: promote, step, hold or roll back, with the reason.

Order of checks (Flagger's analysis, docs.flagger.app "Metrics analysis"; its built-in defaults
are request success rate >= 99% and request duration p99 <= 500 ms):
1. minimum sample: fewer candidate requests than `min_requests` in this step -> hold;
2. SLOs first: candidate success rate (1 - 5xx share) below `min_success_rate` or p99 latency
   above `max_p99_ms` -> rollback (on a shared host, optionally relative to the stable's p99);
3. ranking evidence, once `min_sessions` sessions back it: a significant loss -> rollback;
4. otherwise step the canary's traffic along `steps` (10 -> 25 -> 50 -> 100 by default); the
   last step is the promotion (candidate 100%), which needs a significant ranking win when
   `require_ranking_win` (else hold until one, or until `max_sessions` ends the canary with a
   rollback).
Ranking evidence is team-draft interleaving with a sign test, or, for a plain split, CTR and
purchase rate with two-proportion tests (core/canary/evidence.py).
"""

from __future__ import annotations

import dataclasses

from shoprank.core.canary.evidence import interleaving_test, two_proportion_test
from shoprank.core.common.errors import ConfigError

PROMOTE, STEP, HOLD, ROLLBACK = "promote", "step", "hold", "rollback"
EVIDENCE_KINDS = ("interleaving", "ab")


@dataclasses.dataclass(frozen=True)
class VersionStats:
    """What one version (stable or candidate) did.

    traffic_percent: the share of shopper sessions it serves now (the candidate's share is the
    canary step; in interleaving the share of sessions shown an interleaved list).
    requests / errors / p50_ms / p95_ms / p99_ms: requests it answered in the current step,
    those that failed (HTTP 5xx, timeouts, refused connections) and latency quantiles in ms.
    sessions / click_sessions / purchase_sessions: since the canary began, shopper sessions it
    served alone (a split) or took part in (interleaving), and those with >= 1 click / purchase.
    interleaving_wins: since the canary began, interleaved sessions its team won.
    """

    name: str
    traffic_percent: float
    requests: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    sessions: int = 0
    click_sessions: int = 0
    purchase_sessions: int = 0
    interleaving_wins: int = 0

    def __post_init__(self):
        counts = ("requests", "errors", "sessions", "click_sessions", "purchase_sessions", "interleaving_wins")
        for field in counts:
            if getattr(self, field) < 0:
                raise ConfigError(f"{self.name}: expected {field} >= 0, got {getattr(self, field)}")
        if self.errors > self.requests:
            raise ConfigError(f"{self.name}: expected errors <= requests, got {self.errors} > {self.requests}")
        if not 0 <= self.traffic_percent <= 100:
            raise ConfigError(f"{self.name}: expected traffic_percent in [0, 100], got {self.traffic_percent}")

    @property
    def success_rate(self) -> float:
        """1 - errors / requests (1.0 with no request)."""
        return 1.0 - self.errors / self.requests if self.requests else 1.0


@dataclasses.dataclass(frozen=True)
class CanaryPolicy:
    """How a canary is judged.

    steps: the candidate's traffic percents in order; the last one (100) is the promotion.
    min_requests: candidate requests in a step before any verdict on it (default 100).
    min_success_rate: SLO, 1 - 5xx share (default 0.99, Flagger's request-success-rate).
    max_p99_ms: SLO, p99 latency bound in ms (default 500, Flagger's request-duration).
    evidence: "interleaving" (team draft + sign test) or "ab" (CTR and purchase rate per version).
    min_sessions: ranking evidence needed before a ranking verdict: decided interleaved
    sessions (wins + losses), or sessions per version in a split (default 100).
    alpha: significance level of the ranking tests (two-sided; default 0.05).
    require_ranking_win: the promotion needs a significant ranking win (default True); False
    promotes on the SLOs and no significant loss.
    max_sessions: the canary's session budget (candidate sessions); reached without the win a
    promotion needs -> rollback. 0 = no budget (hold until evidence arrives).
    sequential: judge interleaving with the always-valid sequential p-value
    (core/canary/evidence.py) instead of the sign test's, so deciding at every look keeps the
    false-verdict rate under alpha (default False: the sign test, as most interleaving studies
    report it; its false-verdict rate grows with the number of looks).
    shared_host_p99_ratio: for versions sharing one host (the local canary): when the stable
    version's p99 breaks max_p99_ms too, the host is slow rather than the candidate, and the
    candidate passes if its p99 is within this multiple of the stable's. 0 (default) = the
    absolute bound only, as on a cluster.
    """

    steps: tuple = (10, 25, 50, 100)
    min_requests: int = 100
    min_success_rate: float = 0.99
    max_p99_ms: float = 500.0
    evidence: str = "interleaving"
    min_sessions: int = 100
    alpha: float = 0.05
    require_ranking_win: bool = True
    max_sessions: int = 0
    sequential: bool = False
    shared_host_p99_ratio: float = 0.0

    def __post_init__(self):
        steps = tuple(self.steps)
        checks = [
            (len(steps) >= 1 and all(0 < a < b for a, b in zip(steps, steps[1:])) and 0 < steps[0] and steps[-1] == 100,
             "steps rising from above 0 to 100", steps),
            (self.min_requests >= 1, "min_requests >= 1", self.min_requests),
            (0.0 < self.min_success_rate <= 1.0, "0 < min_success_rate <= 1", self.min_success_rate),
            (self.max_p99_ms > 0, "max_p99_ms > 0", self.max_p99_ms),
            (self.evidence in EVIDENCE_KINDS, f"evidence in {EVIDENCE_KINDS}", self.evidence),
            (self.min_sessions >= 1, "min_sessions >= 1", self.min_sessions),
            (0.0 < self.alpha < 1.0, "0 < alpha < 1", self.alpha),
            (self.max_sessions >= 0, "max_sessions >= 0", self.max_sessions),
            (self.shared_host_p99_ratio == 0 or self.shared_host_p99_ratio >= 1, "shared_host_p99_ratio 0 or >= 1",
             self.shared_host_p99_ratio),
        ]
        for ok, expected, got in checks:
            if not ok:
                raise ConfigError(f"canary policy: expected {expected}, got {got}")
        object.__setattr__(self, "steps", steps)

    def next_step(self, percent: float) -> int:
        """The first step above `percent` (100 once past the last)."""
        return next((s for s in self.steps if s > percent), 100)


@dataclasses.dataclass(frozen=True)
class Check:
    """One SLO check: the measured value against its bound."""

    name: str
    value: float
    bound: float
    passed: bool


@dataclasses.dataclass(frozen=True)
class Decision:
    """The verdict, why, the candidate's traffic percent to apply next, and the evidence."""

    verdict: str
    reason: str
    next_percent: float
    checks: tuple = ()
    ranking: dict = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready snapshot."""
        return {"verdict": self.verdict, "reason": self.reason, "next_percent": self.next_percent,
                "checks": [dataclasses.asdict(c) for c in self.checks], "ranking": dict(self.ranking)}


def slo_checks(candidate: VersionStats, policy: CanaryPolicy, stable: VersionStats | None = None) -> tuple[Check, ...]:
    """Success rate and p99 latency of the candidate against the policy's bounds (the p99 bound
    relaxed to shared_host_p99_ratio x the stable's p99 when the stable breaks it too)."""
    bound = policy.max_p99_ms
    if policy.shared_host_p99_ratio and stable is not None and stable.requests and stable.p99_ms > bound:
        bound = policy.shared_host_p99_ratio * stable.p99_ms
    return (
        Check("success_rate", candidate.success_rate, policy.min_success_rate,
              candidate.success_rate >= policy.min_success_rate),
        Check("p99_ms", candidate.p99_ms, bound, candidate.p99_ms <= bound),
    )


def ranking_evidence(stable: VersionStats, candidate: VersionStats, policy: CanaryPolicy) -> dict:
    """The policy's ranking test: {method, n, enough, p_value, direction (+1 win, -1 loss, 0 none), summary, ...}."""
    if policy.evidence == "interleaving":
        test = interleaving_test(candidate.interleaving_wins, stable.interleaving_wins,
                                 max(candidate.sessions - candidate.interleaving_wins - stable.interleaving_wins, 0))
        p_value = test.sequential_p_value if policy.sequential else test.p_value
        significant = test.decided >= policy.min_sessions and p_value < policy.alpha
        direction = (1 if test.wins > test.losses else -1) if significant else 0
        kind = "sequential p" if policy.sequential else "p"
        return {"method": "interleaving", "n": test.decided, "enough": test.decided >= policy.min_sessions,
                "p_value": p_value, "sign_test_p_value": test.p_value, "sequential_p_value": test.sequential_p_value,
                "direction": direction, "wins": test.wins, "losses": test.losses, "ties": test.ties, "delta": test.delta,
                "summary": f"interleaving {test.wins} wins / {test.losses} losses / {test.ties} ties, {kind}={p_value:.3g}"}
    ctr = two_proportion_test("ctr", candidate.click_sessions, candidate.sessions, stable.click_sessions, stable.sessions)
    buy = two_proportion_test("purchase_rate", candidate.purchase_sessions, candidate.sessions,
                              stable.purchase_sessions, stable.sessions)
    n = min(candidate.sessions, stable.sessions)
    enough = n >= policy.min_sessions
    loss = enough and any(t.p_value < policy.alpha and t.difference < 0 for t in (ctr, buy))
    win = enough and not loss and ctr.p_value < policy.alpha and ctr.difference > 0
    return {"method": "ab", "n": n, "enough": enough, "p_value": ctr.p_value, "direction": -1 if loss else 1 if win else 0,
            "ctr": [ctr.candidate_rate, ctr.stable_rate], "ctr_p_value": ctr.p_value,
            "purchase_rate": [buy.candidate_rate, buy.stable_rate], "purchase_p_value": buy.p_value,
            "summary": (f"CTR {ctr.candidate_rate:.3f} vs {ctr.stable_rate:.3f} (p={ctr.p_value:.3g}), purchase rate "
                        f"{buy.candidate_rate:.3f} vs {buy.stable_rate:.3f} (p={buy.p_value:.3g}) over {n} sessions each")}


def decide(stable: VersionStats, candidate: VersionStats, policy: CanaryPolicy = CanaryPolicy()) -> Decision:
    """promote | step | hold | rollback for the candidate, with the reason (see the module doc for the order)."""
    current = candidate.traffic_percent
    if candidate.requests < policy.min_requests:
        return Decision(HOLD, f"{candidate.requests} of {policy.min_requests} candidate requests at {current:g}%; "
                        "no verdict before the minimum sample", current)
    checks = slo_checks(candidate, policy, stable)
    failed = [c for c in checks if not c.passed]
    if failed:
        words = {"success_rate": lambda c: f"success rate {c.value:.2%} < {c.bound:.2%}",
                 "p99_ms": lambda c: f"p99 latency {c.value:.0f} ms > {c.bound:.0f} ms"}
        what = "; ".join(words[c.name](c) for c in failed)
        return Decision(ROLLBACK, f"SLO breach at {current:g}% over {candidate.requests} requests: {what}", 0.0, checks)
    ranking = ranking_evidence(stable, candidate, policy)
    if ranking["direction"] < 0:
        return Decision(ROLLBACK, f"significant ranking loss: {ranking['summary']}", 0.0, checks, ranking)
    target = policy.next_step(current)
    if target < 100:
        return Decision(STEP, f"SLOs met at {current:g}% ({candidate.requests} requests), step to {target}%; "
                        f"{ranking['summary']}",
                        float(target), checks, ranking)
    if ranking["direction"] > 0 or not policy.require_ranking_win:
        return Decision(PROMOTE, f"SLOs met and {'significant ranking win' if ranking['direction'] > 0 else 'no significant ranking loss'}: "
                        f"{ranking['summary']}", 100.0, checks, ranking)
    if policy.max_sessions and candidate.sessions >= policy.max_sessions:
        return Decision(ROLLBACK, f"no significant ranking win within {policy.max_sessions} sessions: {ranking['summary']}",
                        0.0, checks, ranking)
    need = "more sessions" if not ranking["enough"] else f"p < {policy.alpha:g}"
    return Decision(HOLD, f"SLOs met at {current:g}%; promotion waits for a significant ranking win ({need}): "
                    f"{ranking['summary']}", current, checks, ranking)


def latency_quantiles(latencies_ms) -> dict:
    """p50/p95/p99 in ms of latencies in ms (numpy's linear interpolation); zeros for none.

    Raises ConfigError for a negative or non-finite latency.
    """
    import numpy as np

    values = np.asarray(list(latencies_ms), dtype=float)
    if values.size == 0:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    if not np.isfinite(values).all() or (values < 0).any():
        raise ConfigError(f"expected finite latencies >= 0 ms, got min {values.min()}, max {values.max()}")
    p50, p95, p99 = np.quantile(values, [0.5, 0.95, 0.99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99)}
