"""Command line of the tune stage, for a KubeRay RayJob (and plain runs):

    python -m shoprank.trainer.tune_cli --pairs valued.parquet --out /mnt/shoprank/tune \\
        --config-json '{"settings": {"trials": 32, "minutes": 60, "gpus_per_trial": 0.5},
                        "base": {"epochs": 3}, "space": {...}}' [--ray-address auto]

--config-json keys, all optional: "settings" (TuneSettings fields), "base" (TrainConfig fields
under every trial: the train stage's own config) and "space" (the search space;
core/tuning/space.py; default DEFAULT_SPACE). Inside a RayJob, RAY_ADDRESS points at the
cluster; --ray-address wins over it. Without either, Ray starts on this machine.

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
    from shoprank.core.training.config import TrainConfig
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
    TuneSettings(**settings)
    base = TrainConfig.from_dict(config.get("base", {}))
    SearchSpace.from_dict(config.get("space", DEFAULT_SPACE), base)
    return config


def build_parser() -> argparse.ArgumentParser:
    """The command line (a RayJob's entrypoint passes the same arguments)."""
    parser = argparse.ArgumentParser(prog="shoprank.trainer.tune_cli", description="Hyperparameter search with Ray Tune.")
    parser.add_argument("--pairs", required=True, help="valued pairs Parquet (the value stage's output)")
    parser.add_argument("--out", required=True, help="folder for best_config.json, tuned_pairs.parquet, report.html")
    parser.add_argument("--config-json", default="{}", help='{"settings": {...}, "base": {...}, "space": {...}}')
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else local)")
    parser.add_argument("--search-dir", default=None, help="Tune's state (default OUT/search; may be s3://...)")
    return parser


def main(argv: list[str] | None = None) -> dict:
    """Run the search as the arguments say; returns (and prints, as the last line) the metrics."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from shoprank.core.stages.tune import run_tune_stage
    from shoprank.core.training.config import TrainConfig
    from shoprank.core.tuning.settings import TuneSettings

    try:
        config = parse_config(args.config_json)
        settings = dict(config.get("settings", {}))
        if args.ray_address:
            settings["ray_address"] = args.ray_address
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        metrics = run_tune_stage(
            args.pairs, out / "best_config.json", out / "tuned_pairs.parquet", out / "report.html",
            args.search_dir or out / "search", settings=TuneSettings(**settings),
            space_json=json.dumps(config["space"]) if "space" in config else "",
            base=TrainConfig.from_dict(config.get("base", {})))
    except ShoprankError as err:
        logging.getLogger("shoprank.trainer.tune_cli").error("%s: %s", type(err).__name__, err)
        raise SystemExit(2) from None
    (out / "metrics.json").write_text(json.dumps(metrics, sort_keys=True))
    print(json.dumps(metrics, sort_keys=True))
    return metrics


if __name__ == "__main__":
    sys.exit(main() and 0)
