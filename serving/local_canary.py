"""The local canary, end to end: two `shoprank serve` processes, the router in front of them,
simulated shoppers replayed through it, and decide() applied to the router's traffic.

The candidate starts at the policy's first step. Shoppers keep arriving the whole time; every
`check_every` finished sessions the router's per-version stats go to decide()
(core/canary/decision.py) and its verdict is applied at once: step -> the router's candidate
share, promote -> the candidate alone, rollback -> the stable alone. After the verdict
`settle_sessions` more sessions run on the new traffic, so the switch happens under load. With no
verdict after `max_sessions` sessions the canary ends in a rollback (the stable keeps serving).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from pathlib import Path

from shoprank.core.canary.decision import HOLD, PROMOTE, ROLLBACK, STEP, CanaryPolicy, Decision, decide
from shoprank.core.canary.report import StepRecord, decision_html, decision_markdown, decision_metrics
from shoprank.core.canary.shoppers import SimulatedShoppers
from shoprank.core.common.errors import ConfigError
from shoprank.serving.canary_router import MODES, CanaryRouter, Upstream
from shoprank.serving.router_server import RouterServer
from shoprank.serving.serve_process import ServeProcess
from shoprank.serving.shopper_replay import ShopperReplay

log = logging.getLogger(__name__)

# Locally both versions share one machine: its stalls slow both, so a candidate within 1.5x of
# the stable's p99 passes when the stable breaks the bound too.
LOCAL_POLICY = CanaryPolicy(min_requests=50, min_sessions=50, shared_host_p99_ratio=1.5)


@dataclasses.dataclass(frozen=True)
class LocalCanaryConfig:
    """How the local canary runs.

    mode: "interleave" (team-draft pages, sign test) or "split" (CTR / purchase rate per version).
    policy: the decision's policy; locally 50 requests per step and 50 sessions of ranking
    evidence (a cluster's default is 100 of each) and the p99 bound relative to the stable's
    when the shared machine slows both (CanaryPolicy.shared_host_p99_ratio 1.5). check_every: finished sessions between two
    decisions. max_sessions: the session budget. settle_sessions: sessions replayed after the
    verdict. concurrency: shopper threads. request_timeout_s: the router's wait for a model
    server. seed: the shoppers' seed (queries, clicks) and the interleaving's coin flips.
    serve_args: extra `shoprank serve` arguments for both servers (e.g. ("--runtime", "onnx")).
    """

    mode: str = "interleave"
    policy: CanaryPolicy = LOCAL_POLICY
    check_every: int = 25
    max_sessions: int = 3000
    settle_sessions: int = 40
    concurrency: int = 2
    request_timeout_s: float = 5.0
    seed: int = 0
    serve_args: tuple = ()

    def __post_init__(self):
        checks = [(self.mode in MODES, f"mode in {MODES}", self.mode), (self.check_every >= 1, "check_every >= 1", self.check_every),
                  (self.max_sessions >= 1, "max_sessions >= 1", self.max_sessions),
                  (self.settle_sessions >= 0, "settle_sessions >= 0", self.settle_sessions),
                  (self.concurrency >= 1, "concurrency >= 1", self.concurrency)]
        for ok, expected, got in checks:
            if not ok:
                raise ConfigError(f"local canary: expected {expected}, got {got}")


@dataclasses.dataclass
class LocalCanaryResult:
    """Every decision taken, the final one, and what the shoppers saw."""

    steps: list
    final: Decision
    sessions: int
    shopper_failures: dict
    arms: dict
    transitions: list  # (sessions finished when applied, verdict, candidate percent after)
    seconds: float

    @property
    def promoted(self) -> bool:
        return self.final.verdict == PROMOTE

    def to_dict(self) -> dict:
        return {"verdict": self.final.verdict, "reason": self.final.reason, "promoted": self.promoted,
                "sessions": self.sessions, "shopper_failures": self.shopper_failures, "arms": self.arms,
                "transitions": self.transitions, "seconds": self.seconds,
                "steps": [s.to_dict() for s in self.steps], "metrics": decision_metrics(self.steps)}

    def write(self, out_dir: str | Path, policy: CanaryPolicy, title: str = "shoprank canary") -> dict:
        """decision.md, decision.html and canary.json in out_dir; returns their paths."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {"markdown": out_dir / "decision.md", "html": out_dir / "decision.html", "json": out_dir / "canary.json"}
        paths["markdown"].write_text(decision_markdown(self.steps, policy, title))
        paths["html"].write_text(decision_html(self.steps, policy, title))
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2))
        return {k: str(v) for k, v in paths.items()}


