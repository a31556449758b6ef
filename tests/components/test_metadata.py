"""Every component folder carries a metadata.yaml as kubeflow/pipelines-components has them:
name, stability, dependencies (Kubeflow Pipelines with a minimum version), lastVerified in that
order, optional tags, ci and links."""

from __future__ import annotations

import ast
import datetime
import re
from pathlib import Path

import pytest
import yaml

COMPONENTS = Path(__file__).resolve().parents[2] / "components"
REQUIRED = ["name", "stability", "dependencies", "lastVerified"]
OPTIONAL = {"tags", "ci", "links"}
STABILITY = ("experimental", "alpha", "beta", "stable")
VERSION = re.compile(r"^(>=|<=|==)?(\d+)\.(\d+)\.(\d+)$")


def component_folders() -> list[Path]:
    return sorted(p.parent for p in COMPONENTS.glob("*/component.py"))


def component_name(folder: Path) -> str:
    """The name of the function decorated with @dsl.component in the folder's component.py."""
    tree = ast.parse((folder / "component.py").read_text())
    names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
             and any("component" in ast.unparse(d) for d in node.decorator_list)]
    assert len(names) == 1, names
    return names[0]


def metadata_problems(metadata, name: str) -> list[str]:
    """What is wrong with one metadata.yaml (empty when it is valid)."""
    if not isinstance(metadata, dict):
        return [f"expected a mapping, got {type(metadata).__name__}"]
    problems = []
    keys = [k for k in metadata if k not in OPTIONAL]
    if keys != REQUIRED:
        problems.append(f"expected the fields {REQUIRED} in this order (and optional {sorted(OPTIONAL)}), got {list(metadata)}")
    if metadata.get("name") != name:
        problems.append(f"name: expected {name!r}, got {metadata.get('name')!r}")
    if metadata.get("stability") not in STABILITY:
        problems.append(f"stability: expected one of {STABILITY}, got {metadata.get('stability')!r}")
    dependencies = metadata.get("dependencies")
    kubeflow = dependencies.get("kubeflow") if isinstance(dependencies, dict) else None
    pipelines = [d for d in kubeflow or [] if isinstance(d, dict) and d.get("name") == "Pipelines"]
    if not pipelines:
        problems.append(f"dependencies.kubeflow: expected an entry named Pipelines, got {kubeflow!r}")
    for dependency in (kubeflow or []) + list((dependencies or {}).get("external_services") or []):
        if not VERSION.match(str(dependency.get("version", ""))):
            problems.append(f"dependency {dependency!r}: expected a version like '>=2.17.0'")
    if not isinstance(metadata.get("lastVerified"), datetime.datetime):
        problems.append(f"lastVerified: expected an RFC 3339 time like 2026-11-30T00:00:00Z, got {metadata.get('lastVerified')!r}")
    tags = metadata.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(f"tags: expected a list of strings, got {tags!r}")
    return problems


def test_there_are_components():
    assert len(component_folders()) >= 6


@pytest.mark.parametrize("folder", component_folders(), ids=lambda p: p.name)
def test_each_component_folder_has_valid_metadata(folder):
    assert (folder / "metadata.yaml").is_file(), f"{folder.name}: no metadata.yaml"
    metadata = yaml.safe_load((folder / "metadata.yaml").read_text())
    assert metadata_problems(metadata, component_name(folder)) == []
    assert (folder / "README.md").is_file()


def test_the_minimum_kfp_version_is_the_one_installed_and_pinned():
    from importlib.metadata import version

    for folder in component_folders():
        metadata = yaml.safe_load((folder / "metadata.yaml").read_text())
        spec = next(d["version"] for d in metadata["dependencies"]["kubeflow"] if d["name"] == "Pipelines")
        minimum = tuple(int(x) for x in VERSION.match(spec).groups()[1:])
        installed = tuple(int(x) for x in version("kfp").split(".")[:3])
        assert minimum <= installed, (folder.name, spec, installed)


VALID = {"name": "train_reranker", "stability": "alpha",
         "dependencies": {"kubeflow": [{"name": "Pipelines", "version": ">=2.17.0"}]},
         "lastVerified": datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc), "tags": ["training"]}


@pytest.mark.parametrize("change, problem", [
    (lambda m: {k: v for k, v in m.items() if k != "stability"}, "expected the fields"),
    (lambda m: {"stability": m["stability"], **m}, "in this order"),
    (lambda m: {**m, "name": "train"}, "name: expected 'train_reranker'"),
    (lambda m: {**m, "stability": "production"}, "stability: expected one of"),
    (lambda m: {**m, "dependencies": {"kubeflow": [{"name": "Trainer", "version": "2.0.0"}]}}, "entry named Pipelines"),
    (lambda m: {**m, "dependencies": {"kubeflow": [{"name": "Pipelines", "version": "latest"}]}}, "a version like"),
    (lambda m: {**m, "lastVerified": "yesterday"}, "lastVerified: expected an RFC 3339 time"),
    (lambda m: {**m, "tags": "training"}, "tags: expected a list of strings"),
])
def test_the_check_finds_each_kind_of_problem(change, problem):
    assert metadata_problems(VALID, "train_reranker") == []
    problems = metadata_problems(change(VALID), "train_reranker")
    assert any(problem in p for p in problems), problems
