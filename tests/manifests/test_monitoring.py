"""PodMonitor and PrometheusRule: valid prometheus-operator objects whose alerts are valid PromQL."""

import copy

import promql_parser
import pytest

from shoprank.core.common.errors import ConfigError
from shoprank.serving.monitoring import (DRIFT_DETECTED, REQUEST_DURATION, REQUESTS_TOTAL, AlertPolicy,
                                         build_pod_monitor, build_prometheus_rule)


def _rules(rule):
    (group,) = rule["spec"]["groups"]
    return {r["alert"]: r for r in group["rules"]}


def test_pod_monitor_scrapes_the_predictor_pods(crd_validator):
    monitor = build_pod_monitor("reranker", namespace="shop")
    crd_validator("PodMonitor").validate(monitor)
    assert monitor["spec"]["selector"] == {"matchLabels": {"serving.kserve.io/inferenceservice": "reranker"}}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["portNumber"] == 8080 and endpoint["path"] == "/metrics"
    targets = {r["targetLabel"]: r["sourceLabels"][0] for r in endpoint["relabelings"]}
    assert targets["inferenceservice"] == "__meta_kubernetes_pod_label_serving_kserve_io_inferenceservice"


def test_alerts_are_valid_promql_with_the_canary_slos(crd_validator):
    rule = build_prometheus_rule("reranker", policy=AlertPolicy(min_success_rate=0.995, p99_latency_seconds=0.25))
    crd_validator("PrometheusRule").validate(rule)
    rules = _rules(rule)
    assert set(rules) == {"ShoprankSuccessRateLow", "ShoprankLatencyP99High", "ShoprankPredictorDown",
                          "ShoprankDriftDetected"}
    for alert in rules.values():
        promql_parser.parse(alert["expr"])            # raises ValueError on a syntax error
    success = rules["ShoprankSuccessRateLow"]["expr"]
    assert REQUESTS_TOTAL in success and 'code!~"5.."' in success and success.rstrip().endswith("< 0.995")
    latency = rules["ShoprankLatencyP99High"]["expr"]
    assert f"{REQUEST_DURATION}_bucket" in latency and "histogram_quantile(0.99" in latency
    assert latency.rstrip().endswith("> 0.25")
    assert DRIFT_DETECTED in rules["ShoprankDriftDetected"]["expr"]
    assert all('inferenceservice="reranker"' in rules[a]["expr"] for a in ("ShoprankSuccessRateLow",
                                                                           "ShoprankLatencyP99High"))


def test_default_policy_is_flaggers():
    policy = AlertPolicy()
    assert (policy.min_success_rate, policy.p99_latency_seconds, policy.window) == (0.99, 0.5, "5m")


@pytest.mark.parametrize("kwargs, message", [
    (dict(min_success_rate=1.5), "min_success_rate"),
    (dict(min_success_rate=0), "min_success_rate"),
    (dict(p99_latency_seconds=0), "p99_latency_seconds"),
    (dict(window="5 minutes"), "window"),
    (dict(hold="0"), "hold"),
])
def test_bad_policies_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AlertPolicy(**kwargs)


def test_broken_rule_is_rejected_by_the_crd(crd_validator):
    rule = copy.deepcopy(build_prometheus_rule("reranker"))
    rule["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    errors = crd_validator("PrometheusRule").errors(rule)
    assert any("for" in e for e in errors), errors
