"""shoprank: Kubeflow Pipelines components for an e-commerce search reranker."""

__version__ = "0.1.0"
