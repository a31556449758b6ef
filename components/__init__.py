"""Thin kfp v2 components: one folder each (component.py, metadata.yaml, README); params.py adapts kfp parameters."""
