"""The container image every component runs in on a cluster (built from the repo's Dockerfile).

Set SHOPRANK_IMAGE at compile time to point pipelines at your registry. The setting lives in
core/common/image.py, which the InferenceService and job builders read as well.
"""

from shoprank.core.common.image import DEFAULT_IMAGE, project_image

__all__ = ["BASE_IMAGE", "DEFAULT_IMAGE"]
BASE_IMAGE = project_image()
