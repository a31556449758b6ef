"""The built-in sample shop from a seed: the generator and its parts (catalogue, queries, judgments, clicks), the vocabulary."""
