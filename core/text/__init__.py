"""What a ranker reads: product text, the pair format, and the query features (per-locale words) added to it."""
