"""From per-signal test results to one verdict: drifted or not, how badly, and what to do next.

Verdict. "drift" when at least one tested signal drifted. With the default p-value methods each
signal is tested at family_alpha / m (Bonferroni over the m signals tested), so when nothing
changed the chance that any signal fires is at most family_alpha (Dunn, 1961). "not enough data"
when no signal could be tested; "no drift" otherwise, with the signals that could not be tested
listed beside it, never left out silently.

Severity (for a person deciding whether to act now):
    high    online ranking quality fell (CTR@k, MRR of clicks or purchases drifted downwards),
            or at least half of the tested signals drifted
    medium  signals of two or more groups drifted, or at least a quarter of the tested signals
    low     any other drift
    none    no drift
"""

from __future__ import annotations

import dataclasses
import math

DRIFT, NO_DRIFT, NOT_ENOUGH = "drift", "no drift", "not enough data"
TESTED, UNAVAILABLE = "tested", "unavailable"
ONLINE_QUALITY = ("online.ctr_at_k", "online.reciprocal_rank", "online.purchase")


@dataclasses.dataclass
class SignalResult:
    """One signal's outcome. status: DRIFT, NO_DRIFT, NOT_ENOUGH or UNAVAILABLE.

    score: the method's score (a p-value for p-value methods, else a distance; AUC for the
    embedding classifier). strength: how far past its threshold (> 1 = drifted), for ranking.
    direction: +1 / -1 when the current window's mean (or "yes" share) is higher / lower.
    """

    name: str
    group: str
    description: str
    status: str
    method: str = ""
    threshold: float | None = None
    score: float | None = None
    p_value_method: bool = True
    n_reference: int = 0
    n_current: int = 0
    change: str = ""
    direction: int = 0
    note: str = ""

    @property
    def strength(self) -> float:
        if self.score is None or self.threshold is None or not self.threshold > 0:
            return 0.0
        if self.p_value_method:
            if self.method == "classifier":  # score is an AUC, threshold the AUC chance reaches at alpha
                return (self.score - 0.5) / max(self.threshold - 0.5, 1e-12)
            return math.log10(max(self.score, 1e-300)) / math.log10(self.threshold)
        return self.score / self.threshold

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["strength"] = round(self.strength, 3)
        return out


def decide(results: list[SignalResult]) -> dict:
    """verdict, drifted, severity and the ranked drifted signals."""
    tested = [r for r in results if r.status in (DRIFT, NO_DRIFT)]
    drifted = sorted((r for r in results if r.status == DRIFT), key=lambda r: -r.strength)
    if not tested:
        verdict, severity = NOT_ENOUGH, "none"
    elif not drifted:
        verdict, severity = NO_DRIFT, "none"
    else:
        verdict, severity = DRIFT, _severity(drifted, tested)
    return {
        "verdict": verdict,
        "drifted": verdict == DRIFT,
        "severity": severity,
        "signals_tested": len(tested),
        "signals_drifted": len(drifted),
        "groups_drifted": sorted({r.group for r in drifted}),
        "drifted_signals": [r.name for r in drifted],
        "not_enough_data": [r.name for r in results if r.status == NOT_ENOUGH],
        "unavailable": [r.name for r in results if r.status == UNAVAILABLE],
    }


def _severity(drifted: list[SignalResult], tested: list[SignalResult]) -> str:
    quality_fell = any(r.name in ONLINE_QUALITY and r.direction < 0 for r in drifted)
    share = len(drifted) / len(tested)
    if quality_fell or share >= 0.5:
        return "high"
    if len({r.group for r in drifted}) >= 2 or share >= 0.25:
        return "medium"
    return "low"


def next_steps(decision: dict, results: list[SignalResult], current_source: str, min_units: int,
               windows: dict | None = None) -> list[str]:
    """What the person on call should do, in order. windows: the facts of both windows (model versions)."""
    by_name = {r.name: r for r in results}
    groups = set(decision["groups_drifted"])
    steps = []
    if decision["verdict"] == NOT_ENOUGH:
        short = [f"{r.name} ({r.note})" for r in results if r.status == NOT_ENOUGH][:3]
        steps.append(f"Nothing could be tested: {'; '.join(short) or 'no signal had data'}. Widen the current window "
                     f"(more days of traffic) or pass a smaller --min-units (now {min_units}; fewer units, weaker tests).")
        return steps
    if decision["verdict"] == NO_DRIFT:
        steps.append("No action needed: no signal moved beyond chance. The next scheduled check runs as planned.")
    if any(by_name[n].direction < 0 for n in decision["drifted_signals"] if n in ONLINE_QUALITY):
        steps.append("Online ranking quality fell: compare the model versions below; if a new model went live in the "
                     "current window, roll back to the champion while you investigate.")
    if groups & {"queries", "shown", "clicked"}:
        steps.append(f"Shoppers' searches or the products they see changed: retrain on recent data "
                     f"(`shoprank run --data {current_source or 'CURRENT'}`, or let the scheduled monitor_and_retrain "
                     f"pipeline do it); the evaluation gate decides whether the new model ships.")
    if "model" in groups:
        steps.append("The model's scores or the ranks clicks land on changed: check whether another model version "
                     "was served (windows table) before retraining.")
    if "requests" in groups:
        steps.append("The requests reaching the predictor changed (query features or candidate counts): check the "
                     "calling service's recent releases.")
    versions = {name: set((facts or {}).get("model_versions", {})) for name, facts in (windows or {}).items()}
    if versions.get("current") and versions.get("reference") and versions["current"] != versions["reference"]:
        steps.append(f"Other model versions served the current window ({', '.join(sorted(versions['current']))}) "
                     f"than the reference ({', '.join(sorted(versions['reference']))}): model and online signals "
                     "may have moved with the model, not the traffic.")
    if decision["verdict"] == DRIFT:
        steps.append("Read the top signals' detail below (Evidently) to see how each distribution moved.")
    if decision["not_enough_data"]:
        steps.append(f"Not tested for lack of data: {', '.join(decision['not_enough_data'])}.")
    return steps
