"""Run the Great Expectations suites in validation/suites/ on an ephemeral context.

Suites are data: one JSON file per table, in GX's own suite format. A value_set of
{"$reference": "table.column"} is filled from the other table at run time, which is how
referential integrity (judgments -> queries, products) is checked. A rule with "severity":
"warning" is reported but does not stop the data. shoprank's own rules (validation/expectations.py)
register with GX when this module is imported.

Values of a column the contract marks `hashed` (a user id) are never copied into a message or
report: example rows show "<hidden>" there, so a raw e-mail address that broke the hashing rule is
named by its row number only.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any

from shoprank.core.common.errors import DataValidationError
from shoprank.core.data.schema import TABLES

from . import expectations  # noqa: F401  (registers shoprank's own expectation types with GX)

log = logging.getLogger(__name__)

SUITES_DIR = Path(__file__).parent / "suites"
MAX_EXAMPLE_ROWS = 5
HIDDEN = "<hidden>"
WARNING = "warning"


@dataclasses.dataclass(frozen=True)
class RuleResult:
    """The outcome of one expectation on one table."""

    table: str
    column: str | None
    rule: str
    kwargs: dict
    success: bool
    failed_rows: int
    total_rows: int
    examples: list[dict]
    observed: Any = None
    error: str | None = None
    severity: str = "critical"
    hidden_column: bool = False  # the rule's column is hashed: its values are never shown
    blocked_by: str | None = None  # a rule on the same column that named the rows this one cannot check

    def describe(self) -> str:
        """One line a person can act on: table, column, rule, count, example rows (row numbers
        only for a hashed column)."""
        where = f"table '{self.table}'" + (f", column '{self.column}'" if self.column else "")
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.kwargs.items() if k != "column")
        head = f"{where}, rule {self.rule}({args})"
        if self.error:
            return f"{head}: could not be evaluated ({self.error})"
        if self.blocked_by:
            return f"{head}: not checked, the column holds values of another type (see rule {self.blocked_by})"
        if self.column is None or (not self.failed_rows and self.observed is not None):
            return f"{head}: observed {_observed(self.observed)}"
        if self.hidden_column:
            rows = [e["row"] for e in self.examples]
            return (f"{head}: {self.failed_rows} of {self.total_rows} rows failed, e.g. rows {rows} "
                    f"(values of this hashed column are not shown)")
        return f"{head}: {self.failed_rows} of {self.total_rows} rows failed, e.g. {self.examples}"


@dataclasses.dataclass(frozen=True)
class ValidationOutcome:
    """All rule results for all tables; `failures` are the broken ones."""

    results: list[RuleResult]

    @property
    def success(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[RuleResult]:
        """Broken rules that stop the data (severity critical)."""
        return [r for r in self.results if not r.success and r.severity != WARNING]

    @property
    def warnings(self) -> list[RuleResult]:
        """Broken rules of severity "warning": reported, the data goes on."""
        return [r for r in self.results if not r.success and r.severity == WARNING]

    def message(self) -> str:
        lines = [f"data validation failed: {len(self.failures)} rule(s) broken"]
        lines += [f"- {r.describe()}" for r in self.failures]
        return "\n".join(lines)

    def raise_if_failed(self) -> None:
        if not self.success:
            raise DataValidationError(self.message())

    def to_dict(self) -> dict:
        return {"success": self.success, "rules": len(self.results), "failed_rules": len(self.failures),
                "results": [dataclasses.asdict(r) for r in self.results]}


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _observed(value: Any) -> str:
    """GX's observed value, e.g. a column dtype or a row count, in words."""
    return f"column dtype {value}" if isinstance(value, str) else str(value)


def load_suite(table: str, suites_dir: Path = SUITES_DIR) -> dict:
    """The suite for `table` as stored (GX suite JSON)."""
    path = Path(suites_dir) / f"{table}.json"
    return json.loads(path.read_text())


