"""Thin kfp v2 components: one folder each; bodies import shoprank and call one core function."""
