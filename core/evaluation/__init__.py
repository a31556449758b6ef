"""Ranking metrics, the comparison of rankers on held-out queries, the blessing gate, the evaluation page."""