def _resolve_references(expectation: dict, tables: dict) -> dict:
    kwargs = dict(expectation["kwargs"])
    value_set = kwargs.get("value_set")
    if isinstance(value_set, dict) and "$reference" in value_set:
        ref_table, ref_column = value_set["$reference"].split(".")
        kwargs["value_set"] = sorted(set(tables[ref_table][ref_column].dropna().astype(str)))
    resolved = {"type": expectation["type"], "kwargs": kwargs}
    if "severity" in expectation:
        resolved["severity"] = expectation["severity"]
    return resolved


def _display_kwargs(expectation: dict) -> dict:
    """kwargs as stored, so a reference reads 'queries.query_id', not 3,000 ids."""
    kwargs = dict(expectation["kwargs"])
    if isinstance(kwargs.get("value_set"), dict):
        kwargs["value_set"] = kwargs["value_set"]["$reference"]
    return kwargs


def _json_safe_rows(frame, index: list, hidden: list[str]) -> list[dict]:
    """The first example rows as JSON-safe dicts with their row number; hashed columns shown as HIDDEN."""
    rows = frame.loc[index[:MAX_EXAMPLE_ROWS]].astype(object)
    # JSON has no infinity: show it as text rather than as null.
    rows = rows.map(lambda v: str(v) if isinstance(v, float) and math.isinf(v) else v)
    for column in hidden:
        if column in rows:
            rows[column] = HIDDEN
    return json.loads(rows.reset_index(names="row").to_json(orient="records", date_format="iso", default_handler=str))


def validate_tables(tables: dict, suites_dir: Path = SUITES_DIR) -> ValidationOutcome:
    """Validate every table that has a suite; referenced tables must be present."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("shoprank")
    results: list[RuleResult] = []
    for table, frame in tables.items():
        stored = load_suite(table, suites_dir)
        suite = gx.ExpectationSuite(
            name=stored["name"], expectations=[_resolve_references(e, tables) for e in stored["expectations"]]
        )
        frame = frame.reset_index(drop=True)
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame}
        )
        report = batch.validate(suite, result_format="COMPLETE")
        by_type_and_column = {
            (e["type"], e["kwargs"].get("column")): (_display_kwargs(e), e.get("severity", "critical"))
            for e in stored["expectations"]
        }
        hidden = [c.name for c in TABLES[table].columns if c.hashed] if table in TABLES else []
        table_results = []
        for r in report.results:
            d = r.to_json_dict()
            config = d["expectation_config"]
            column = config["kwargs"].get("column")
            result = d.get("result") or {}
            exc = d.get("exception_info") or {}
            index = result.get("unexpected_index_list") or []
            kwargs, severity = by_type_and_column.get((config["type"], column), ({}, "critical"))
            table_results.append(RuleResult(
                table=table, column=column, rule=config["type"],
                kwargs=kwargs,
                success=bool(d["success"]),
                failed_rows=int(result.get("unexpected_count") or 0),
                total_rows=len(frame),
                examples=_json_safe_rows(frame, index, hidden) if index else [],
                observed=result.get("observed_value"),
                error=(exc.get("exception_message") or "").splitlines()[0][:200] if exc.get("raised_exception") else None,
                severity=severity,
                hidden_column=column in hidden,
            ))
        results.extend(_mark_blocked(table_results))
        log.info("validate %s: %d rows, %d rules, %d broken", table, len(frame), len(report.results),
                 sum(not r.success for r in report.results))
    return ValidationOutcome(results)


def _mark_blocked(results: list[RuleResult]) -> list[RuleResult]:
    """A rule that failed without naming any row (GX cannot compare text with numbers, say) on a
    column whose type rule named the rows: say so, instead of "0 rows failed"."""
    type_failures = {r.column: r.rule for r in results
                     if not r.success and r.failed_rows and r.rule.endswith(("_type_list", "_of_type"))}
    return [dataclasses.replace(r, blocked_by=type_failures[r.column])
            if not r.success and not r.failed_rows and r.observed is None and r.column in type_failures else r
            for r in results]
