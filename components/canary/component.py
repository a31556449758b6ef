"""kfp component `canary_rollout`: a thin body around shoprank.serving.rollout_stages.run_canary_stage."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Output

from shoprank.components.images import BASE_IMAGE


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def canary_rollout(
    inference_service: Input[Artifact],
    validated_data: Input[Dataset],
    pairs: Input[Dataset],
    decision: Output[Markdown],
    report: Output[HTML],
    metrics: Output[Metrics],
    canary: Output[Artifact],
    mode: str = "interleave",
    seed: int = 0,
    max_sessions: int = 3000,
    check_every: int = 25,
    min_requests: int = 50,
    min_sessions: int = 50,
    min_success_rate: float = 0.99,
    max_p99_ms: float = 500.0,
) -> NamedTuple("CanaryOutputs", [("promoted", bool), ("verdict", str)]):
    """Promote or roll back the deployed candidate on SLOs and ranking evidence.

    Locally: `shoprank serve` for the champion and the candidate, a router interleaving (mode
    "interleave") or splitting ("split") simulated shoppers on the held-out queries of `pairs`,
    and the canary decision every `check_every` sessions (steps 10/25/50/100; SLOs: success rate
    >= min_success_rate, p99 <= max_p99_ms; ranking: sign test or two-proportion tests at 0.05
    after min_sessions sessions). Without a champion the candidate is promoted as the first model.
    Writes the decision page as Markdown (`decision`) and HTML (`report`), the JSON (`canary`:
    every evaluation, the verdict, the live model folder) and Metrics. Returns promoted, verdict.
    """
    import json
    from collections import namedtuple
    from pathlib import Path

    from shoprank.serving.local_canary import LocalCanaryConfig
    from shoprank.serving.rollout_stages import policy_from_params, run_canary_stage

    deployment = json.loads(Path(inference_service.path).read_text())
    policy = policy_from_params(min_requests, min_sessions, min_success_rate, max_p99_ms, mode)
    config = LocalCanaryConfig(mode=mode, policy=policy, check_every=check_every, max_sessions=max_sessions, seed=seed)
    summary = run_canary_stage(deployment, validated_data.path, pairs.path, canary.path, decision.path, report.path, config)
    for name, value in summary["metrics"].items():
        metrics.log_metric(name, value)
    canary.metadata.update({"verdict": summary["verdict"], "reason": summary["reason"],
                            "live_model_dir": summary["live_model_dir"], "live_revision": summary["live_revision"]})
    return namedtuple("CanaryOutputs", ["promoted", "verdict"])(summary["promoted"], summary["verdict"])
