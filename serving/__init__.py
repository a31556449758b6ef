"""Serving: the KServe predictor, server entry, manifest builders and the one module that talks to a cluster."""
