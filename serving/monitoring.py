"""Build the prometheus-operator objects that watch the predictor: a PodMonitor for its /metrics
and a PrometheusRule whose alerts are the canary's SLOs and the drift verdict. Pure functions.

The metric names below are the contract between the model server, the drift stage and these
alerts:
- REQUESTS_TOTAL (counter, label `code`: the HTTP status): every request to a model route;
- REQUEST_DURATION (histogram, seconds): the whole request, from arrival to response;
- DRIFT_DETECTED (gauge, 1 = drifted, 0 = not; label `model_name`): the last drift verdict,
  published by the drift stage (e.g. through a Prometheus Pushgateway).
The PodMonitor adds the labels `inferenceservice` and, in Serverless mode, `revision` (the
Knative revision, so a canary's series stay apart from the stable one's).

The SLOs follow Flagger's defaults for a canary analysis: a request success rate (non-5xx
share) of at least 99% and a p99 latency bound (500 ms by default), each over a 5-minute
window and alerting after it has been broken for 5 minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shoprank.core.common.errors import ConfigError
from shoprank.serving.inference_service import HTTP_PORT, ISVC_LABEL, METRICS_PATH

API_VERSION = "monitoring.coreos.com/v1"
REQUESTS_TOTAL = "shoprank_requests_total"
REQUEST_DURATION = "shoprank_request_duration_seconds"
DRIFT_DETECTED = "shoprank_drift_detected"
_GROUP_BY = "namespace, inferenceservice, revision"
_DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"


@dataclass(frozen=True)
class AlertPolicy:
    """The serving SLOs the alerts (and the canary's rollback rule) enforce.

    min_success_rate: lowest acceptable share of non-5xx responses (0..1).
    p99_latency_seconds: highest acceptable 99th-percentile request latency.
    window: the rate window of both SLOs; hold: how long a breach lasts before it alerts
    (both Prometheus durations such as "5m").
    """

    min_success_rate: float = 0.99
    p99_latency_seconds: float = 0.5
    window: str = "5m"
    hold: str = "5m"

    def __post_init__(self):
        if not 0 < self.min_success_rate <= 1:
            raise ConfigError(f"min_success_rate: expected a share in (0, 1], got {self.min_success_rate!r}")
        if not self.p99_latency_seconds > 0:
            raise ConfigError(f"p99_latency_seconds: expected > 0, got {self.p99_latency_seconds!r}")
        for name in ("window", "hold"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value and value != "0" and re.match(_DURATION, value)):
                raise ConfigError(f"{name}: expected a Prometheus duration such as '5m', got {value!r}")


def build_pod_monitor(isvc: str, namespace: str | None = None, interval: str = "30s") -> dict:
    """A PodMonitor scraping /metrics on the model server's port of every pod of InferenceService `isvc`."""
    relabel = [
        {"sourceLabels": [f"__meta_kubernetes_pod_label_{_label_key(ISVC_LABEL)}"], "targetLabel": "inferenceservice"},
        {"sourceLabels": ["__meta_kubernetes_pod_label_serving_knative_dev_revision"], "targetLabel": "revision"},
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "PodMonitor",
        "metadata": _metadata(f"{isvc}-predictor", namespace),
        "spec": {
            "selector": {"matchLabels": {ISVC_LABEL: isvc}},
            "podMetricsEndpoints": [{"portNumber": HTTP_PORT, "path": METRICS_PATH, "interval": interval,
                                     "relabelings": relabel}],
        },
    }


def build_prometheus_rule(isvc: str, model_name: str = "shoprank", policy: AlertPolicy = AlertPolicy(),
                          namespace: str | None = None) -> dict:
    """A PrometheusRule with the predictor's SLO alerts and the drift alert (see the module docstring)."""
    sel = f'inferenceservice="{isvc}"'
    w = policy.window
    success = (f'sum by ({_GROUP_BY}) (rate({REQUESTS_TOTAL}{{{sel},code!~"5.."}}[{w}])) '
               f"/ sum by ({_GROUP_BY}) (rate({REQUESTS_TOTAL}{{{sel}}}[{w}])) "
               f"< {policy.min_success_rate:g}")
    p99 = (f"histogram_quantile(0.99, sum by (le, {_GROUP_BY}) (rate({REQUEST_DURATION}_bucket{{{sel}}}[{w}]))) "
           f"> {policy.p99_latency_seconds:g}")
    rules: list[dict[str, Any]] = [
        _alert("ShoprankSuccessRateLow", success, policy.hold, "critical",
               f"{{{{ $labels.inferenceservice }}}} {{{{ $labels.revision }}}}: success rate {{{{ $value | humanizePercentage }}}} "
               f"< {policy.min_success_rate:.0%} over {w}",
               "The canary rolls back on this breach; a stable revision breaching it needs a look at its logs."),
        _alert("ShoprankLatencyP99High", p99, policy.hold, "critical",
               f"{{{{ $labels.inferenceservice }}}} {{{{ $labels.revision }}}}: p99 latency {{{{ $value | humanizeDuration }}}} "
               f"> {policy.p99_latency_seconds:g}s over {w}",
               "The canary rolls back on this breach; check replica count, CPU throttling and candidate counts."),
        _alert("ShoprankPredictorDown", f'sum by (namespace, inferenceservice) (up{{{sel}}}) == 0', policy.hold,
               "critical", "{{ $labels.inferenceservice }}: no predictor pod answers its metrics scrape",
               "Check the InferenceService's Ready condition and its pods."),
        _alert("ShoprankDriftDetected", f'max by (model_name) ({DRIFT_DETECTED}{{model_name="{model_name}"}}) > 0',
               "0m", "warning", "{{ $labels.model_name }}: the last drift check found the live traffic drifted",
               "Read the drift report of the last monitor_and_retrain run; it triggers retraining."),
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": _metadata(f"{isvc}-slo", namespace),
        "spec": {"groups": [{"name": f"{isvc}.slo", "rules": rules}]},
    }


def _alert(name: str, expr: str, hold: str, severity: str, summary: str, action: str) -> dict:
    return {"alert": name, "expr": expr, "for": hold, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": action}}


def _metadata(name: str, namespace: str | None) -> dict:
    metadata: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": "shoprank",
                                                        "app.kubernetes.io/component": "monitoring"}}
    if namespace:
        metadata["namespace"] = namespace
    return metadata


def _label_key(label: str) -> str:
    """A pod label as Prometheus service discovery spells it (every non-alphanumeric -> '_')."""
    return "".join(c if c.isalnum() else "_" for c in label)
