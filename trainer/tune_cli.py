"""Command line of the tune stage, for a KubeRay RayJob (and plain runs):

    python -m shoprank.trainer.tune_cli --pairs valued.parquet --out /mnt/shoprank/tune \\
        --config-json '{"settings": {"trials": 32, "minutes": 60, "gpus_per_trial": 0.5},
                        "base": {"epochs": 3}, "space": {...}}' [--ray-address auto]

--config-json keys, all optional: "settings" (TuneSettings fields), "base" (TrainConfig fields
under every trial: the train stage's own config) and "space" (the search space;
core/tuning/space.py; default DEFAULT_SPACE). Inside a RayJob, RAY_ADDRESS points at the
cluster; --ray-address wins over it. Without either, Ray starts on this machine. An address
where no Ray answers fails in seconds, naming it (core/tuning/address.py).

"settings": {"trials": 0} turns tuning off, as trials=0 does in the tune component: no Ray, no
trials; best_config.json is {} (the train stage keeps its own config), tuned_pairs.parquet is the
pairs as valued and metrics are {"trials_run": 0}.

Errors: a bad config, pairs file, space or address prints one line naming the field or file and
what was expected (exit 2); any other error prints its type and message (exit 1). --verbose logs
at DEBUG and prints the traceback too.

Writes to --out: best_config.json (TrainConfig overrides, for the train stage's overrides_json
or `trainer.cli --config-json`), tuned_pairs.parquet, report.html, metrics.json and search/
(Ray Tune's results, search.json). On a multi-node cluster --out must be storage every node
reaches (a shared volume), or pass --search-dir s3://bucket/prefix. Running the same command
again resumes the search. The last line printed is the metrics as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from shoprank.core.common.errors import ConfigError, ShoprankError

CONFIG_KEYS = ("settings", "base", "space")
log = logging.getLogger("shoprank.trainer.tune_cli")


def parse_config(text: str) -> dict:
    """The --config-json object, checked by check_config."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--config-json: expected a JSON object, got {text[:80]!r}: {err}") from None
    return check_config(config)


def check_config(config) -> dict:
    """The config as it is, once its keys, settings, base config and space are all valid.

    Raises ConfigError naming the key or field (so a RayJob builder refuses what the job would).
    """
    from shoprank.core.tuning.settings import TuneSettings
    from shoprank.core.tuning.space import DEFAULT_SPACE, SearchSpace

    if not isinstance(config, dict):
        raise ConfigError(f"--config-json: expected a JSON object, got {type(config).__name__}")
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"--config-json: unknown keys {unknown}; expected some of {list(CONFIG_KEYS)}")
    settings = config.get("settings", {})
    known = set(TuneSettings.__dataclass_fields__)
    if not isinstance(settings, dict):
        raise ConfigError(f"--config-json settings: expected an object of TuneSettings fields, got {settings!r}")
    if set(settings) - known:
        raise ConfigError(f"--config-json settings: unknown fields {sorted(set(settings) - known)}; "
                          f"known: {sorted(known)}")
    if isinstance(settings.get("trials"), int) and not isinstance(settings["trials"], bool) and settings["trials"] < 1:
        if settings["trials"] < 0:
            raise ConfigError(f"--config-json settings: trials must be 0 (tuning off) or >= 1, got {settings['trials']}")
        settings = {**settings, "trials": 1}  # off; the other settings must still be valid
    TuneSettings(**settings)
    base = base_config(config.get("base", {}))
    SearchSpace.from_dict(config.get("space", DEFAULT_SPACE), base)
    return config


def base_config(values):
    """The TrainConfig of --config-json "base"; ConfigError "--config-json base: <field> ..." naming
    a field of the wrong kind (e.g. {"lr": "x"}), an unknown field or a value TrainConfig refuses."""
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.tuning.settings import check_value_types

    if not isinstance(values, dict):
        raise ConfigError(f"--config-json base: expected an object of TrainConfig fields, got {values!r}")
    check_value_types(TrainConfig, values, "--config-json base: ")
    try:
        return TrainConfig.from_dict(values)
    except ConfigError as err:
        raise ConfigError(f"--config-json base: {err}") from None


def tuning_off(config: dict) -> bool:
    """Whether the (checked) config turns tuning off: settings.trials 0."""
    return config.get("settings", {}).get("trials") == 0


def build_parser() -> argparse.ArgumentParser:
    """The command line (a RayJob's entrypoint passes the same arguments)."""
    parser = argparse.ArgumentParser(prog="shoprank.trainer.tune_cli", description="Hyperparameter search with Ray Tune.")
    parser.add_argument("--pairs", required=True, help="valued pairs Parquet (the value stage's output)")
    parser.add_argument("--out", required=True, help="folder for best_config.json, tuned_pairs.parquet, report.html")
    parser.add_argument("--config-json", default="{}", help='{"settings": {...}, "base": {...}, "space": {...}}')
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else local)")
    parser.add_argument("--search-dir", default=None, help="Tune's state (default OUT/search; may be s3://...)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG; print an error's traceback too")
    return parser


def main(argv: list[str] | None = None) -> dict:
    """Run the search as the arguments say; returns (and prints, as the last line) the metrics.

    Exits 2 on a typed error (ShoprankError: bad config, pairs, space, address, all trials failed)
    and 1 on any other, after logging one line (and the traceback with --verbose).
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        metrics = _run(args)
    except Exception as err:  # noqa: BLE001 - every error ends as one line (and a traceback with --verbose)
        typed = isinstance(err, ShoprankError)
        hint = "" if typed or args.verbose else " (run with --verbose to see the traceback)"
        log.error("%s: %s%s", type(err).__name__, err, hint, exc_info=err if args.verbose else None)
        raise SystemExit(2 if typed else 1) from None
    print(json.dumps(metrics, sort_keys=True))
    return metrics


def _run(args) -> dict:
    from shoprank.core.stages.tune import run_tune_stage
    from shoprank.core.tuning.settings import TuneSettings

    config = parse_config(args.config_json)
    settings = dict(config.get("settings", {}))
    if args.ray_address:
        settings["ray_address"] = args.ray_address
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if tuning_off(config):
        log.info("tune_cli: tuning is off (trials 0): best_config.json is {} and tuned_pairs.parquet the pairs as "
                 "valued; no Ray is started")
    metrics = run_tune_stage(
        args.pairs, out / "best_config.json", out / "tuned_pairs.parquet", out / "report.html",
        args.search_dir or out / "search", settings=None if tuning_off(config) else TuneSettings(**settings),
        space_json=json.dumps(config["space"]) if "space" in config else "",
        base=base_config(config.get("base", {})))
    (out / "metrics.json").write_text(json.dumps(metrics, sort_keys=True))
    return metrics


if __name__ == "__main__":
    sys.exit(main() and 0)
