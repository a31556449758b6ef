"""Data contracts (the four input tables and the pairs table), building pairs, query-level splits, the sample."""
