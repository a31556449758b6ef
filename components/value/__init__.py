"""value: per-pair data value and sample weights for training."""
