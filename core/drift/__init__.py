"""Drift monitoring: signals from interactions and the request log, Evidently reports, the verdict and the on-call page."""
