"""The validate stage: read a data folder, run the suites, check there is enough data for the run,
write the report, pass on or stop."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from shoprank.core.common.errors import DataValidationError, SchemaError
from shoprank.core.data.schema import coerce, read_tables, write_tables

from .readiness import DataRequirements, check_readiness
from .report import render_report
from .runner import validate_tables

log = logging.getLogger(__name__)


def validate_data_dir(data_dir: str | Path, validated_dir: str | Path, report_path: str | Path,
                      requirements: DataRequirements | None = None) -> dict:
    """Validate the tables in data_dir; write the HTML report either way.

    requirements: the run's split and valuation method; when given, a data set too small for
    them is refused here (validation/readiness.py). None checks the rules only.
    On success the typed tables go to validated_dir as Parquet and the metrics are returned;
    on failure DataValidationError names table, column, rule, count and example rows (or what
    the run is missing and how much more it needs). Warnings are logged and reported.
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
    for rule in outcome.warnings:
        log.warning("validate: warning: %s", rule.describe())
    readiness = None
    if outcome.success:
        typed = {name: coerce(frame, name) for name, frame in tables.items()}
        if requirements is not None:
            readiness = check_readiness(typed, requirements)
            for warning in readiness.warnings:
                log.warning("validate: warning: %s", warning)
    report_path.write_text(render_report(outcome, row_counts=row_counts, readiness=readiness))
    outcome.raise_if_failed()
    if readiness is not None and readiness.problems:
        raise DataValidationError(
            f"data set too small for this run ({len(readiness.problems)} problem(s); every table passed its rules):\n"
            + "\n".join(f"- {p}" for p in readiness.problems))
    write_tables(typed, validated_dir)
    metrics = {f"rows_{name}": count for name, count in row_counts.items()}
    metrics.update(rules=len(outcome.results), warnings=len(outcome.warnings) + len(readiness.warnings if readiness else []),
                   seconds=round(time.perf_counter() - started, 2))
    if readiness is not None:
        metrics.update({f"queries_{split}": c["queries"] for split, c in readiness.counts.items()})
    log.info("validate: passed %d rules on %s", len(outcome.results), row_counts)
    return metrics