def run_canary(stable: Upstream, candidate: Upstream, shoppers: SimulatedShoppers,
               config: LocalCanaryConfig = LocalCanaryConfig()) -> LocalCanaryResult:
    """Run the canary against two model servers already listening (see `local_canary` to start them)."""
    policy = config.policy
    router = CanaryRouter(stable, candidate, mode=config.mode, candidate_percent=policy.steps[0],
                          timeout_s=config.request_timeout_s, seed=config.seed)
    started = time.perf_counter()
    steps, transitions = [], [(0, "start", float(policy.steps[0]))]
    with RouterServer(router) as server:
        replay = ShopperReplay(server.url, shoppers, limit=config.max_sessions, concurrency=config.concurrency).start()
        final = None
        try:
            next_check = config.check_every
            while final is None:
                while replay.completed < next_check and not replay.finished:
                    time.sleep(0.01)
                stable_stats, candidate_stats = router.version_stats()
                decision = decide(stable_stats, candidate_stats, policy)
                if decision.verdict == HOLD and replay.finished:
                    decision = Decision(ROLLBACK, f"no verdict within {config.max_sessions} shopper sessions, the stable "
                                        f"version keeps serving; last: {decision.reason}", 0.0, decision.checks, decision.ranking)
                steps.append(StepRecord(stable_stats, candidate_stats, decision))
                log.info("canary after %d sessions: %s (%s)", replay.completed, decision.verdict, decision.reason)
                if decision.verdict == STEP:
                    router.set_percent(decision.next_percent)
                elif decision.verdict == PROMOTE:
                    router.promote()
                    final = decision
                elif decision.verdict == ROLLBACK:
                    router.rollback()
                    final = decision
                if decision.verdict != HOLD:
                    transitions.append((replay.completed, decision.verdict, router.version_stats()[1].traffic_percent))
                next_check = replay.completed + config.check_every
            # Shoppers keep coming through the switch and after it.
            replay.extend(config.settle_sessions)
            while not replay.finished:
                time.sleep(0.01)
        finally:
            replay.stop()
    return LocalCanaryResult(steps, final, replay.completed, dict(replay.failures), dict(replay.arms), transitions,
                             round(time.perf_counter() - started, 1))


def local_canary(stable_dir: str | Path, candidate_dir: str | Path, shoppers: SimulatedShoppers, out_dir: str | Path,
                 config: LocalCanaryConfig = LocalCanaryConfig()) -> LocalCanaryResult:
    """Start `shoprank serve` for both model folders, run the canary, write the decision page to
    out_dir (with the servers' logs), stop the servers. Raises ServeError when one does not start."""
    out_dir = Path(out_dir)
    stable = ServeProcess(stable_dir, "stable", out_dir / "serve-stable.log", extra_args=config.serve_args)
    candidate = ServeProcess(candidate_dir, "candidate", out_dir / "serve-candidate.log", extra_args=config.serve_args)
    with contextlib.ExitStack() as stack:
        for server in (stable, candidate):  # both load their models at once
            server.launch()
            stack.callback(server.stop)
        for server in (stable, candidate):
            server.wait_ready()
        result = run_canary(Upstream("stable", stable.url, "stable"), Upstream("candidate", candidate.url, "candidate"),
                            shoppers, config)
    result.write(out_dir, config.policy)
    return result
