"""Hyperparameter search with Ray Tune: the search space, the trainable, the search and its report."""
