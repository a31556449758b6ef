"""kfp component `blessing`."""
