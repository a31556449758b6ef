"""train: fine-tune, export and fingerprint the cross-encoder reranker."""
