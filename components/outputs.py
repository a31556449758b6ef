"""Writing component outputs the way Kubeflow Pipelines can carry them.

- log_metrics: a kfp Metrics artifact holds numbers in a protobuf Struct, which cannot hold NaN
  or infinity: kfp.local fails *after* the task reports SUCCESS ("Fail to serialize NaN for
  Value.number_value"), and a cluster run fails the same way. Finite numbers and text (a method's
  name) are logged; anything else (NaN, inf, None) is left out and named in a warning (the stage's
  metrics explain why: e.g. a metric no query defines comes with the query counts that left it out).
- html_path: kfp names an output file after its output parameter (`.../report`), so a browser
  or file manager does not know it is a page. The artifact's URI gets the `.html` suffix before
  the file is written; the executor records that URI (kfp.dsl.executor writes artifact.uri into
  the executor output) and the KFP launcher uploads from it (it merges the executor output's URI
  into the output artifact), so locally and on a cluster the page is `<output name>.html`.
"""

from __future__ import annotations

import logging
import math
import numbers

log = logging.getLogger(__name__)

HTML_SUFFIX = ".html"


def log_metrics(metrics, values: dict) -> dict:
    """Log each finite number (and text) of `values` on the kfp Metrics artifact; returns what was left out."""
    left_out = {}
    for name, value in values.items():
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, str) or (isinstance(value, numbers.Real) and math.isfinite(value)):
            metrics.log_metric(name, value)
        else:
            left_out[name] = value
    if left_out:
        log.warning("metrics: left out %d value(s) that are not finite numbers (a kfp metric cannot hold them): %s",
                    len(left_out), ", ".join(f"{k}={v!r}" for k, v in sorted(left_out.items())))
    return left_out


def html_path(artifact) -> str:
    """The local path to write an Output[HTML] page to, ending in .html (see the module doc)."""
    if not artifact.uri.endswith(HTML_SUFFIX):
        artifact.uri = artifact.uri + HTML_SUFFIX
    return artifact.path
