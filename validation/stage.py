"""The validate stage: read a data folder, run the suites, write the report, pass on or stop."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from shoprank.core.common.errors import DataValidationError, SchemaError
from shoprank.core.data.schema import coerce, read_tables, write_tables

from .report import render_report
from .runner import validate_tables

log = logging.getLogger(__name__)


def validate_data_dir(data_dir: str | Path, validated_dir: str | Path, report_path: str | Path) -> dict:
    """Validate the tables in data_dir; write the HTML report either way.

    On success the typed tables go to validated_dir as Parquet and the metrics are returned;
    on failure DataValidationError names table, column, rule, count and example rows.
    """
    started = time.perf_counter()
    report_path = Path(report_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tables = read_tables(data_dir)
    except SchemaError as exc:
        report_path.write_text(render_report(None, error=str(exc)))
        raise DataValidationError(f"data validation failed before the rules could run: {exc}") from exc
    outcome = validate_tables(tables)
    row_counts = {name: len(frame) for name, frame in tables.items()}
    report_path.write_text(render_report(outcome, row_counts=row_counts))
    outcome.raise_if_failed()
    write_tables({name: coerce(frame, name) for name, frame in tables.items()}, validated_dir)
    metrics = {f"rows_{name}": count for name, count in row_counts.items()}
    metrics.update(rules=len(outcome.results), seconds=round(time.perf_counter() - started, 2))
    log.info("validate: passed %d rules on %s", len(outcome.results), row_counts)
    return metrics
