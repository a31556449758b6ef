"""The one container image: its reference (one setting for kfp components, the InferenceService
and the Ray/Trainer jobs) and how its containers run (non-root, read-only root filesystem).

The image is built from the repo's Dockerfile in two variants (build argument VARIANT): `cpu`
(tag IMAGE_TAG) and `cuda` (tag IMAGE_TAG + CUDA_SUFFIX). SHOPRANK_IMAGE overrides the CPU
image at compile time (e.g. `registry.example.com/shoprank:0.1.0`); the CUDA variant is the
same reference with the suffix on its tag. Rendered manifests use DEFAULT_IMAGE and are pointed
at a registry with kustomize's `images:` (manifests/README.md).

The Dockerfile creates user and group RUN_AS_USER (10001) and sets HOME and the caches under
/tmp, so with a read-only root filesystem a container needs only an emptyDir at /tmp
(writable_tmp()) and the pod's own volumes. The security context follows the Kubernetes Pod
Security Standards' "restricted" profile.
"""

from __future__ import annotations

import os
import re

from shoprank.core.common.errors import ConfigError

IMAGE_ENV = "SHOPRANK_IMAGE"
IMAGE_REPOSITORY = "ghcr.io/shoprank/shoprank"
IMAGE_TAG = "0.1.0"                     # follows the project version in pyproject.toml
CUDA_SUFFIX = "-cuda"
RUN_AS_USER = 10001                     # the Dockerfile's USER (uid and gid)
DEFAULT_IMAGE = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"
# repository[:tag][@sha256:digest]; the tag is what follows the last ':' after the last '/'.
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def project_image(variant: str = "cpu") -> str:
    """The image reference for `variant` ("cpu" or "cuda"), from SHOPRANK_IMAGE or DEFAULT_IMAGE.

    Raises ConfigError for another variant, or for a CUDA variant of an image pinned by digest
    (a digest names one build; pass the CUDA image itself then).
    """
    image = os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE
    if variant == "cpu":
        return image
    if variant != "cuda":
        raise ConfigError(f"image variant: expected 'cpu' or 'cuda', got {variant!r}")
    if _DIGEST.search(image):
        raise ConfigError(f"{IMAGE_ENV}={image!r} is pinned by digest; a CUDA variant needs its own reference")
    return image + CUDA_SUFFIX if image_tag(image) else f"{image}:{IMAGE_TAG}{CUDA_SUFFIX}"


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when it has none), e.g. 'reg:5000/a/b:1.2' -> '1.2'."""
    name = _DIGEST.sub("", image)
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def require_pinned_image(image: str, what: str = "image") -> str:
    """Return `image` if it names a fixed build: a tag other than 'latest', or a sha256 digest.

    Raises ConfigError otherwise: a floating tag makes a rollout or a rollback run whatever
    was pushed last.
    """
    if not image or any(c.isspace() for c in image):
        raise ConfigError(f"{what}: expected an image reference such as {DEFAULT_IMAGE!r}, got {image!r}")
    if _DIGEST.search(image):
        return image
    tag = image_tag(image)
    if tag is None or tag == "latest":
        raise ConfigError(f"{what}: expected a pinned tag (not 'latest') or a @sha256 digest, got {image!r}")
    return image


def container_security_context() -> dict:
    """A container securityContext meeting the restricted Pod Security Standard, read-only root."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def writable_tmp(size: str = "2Gi") -> dict:
    """The emptyDir volume `tmp` that a container with a read-only root mounts at /tmp."""
    return {"name": "tmp", "emptyDir": {"sizeLimit": size}}
