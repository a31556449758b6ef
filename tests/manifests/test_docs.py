"""docs/deploy-on-a-cluster.md: every offline block runs as written, and everything else needs a cluster.

Blocks preceded by `<!-- offline -->` run in order with bash in a scratch folder that sees the
repo's manifests/ and Dockerfile, with the environment's `shoprank`, `kubectl` and `hadolint`.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy-on-a-cluster.md"
_BLOCK = re.compile(r"(<!-- offline -->\s*\n)?```bash\n(.*?)```", re.S)
# Commands that need a cluster, a registry or a Docker engine; nothing else may stay untested.
_CLUSTER_ONLY = re.compile(r"^(docker (build|push)|kubectl (apply|wait|get|annotate|patch|create|-n)|shoprank submit)\b")
REGISTRY = "registry.example.com/shop/shoprank"


def _blocks():
    return [(bool(m.group(1)), m.group(2)) for m in _BLOCK.finditer(DOC.read_text())]


def _commands(script):
    """The command lines of a script: no heredoc bodies, continuation lines or comments."""
    lines, heredoc = [], None
    for line in script.splitlines():
        if heredoc:
            heredoc = None if line.strip() == heredoc else heredoc
            continue
        if line and not line[0].isspace() and line[0] not in "#{]":
            lines.append(line)
        match = re.search(r"<<'?(\w+)'?", line)
        if match:
            heredoc = match.group(1)
    return lines


def test_every_block_is_offline_or_needs_a_cluster():
    blocks = _blocks()
    assert sum(offline for offline, _ in blocks) >= 4
    for offline, script in blocks:
        if not offline:
            for command in _commands(script):
                assert _CLUSTER_ONLY.match(command), f"runnable offline, so mark its block <!-- offline -->: {command}"


def test_offline_blocks_run_and_produce_what_the_doc_says(tmp_path, crd_folder):
    for name in ("manifests", "Dockerfile"):
        (tmp_path / name).symlink_to(ROOT / name)
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "SHOPRANK_CRD_DIR": str(crd_folder)}
    # `shoprank` is the console script; run it from this interpreter so it is this checkout's code.
    prelude = f'set -euo pipefail\nshoprank() {{ "{sys.executable}" -m shoprank.pipelines.cli "$@"; }}\n'
    for offline, script in _blocks():
        if offline:
            done = subprocess.run(["bash", "-c", prelude + script], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"

    assert [d["kind"] for d in _load(tmp_path / "cluster.yaml")] == ["ClusterTrainingRuntime"]
    assert any(d["kind"] == "PodDisruptionBudget" for d in _load(tmp_path / "prod.yaml"))
    team = _load(tmp_path / "team-a.yaml")
    assert {d["metadata"]["namespace"] for d in team} == {"team-a"}
    (isvc,) = [d for d in team if d["kind"] == "InferenceService"]
    container = isvc["spec"]["predictor"]["containers"][0]
    assert container["image"] == f"{REGISTRY}:0.1.0"
    assert container["env"][0] == {"name": "STORAGE_URI", "value": "s3://acme-models/shoprank/champion"}
    pipeline = yaml.safe_load((tmp_path / "train_and_deploy.yaml").read_text())
    images = {e["container"]["image"] for e in pipeline["deploymentSpec"]["executors"].values() if "container" in e}
    assert images == {f"{REGISTRY}:0.1.0"}


def _load(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]
