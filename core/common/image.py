"""How the project image runs on a cluster: a pinned reference, a non-root user, a read-only root.

The image reference itself is one setting in components/images.py (SHOPRANK_IMAGE); the
builders take it as an argument. The Dockerfile creates user and group RUN_AS_USER (10001) and
sets HOME and the caches under /tmp, so with a read-only root filesystem a container needs only
an emptyDir at /tmp (writable_tmp()) and the pod's own volumes. The security context follows
the Kubernetes Pod Security Standards' "restricted" profile.
"""

from __future__ import annotations

import re

from shoprank.core.common.errors import ConfigError

RUN_AS_USER = 10001                     # the Dockerfile's USER (uid and gid)
# repository[:tag][@sha256:digest]; the tag is what follows the last ':' after the last '/'.
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


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
        raise ConfigError(f"{what}: expected an image reference such as 'registry.example/shoprank:0.1.0', "
                          f"got {image!r}")
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
