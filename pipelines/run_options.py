"""`shoprank run`'s options, checked before the first stage: a misspelt method stops the run at once,
not after prepare, valuation or training.

Each option is checked by the config its stage builds from it, through the components' parameter
adapters (components/params.py, the same code the component runs),
so what passes here is what the stage accepts. Every bad option is reported together.
"""

from __future__ import annotations

from pathlib import Path

from shoprank.core.common.errors import ConfigError, ShoprankError


def check_run_options(*, value_method: str, value_policy: str, train_loss: str, train_epochs: int,
                      train_max_steps: int, train_max_minutes: float, train_max_length: int, baselines: str,
                      min_ndcg: float, min_gain_over_champion: float, champion: Path | None, seed: int = 0,
                      gate_rule: dict | None = None, tune_trials: int = 0, tune_minutes: float = 4.0) -> None:
    """Raise ConfigError naming every option the stages would refuse (option, what arrived, what is allowed)."""
    from shoprank.components.params import evaluation_config, gate_config, train_config, tune_settings, value_stage_config

    checks = {
        "--value-method / --value-policy": lambda: value_stage_config(
            method=value_method, k=10, policy=value_policy, floor=0.1, fraction=-1.0, seed=seed,
            embedding_cache_dir=""),
        "--train-*": lambda: train_config(
            loss=train_loss, epochs=train_epochs, max_steps=train_max_steps, max_minutes=train_max_minutes,
            max_length=train_max_length, seed=seed),
        "--baselines": lambda: evaluation_config(split="test", baselines=baselines, runtime="torch",
                                                 embedding_cache_dir=""),
        "--min-ndcg / --min-gain-over-champion / --gate-*": lambda: gate_config(
            min_ndcg, min_gain_over_champion, **_gate_fields(gate_rule or {}), seed=seed),
        "--tune-trials / --tune-minutes": lambda: tune_settings(trials=tune_trials, minutes=tune_minutes, seed=seed),
    }
    problems = []
    for option, build in checks.items():
        try:
            build()
        except ShoprankError as exc:
            problems.append(f"{option}: {exc}")
    if train_max_length < 0:
        problems.append(f"--max-length: expected 0 (fitted to the pairs) or a positive number of tokens, got {train_max_length}")
    if champion is not None and not Path(champion).is_dir():
        problems.append(f"--champion: expected a model folder (with hf/ inside) at {champion}, found none")
    if problems:
        raise ConfigError("options refused before the first stage:\n" + "\n".join(f"- {p}" for p in problems))


def _gate_fields(rule: dict) -> dict:
    """train_and_deploy's gate parameters (gate_margin, ...) as GateConfig fields (margin, ...)."""
    return {key.removeprefix("gate_"): value for key, value in rule.items()}
