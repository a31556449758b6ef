"""The live model between local runs: after a canary promotes (or a first model deploys), its
folder is recorded in OUT/champion.json, and the next `shoprank run` into the same OUT uses it as
the champion (the evaluation's comparison and the canary's stable version) unless --champion
names one."""

from __future__ import annotations

import json
from pathlib import Path

CHAMPION_FILE = "champion.json"


def previous_champion(out: Path) -> Path | None:
    """The model folder the last run left live in out, if it still exists."""
    path = Path(out) / CHAMPION_FILE
    if not path.exists():
        return None
    model_dir = Path(json.loads(path.read_text()).get("model_dir") or "")
    return model_dir if model_dir.is_dir() else None


def canary_outcome(stages: dict) -> dict | None:
    """The canary stage's verdict, reason and live model, read from the collected stage outputs."""
    for stage in stages.values():
        canary = stage.get("metadata", {}).get("canary")
        if canary and "verdict" in canary:
            return {k: canary.get(k) for k in ("verdict", "reason", "live_model_dir", "live_revision")}
    return None


def record_champion(out: Path, outcome: dict | None) -> Path | None:
    """Write out/champion.json for the live model after a canary; returns the live folder."""
    if not outcome or not outcome.get("live_model_dir"):
        return None
    (Path(out) / CHAMPION_FILE).write_text(json.dumps({"model_dir": outcome["live_model_dir"],
                                                       "revision": outcome.get("live_revision")}, indent=2))
    return Path(outcome["live_model_dir"])
