"""The `evaluate` component: compare the new reranker with baselines and decide its blessing."""
