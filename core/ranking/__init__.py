"""Rankers that score (query, product) pairs: the trained reranker's runtimes, the encoder, BM25, baselines."""
