"""Compare compiled pipeline YAML with a golden file, ignoring keys that change between runs."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

VOLATILE_KEYS = {"sdkVersion"}
IMAGE_PLACEHOLDER = "<shoprank-image>"
UPDATE_ENV = "SHOPRANK_UPDATE_GOLDEN"


def normalise(node, image: str):
    """Drop volatile keys and replace the configured image, recursively."""
    if isinstance(node, dict):
        return {k: normalise(v, image) for k, v in node.items() if k not in VOLATILE_KEYS}
    if isinstance(node, list):
        return [normalise(v, image) for v in node]
    if node == image:
        return IMAGE_PLACEHOLDER
    return node


def assert_matches_golden(compiled: Path, golden: Path, image: str) -> None:
    actual = normalise(yaml.safe_load(compiled.read_text()), image)
    if os.environ.get(UPDATE_ENV) == "1" or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(yaml.safe_dump(actual, sort_keys=True))
        if os.environ.get(UPDATE_ENV) != "1":
            raise AssertionError(f"golden file {golden} was missing and has been written; review and commit it")
    expected = yaml.safe_load(golden.read_text())
    assert actual == expected, (
        f"compiled pipeline differs from {golden.name}; if the change is intended, rerun with {UPDATE_ENV}=1"
    )
