"""The `drift` stage: read two windows of traffic, run the drift check, write the page and the verdict.

A window is a folder holding any of:
    interactions.parquet | interactions.csv   the contract's interactions table (core/data/schema.py)
    products.*, queries.*                     to look up what was shown and each query's locale
    requests-*.jsonl (or requests/requests-*.jsonl)   the predictor's request log
A single interactions file works too. Only the columns the check uses are read, so a window of
millions of rows stays small in memory.

    result = run_drift_stage("data/last-month", "data/this-week", "out/drift_report.html", "out/drift_verdict.json")
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from shoprank.core.common.errors import SchemaError
from shoprank.core.data.schema import find_table_file
from shoprank.core.drift.config import DriftConfig
from shoprank.core.drift.windows import INTERACTION_COLUMNS, PRODUCT_COLUMNS, Window

log = logging.getLogger(__name__)

REQUEST_LOG_PATTERN = "requests-*.jsonl"
# The gauge the cluster's ShoprankDriftDetected alert reads (serving/monitoring.py DRIFT_DETECTED).
DRIFT_DETECTED_METRIC = "shoprank_drift_detected"
_REPEATED = ("session_id", "query", "product_id", "model_version")  # read as categories
_TEXT = _REPEATED + ("category", "brand", "locale")


def read_window(path: str | Path, name: str, requests_dir: str | Path | None = None) -> Window:
    """The window at `path` (a folder or an interactions file); `requests_dir` overrides where its request log is.

    Raises SchemaError for a path that does not exist, a table without a column the check needs,
    or a folder holding neither interactions nor a request log.
    """
    path = Path(path)
    if not path.exists():
        raise SchemaError(f"{name} window: expected a folder or an interactions file at {path}, found nothing")
    folder = path if path.is_dir() else None
    interactions_file = find_table_file(folder, "interactions") if folder else path
    interactions = _read(interactions_file, INTERACTION_COLUMNS, name, "interactions") if interactions_file else None
    products = queries = None
    if folder is not None:
        products_file, queries_file = find_table_file(folder, "products"), find_table_file(folder, "queries")
        products = _read(products_file, PRODUCT_COLUMNS, name, "products") if products_file else None
        queries = _read(queries_file, ("query", "locale"), name, "queries") if queries_file else None
    log_dir = Path(requests_dir) if requests_dir else _request_log_dir(folder)
    requests = read_request_log(log_dir) if log_dir is not None else None
    if interactions is None and (requests is None or requests.empty):
        found = sorted(p.name for p in path.iterdir()) if folder else [path.name]
        raise SchemaError(f"{name} window: expected interactions.parquet, interactions.csv or {REQUEST_LOG_PATTERN} "
                          f"in {path}, found {found}")
    return Window(name, interactions=interactions, products=products, queries=queries, requests=requests, source=str(path))


def _request_log_dir(folder: Path | None) -> Path | None:
    if folder is None:
        return None
    for candidate in (folder, folder / "requests"):
        if candidate.is_dir() and any(candidate.glob(REQUEST_LOG_PATTERN)):
            return candidate
    return None


def _read(path: Path, columns: tuple, window: str, table: str):
    """Only `columns` of a Parquet or CSV table; SchemaError naming what is missing."""
    import pandas as pd

    repeated = [c for c in _REPEATED if c in columns] if table == "interactions" else []
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            present = pq.read_schema(path).names
            _require(columns, present, window, table, path)
            # Repeated ids and texts as categories: a fraction of the memory, and grouped without hashing strings.
            frame = pq.read_table(path, columns=list(columns),
                                  read_dictionary=repeated).to_pandas()
        else:
            present = list(pd.read_csv(path, nrows=0).columns)
            _require(columns, present, window, table, path)
            frame = pd.read_csv(path, usecols=list(columns),
                                dtype={c: ("category" if c in repeated else str) for c in _TEXT if c in columns})
    except SchemaError:
        raise
    except Exception as exc:  # pandas / pyarrow raise many types for unreadable files
        raise SchemaError(f"{window} window: {table}: could not read {path.name}: {exc}") from exc
    return _typed(frame, window, table)


def _require(columns, present, window: str, table: str, path: Path) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise SchemaError(f"{window} window: {table} ({path.name}): expected columns {list(columns)}, missing {missing} "
                          f"(the file has {list(present)})")


def _typed(frame, window: str, table: str):
    """Numbers and flags as the check reads them; SchemaError naming a column that does not parse."""
    import pandas as pd

    numeric = {"interactions": ("position",), "products": ("price",)}.get(table, ())
    for column in numeric:
        parsed = pd.to_numeric(frame[column], errors="coerce")
        bad = parsed.isna() & frame[column].notna()
        if bad.any():
            raise SchemaError(f"{window} window: {table}: column '{column}': expected numbers, got "
                              f"{frame[column][bad].head(3).tolist()}")
        frame[column] = parsed
    if table == "interactions":
        for column in ("clicked", "purchased"):
            if frame[column].dtype != bool:
                frame[column] = frame[column].map(lambda v: str(v).strip().lower() in ("true", "1", "yes")).astype(bool)
    return frame


def read_request_log(log_dir: Path):
    """The request log under log_dir as a DataFrame (serving's reader, core/data/request_log.py, when installed)."""
    try:
        from shoprank.core.data.request_log import read_request_log as serving_reader  # the serving room's reader
    except ImportError:
        serving_reader = None
    if serving_reader is not None:
        return serving_reader(log_dir)
    import pandas as pd

    frames = []
    for path in sorted(Path(log_dir).glob(REQUEST_LOG_PATTERN)):
        try:
            frames.append(pd.read_json(path, lines=True, dtype=False))
        except ValueError as exc:
            raise SchemaError(f"request log {path.name}: expected one JSON object per line: {exc}") from exc
    return pd.concat(frames, ignore_index=True) if frames else None


def rerun_command(reference: str, current: str, out: str, config: DriftConfig) -> str:
    """The `shoprank drift` command that reruns this check."""
    command = f"shoprank drift --reference {reference} --current {current} --out {out}"
    defaults = DriftConfig().to_dict()
    changed = {k: v for k, v in config.to_dict().items() if v != defaults[k]}
    if changed:
        command += f" --config-json '{json.dumps(changed, sort_keys=True)}'"
    return command


def publish_verdict(result: dict, gateway_url: str, model_name: str, job: str = "shoprank-drift") -> None:
    """Push the verdict to a Prometheus Pushgateway, grouped by model_name: DRIFT_DETECTED_METRIC (1 / 0),
    shoprank_drift_signals_drifted and shoprank_drift_severity (0 none .. 3 high).

    Raises OSError (urllib's) when the gateway cannot be reached or refuses the push.
    """
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    registry = CollectorRegistry()
    Gauge(DRIFT_DETECTED_METRIC, "1 when the last drift check found the traffic drifted", registry=registry).set(
        int(result["drifted"]))
    Gauge("shoprank_drift_signals_drifted", "signals that drifted in the last drift check", registry=registry).set(
        result["signals_drifted"])
    Gauge("shoprank_drift_severity", "severity of the last drift check: 0 none, 1 low, 2 medium, 3 high",
          registry=registry).set(["none", "low", "medium", "high"].index(result["severity"]))
    push_to_gateway(gateway_url, job=job, registry=registry, grouping_key={"model_name": model_name}, timeout=10)


def run_drift_stage(reference: str | Path, current: str | Path, html_path: str | Path, verdict_path: str | Path,
                    config: DriftConfig = DriftConfig(), reference_requests: str | None = None,
                    current_requests: str | None = None, rerun: str | None = None,
                    pushgateway: str = "", model_name: str = "shoprank") -> dict:
    """Read both windows, check them, write the HTML page and the JSON verdict; returns the verdict.

    rerun: the command to print on the page (default: the `shoprank drift` command for these paths).
    pushgateway: a Prometheus Pushgateway URL to publish the verdict to ("" = none; see
    publish_verdict). A push that fails is logged and recorded in the verdict ("pushed": false,
    "push_error"), and does not stop the stage: the retraining it may trigger still runs.
    """
    from shoprank.core.drift.check import run_drift_check

    ref = read_window(reference, "reference", reference_requests)
    cur = read_window(current, "current", current_requests)
    html_path, verdict_path = Path(html_path), Path(verdict_path)
    command = rerun or rerun_command(str(reference), str(current), str(html_path.parent), config)
    result, html = run_drift_check(ref, cur, config, command)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    verdict_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    result["html_bytes"] = len(html.encode("utf-8"))
    if pushgateway:
        try:
            publish_verdict(result, pushgateway, model_name)
            result["pushed"] = True
        except OSError as exc:
            log.error("drift: could not push the verdict to %s: %s", pushgateway, exc)
            result.update(pushed=False, push_error=f"{pushgateway}: {exc}")
    verdict_path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    log.info("drift: %s; page %s (%.1f MB), verdict %s", result["verdict"], html_path, result["html_bytes"] / 2**20,
             verdict_path)
    return result
