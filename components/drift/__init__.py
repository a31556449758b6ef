"""kfp component `detect_drift`: Evidently drift reports and the `drifted` flag."""
