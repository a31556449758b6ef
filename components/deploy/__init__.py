"""kfp component `deploy_model`."""
