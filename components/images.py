"""The container image every shoprank container runs on a cluster (built from the repo's Dockerfile): one setting.

kfp components run it as their base_image; the deploy stage and the rendered manifests
(pipelines/manifests_sources.py) pass the same reference to the InferenceService, RayJob and
TrainJob builders. Set SHOPRANK_IMAGE at compile time to point everything at your registry.
The Dockerfile builds two variants (build argument VARIANT): `cpu`, tagged IMAGE_TAG, and
`cuda`, the same tag with CUDA_SUFFIX. Only the standard library at module level: compiling a
pipeline loads no core module.
"""

import os

IMAGE_ENV = "SHOPRANK_IMAGE"
IMAGE_REPOSITORY = "ghcr.io/shoprank/shoprank"
IMAGE_TAG = "0.1.0"                     # follows the project version in pyproject.toml
CUDA_SUFFIX = "-cuda"
DEFAULT_IMAGE = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"


def project_image(variant: str = "cpu") -> str:
    """The image reference for `variant` ("cpu" or "cuda"), from SHOPRANK_IMAGE or DEFAULT_IMAGE.

    The CUDA variant is the CPU reference with CUDA_SUFFIX on its tag. Raises ConfigError for
    another variant, or for a CUDA variant of an image pinned by digest (a digest names one
    build: pass the CUDA image itself then).
    """
    from shoprank.core.common.errors import ConfigError
    from shoprank.core.common.image import image_tag

    image = os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE
    if variant == "cpu":
        return image
    if variant != "cuda":
        raise ConfigError(f"image variant: expected 'cpu' or 'cuda', got {variant!r}")
    if "@" in image:
        raise ConfigError(f"{IMAGE_ENV}={image!r} is pinned by digest; a CUDA variant needs its own reference")
    return image + CUDA_SUFFIX if image_tag(image) else f"{image}:{IMAGE_TAG}{CUDA_SUFFIX}"


BASE_IMAGE = os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE
