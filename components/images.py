"""The container image every component runs in on a cluster (built from the repo's Dockerfile).

Set SHOPRANK_IMAGE at compile time to point pipelines at your registry.
"""

import os

DEFAULT_IMAGE = "ghcr.io/shoprank/shoprank:0.1.0"
BASE_IMAGE = os.environ.get("SHOPRANK_IMAGE", DEFAULT_IMAGE)
