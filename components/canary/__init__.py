"""kfp component `canary_rollout`."""
