"""The hardening policy every container shoprank deploys must meet, checked on rendered objects.

Per container (in any kind: pod templates, InferenceService predictors and canaries, RayJob
head/worker/submitter templates, training runtimes): runAsNonRoot, readOnlyRootFilesystem,
allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault (the Kubernetes
Pod Security Standards' "restricted" profile plus a read-only root), cpu and memory requests
and limits, an image pinned to a tag other than `latest` or a digest, and /tmp mounted from an
emptyDir (the image's only writable path). A TrainJob's trainer has no container of its own:
its image and resourcesPerNode are checked; its runtime's containers are checked where the
runtime is rendered. Runtime patches (partial containers merged into the runtime) are skipped.
"""

from __future__ import annotations

from typing import Any, Iterator

from shoprank.core.common.errors import ConfigError
from shoprank.core.common.image import require_pinned_image

_CONTAINER_LISTS = ("containers", "initContainers")


def violations(objects: list[dict]) -> list[str]:
    """Every policy violation as 'Kind/name at path, container C: problem'; empty when all comply."""
    found = []
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        for path, pod in _pod_specs(obj.get("spec", {}), "spec"):
            volumes = {v.get("name"): v for v in pod.get("volumes", []) if isinstance(v, dict)}
            for key in _CONTAINER_LISTS:
                for container in pod.get(key) or []:
                    found += [f"{where} at {path}.{key}, container {container.get('name')!r}: {problem}"
                              for problem in container_problems(container, volumes)]
        if obj.get("kind") == "TrainJob":
            found += [f"{where} at spec.trainer: {problem}" for problem in _trainer_problems(obj["spec"])]
    return found


def container_problems(container: dict, volumes: dict[str, dict]) -> list[str]:
    """The rules a single container breaks (see the module docstring)."""
    ctx = container.get("securityContext") or {}
    problems = []
    if ctx.get("runAsNonRoot") is not True:
        problems.append("securityContext.runAsNonRoot is not true")
    if ctx.get("readOnlyRootFilesystem") is not True:
        problems.append("securityContext.readOnlyRootFilesystem is not true")
    if ctx.get("allowPrivilegeEscalation") is not False:
        problems.append("securityContext.allowPrivilegeEscalation is not false")
    if "ALL" not in ((ctx.get("capabilities") or {}).get("drop") or []):
        problems.append("securityContext.capabilities.drop does not include ALL")
    if (ctx.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append("securityContext.seccompProfile.type is not RuntimeDefault")
    problems += _resource_problems(container.get("resources") or {}, "resources")
    problems += _image_problems(container.get("image"))
    tmp = [m for m in container.get("volumeMounts") or [] if m.get("mountPath") == "/tmp"]
    if not tmp or "emptyDir" not in volumes.get(tmp[0].get("name"), {}):
        problems.append("/tmp is not mounted from an emptyDir volume (the root filesystem is read-only)")
    return problems


def _resource_problems(resources: dict, where: str) -> list[str]:
    return [f"{where}.{kind}.{name} is not set"
            for kind in ("requests", "limits") for name in ("cpu", "memory")
            if (resources.get(kind) or {}).get(name) in (None, "")]


def _image_problems(image: Any) -> list[str]:
    try:
        require_pinned_image(image or "", "image")
    except ConfigError as exc:
        return [str(exc)]
    return []


def _trainer_problems(spec: dict) -> list[str]:
    trainer = spec.get("trainer") or {}
    problems = _resource_problems(trainer.get("resourcesPerNode") or {}, "resourcesPerNode")
    if "image" in trainer:
        problems += _image_problems(trainer["image"])
    return problems


def _pod_specs(node: Any, path: str) -> Iterator[tuple[str, dict]]:
    """Every dict holding a container list, with its path; runtime patches are not descended into."""
    if isinstance(node, dict):
        if any(isinstance(node.get(key), list) for key in _CONTAINER_LISTS):
            yield path, node
        for key, value in node.items():
            if key != "runtimePatches":
                yield from _pod_specs(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _pod_specs(item, f"{path}[{i}]")
