"""Fine-tuning the cross-encoder: config, batches, losses, schedule, distributed helpers, checkpoints, export."""
