"""The drift check on the built-in sample and on request logs: verdicts, the page, and bad input named as such."""

import json

import numpy as np
import pandas as pd
import pytest

from shoprank.core.common.errors import SchemaError
from shoprank.core.data.sample.generator import SampleConfig, generate_sample
from shoprank.core.drift import evidently_reports
from shoprank.core.drift.check import run_drift_check
from shoprank.core.drift.config import DriftConfig, SignalSpec
from shoprank.core.drift.page import MAX_HTML_BYTES
from shoprank.core.drift.signals import SIGNALS
from shoprank.core.drift.tables import unit_tables
from shoprank.core.drift.windows import REQUEST_LOG_COLUMNS, Window
from shoprank.core.stages.drift import read_window

NO_EMBEDDINGS = DriftConfig(signals={"queries.embedding": SignalSpec(enabled=False)})


@pytest.fixture(scope="module")
def shop():
    """One sample shop (seed 3, 200 queries): its reference fortnight, the next one, and a drift batch."""
    size = dict(seed=3, n_queries=200, n_products=600)
    return {name: generate_sample(SampleConfig(**size, **extra)).tables
            for name, extra in (("reference", {}), ("fresh", {"batch": 1}), ("drifted", {"drift": 1.0}))}


def _window(name, tables, interactions=None):
    return Window(name, interactions=tables["interactions"] if interactions is None else interactions,
                  products=tables["products"], queries=tables["queries"], source=f"data/{name}")


def test_a_fresh_fortnight_of_the_same_shop_is_not_drift(shop):
    result, html = run_drift_check(_window("reference", shop["reference"]), _window("current", shop["fresh"]),
                                   NO_EMBEDDINGS, "shoprank drift --reference data/reference --current data/fresh")
    assert result["verdict"] == "no drift" and result["drifted"] is False and result["severity"] == "none"
    assert result["signals_tested"] == 16  # every interactions signal; the request-log ones are unavailable
    assert set(result["unavailable"]) == {name for name, s in SIGNALS.items() if s.table == "request_units"}
    assert result["next_steps"][0].startswith("No action needed")
    assert "NO DRIFT" in html and result["per_signal_alpha"] == pytest.approx(0.01 / 16)


def test_the_drift_batch_is_drift_and_the_summary_names_what_the_generator_shifted(shop):
    rerun = "shoprank drift --reference data/reference --current data/drifted --out drift-out"
    result, html = run_drift_check(_window("reference", shop["reference"]), _window("current", shop["drifted"]),
                                   NO_EMBEDDINGS, rerun)
    assert result["verdict"] == "drift" and result["severity"] in ("medium", "high")
    top = [s["name"] for s in result["top_signals"]]
    # The generator's drift: more queries for 5 categories, shown and clicked there, prices 1.5x.
    assert top[0] == "queries.category"
    assert {"shown.category", "clicked.category"} & set(top)
    assert {"shown.price", "clicked.price"} & set(result["drifted_signals"])
    for signal in result["top_signals"]:
        assert signal["score"] < signal["threshold"] == pytest.approx(result["per_signal_alpha"])
        assert "->" in signal["change"] and signal["method"] in ("ks", "chisquare_2sample")
    versions = result["online"]["by_model_version"]
    assert set(versions["bm25-v1"]) == {"reference"} and set(versions["shoprank-v1"]) == {"current"}
    # The page: the summary first (verdict, top signal, windows, next steps, rerun), Evidently's detail after it.
    body = html[html.index("<body>"):]  # Evidently keeps its data in <head>; the reader sees the body
    summary_end = body.index("Evidently detail")
    assert body.index("DRIFT - severity") < body.index("queries.category") < summary_end
    assert "What to do next" in body[:summary_end] and rerun in body[:summary_end]
    assert body.index("drawDashboard") > summary_end and len(html.encode()) < MAX_HTML_BYTES
    assert result["windows"]["current"]["start"] > result["windows"]["reference"]["end"]


def test_evidentlys_report_marks_the_signals_the_verdict_calls_drifted(shop):
    from shoprank.core.drift.evidently_reports import ColumnTest, column_drift

    tables = unit_tables(_window("reference", shop["reference"]), _window("current", shop["drifted"]), NO_EMBEDDINGS)
    ref, cur = tables.frames["query_units"]
    tests = [ColumnTest(name, SIGNALS[name].kind, SIGNALS[name].default_method, 0.001)
             for name in ("queries.chars", "queries.category", "shown.price", "online.ctr_at_k")]
    reported, widgets = evidently_reports.value_drift(ref, cur, tests)
    for test in tests:
        score, drifted, threshold = column_drift(ref[test.column], cur[test.column], test)
        assert reported[test.column] == pytest.approx((score, drifted, threshold))
    assert reported["queries.category"][1] is True and widgets


