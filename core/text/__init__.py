"""What a ranker reads: product text, the pair format, and the query features added to it."""