def test_same_seed_same_verdict(shop):
    first, _ = run_drift_check(_window("reference", shop["reference"]), _window("current", shop["fresh"]),
                               NO_EMBEDDINGS, page=False)
    again, _ = run_drift_check(_window("reference", shop["reference"]), _window("current", shop["fresh"]),
                               NO_EMBEDDINGS, page=False)
    assert [s["score"] for s in first["signals"]] == [s["score"] for s in again["signals"]]


def test_a_window_too_small_to_test_is_not_enough_data_never_no_drift(shop):
    interactions = shop["fresh"]["interactions"]
    tiny = interactions[interactions["session_id"].isin(interactions["session_id"].unique()[:12])]
    result, html = run_drift_check(_window("reference", shop["reference"]), _window("current", shop["fresh"], tiny),
                                   NO_EMBEDDINGS)
    assert result["verdict"] == "not enough data" and result["drifted"] is False and result["signals_tested"] == 0
    note = next(s["note"] for s in result["signals"] if s["name"] == "queries.chars")
    assert "at least 30 needed" in note
    assert "Widen the current window" in result["next_steps"][0] and "NOT ENOUGH DATA" in html


def test_without_products_the_product_signals_are_unavailable_and_the_rest_tested(shop):
    ref = Window("reference", interactions=shop["reference"]["interactions"])
    cur = Window("current", interactions=shop["drifted"]["interactions"])
    result, _ = run_drift_check(ref, cur, NO_EMBEDDINGS, page=False)
    statuses = {s["name"]: (s["status"], s["note"]) for s in result["signals"]}
    assert statuses["shown.price"] == ("unavailable", "no products table in either window")
    assert statuses["queries.locale"][0] == "unavailable" and statuses["queries.chars"][0] in ("drift", "no drift")


def _write_request_log(folder, n, score_shift, seed):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    with open(folder / "requests-20261101.jsonl", "w") as fh:
        for i in range(n):
            count = int(rng.integers(5, 30))
            record = {"ts": f"2026-11-01T10:{i % 60:02d}:00.000Z", "model_name": "shoprank", "model_sha256": "ab" * 32,
                      "request_id": f"r{i}", "query_chars": int(rng.integers(5, 40)), "query_tokens": int(rng.integers(2, 9)),
                      "has_price_limit": bool(rng.random() < 0.3), "locale": str(rng.choice(["en-US", "en-GB"])),
                      "candidate_count": count, "scores": (rng.normal(score_shift, 1, size=count)).round(4).tolist(),
                      "top_product_ids": [f"P{j}" for j in range(min(10, count))], "latency_ms": 12.5, "user_hash": None}
            assert set(record) == set(REQUEST_LOG_COLUMNS)
            fh.write(json.dumps(record) + "\n")
    return folder


def test_request_logs_alone_are_compared_and_a_score_shift_is_model_drift(tmp_path):
    reference = read_window(_write_request_log(tmp_path / "ref", 400, 0.0, seed=1), "reference")
    same = read_window(_write_request_log(tmp_path / "same", 300, 0.0, seed=2), "current")
    shifted = read_window(_write_request_log(tmp_path / "shifted", 300, 0.5, seed=3), "current")
    result, _ = run_drift_check(reference, same, DriftConfig(), page=False)
    assert result["verdict"] == "no drift" and result["signals_tested"] == 7
    assert result["sample"]["request_units"] == {"reference": 300, "current": 300}  # equal sizes
    result, _ = run_drift_check(reference, shifted, DriftConfig(), page=False)
    assert result["verdict"] == "drift" and result["groups_drifted"] == ["model"]
    assert "queries.chars" in result["unavailable"]


def test_windows_with_nothing_in_common_are_refused_by_name(shop, tmp_path):
    requests_only = read_window(_write_request_log(tmp_path / "log", 50, 0.0, seed=1), "current")
    with pytest.raises(SchemaError, match="share no data to compare: the reference has interactions, the current "
                                          "window has a request log"):
        run_drift_check(_window("reference", shop["reference"]), requests_only, NO_EMBEDDINGS)
    with pytest.raises(SchemaError, match="reference window: expected a folder or an interactions file"):
        read_window(tmp_path / "missing", "reference")
    pd.DataFrame({"query": ["mug"]}).to_csv(tmp_path / "interactions.csv", index=False)
    with pytest.raises(SchemaError, match="interactions \\(interactions.csv\\): expected columns .* missing"):
        read_window(tmp_path / "interactions.csv", "current")


def test_a_later_batch_is_the_same_shop_with_fresh_traffic(shop):
    reference, fresh = shop["reference"], shop["fresh"]
    pd.testing.assert_frame_equal(reference["products"], fresh["products"])  # the same catalogue
    assert len(set(reference["queries"]["query"]) & set(fresh["queries"]["query"])) < len(fresh["queries"]) / 2
    gap = pd.to_datetime(fresh["interactions"]["ts"]).min() - pd.to_datetime(reference["interactions"]["ts"]).min()
    assert pd.Timedelta(days=13) < gap < pd.Timedelta(days=15)
