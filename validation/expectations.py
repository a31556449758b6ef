"""shoprank's own Great Expectations rules, for what the later stages rely on and GX cannot say.

Each is a GX column-map expectation (a metric provider plus an expectation class; GX registers
both when this module is imported, and the suites in validation/suites/ name them by type). Each
checks a value with the same function the later stage uses to read it, so data that passes
validation always reads:

- expect_column_values_to_be_json_objects: a JSON object (shoprank.core.data.schema.parse_attributes,
  which also reads objects spread over several lines). GX's own expect_column_values_to_match_json_schema
  raises on the first unparseable value instead of naming the rows (its pandas metric re-raises
  the JSONDecodeError), and a regex cannot tell JSON.
- expect_column_values_to_be_iso8601_timestamps: a timestamp that converts to UTC
  (shoprank.core.data.dtypes.to_utc_timestamps: ISO-8601 with or without an offset, timestamp dtypes).
- expect_column_values_to_be_finite: not +-inf (a price of inf would read "price: $inf").
  Values that are not numbers pass here; the column's type rule names them.
- expect_column_values_to_be_unique_after_normalising: no two rows hold the same text after
  NFKC, case folding and collapsing spaces (shoprank.core.data.split.normalise_query). Used with
  severity "warning": the same search under two query ids is allowed, and the split keeps them together.

Nulls are skipped, as in every GX column-map expectation; not-null rules name them.
"""

from __future__ import annotations

import math

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)


def _is_json_object(value) -> bool:
    from shoprank.core.data.schema import parse_attributes

    try:
        return isinstance(parse_attributes(value), dict)
    except Exception:  # json.JSONDecodeError, SchemaError (not an object), TypeError (not text)
        return False


def _is_finite(value) -> bool:
    if isinstance(value, bool):
        return True
    try:
        return not math.isinf(float(value))
    except (TypeError, ValueError):
        return True  # not a number: the type rule's business


class ColumnValuesJsonObjects(ColumnMapMetricProvider):
    condition_metric_name = "column_values.shoprank_json_object"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return column.map(_is_json_object)


class ExpectColumnValuesToBeJsonObjects(ColumnMapExpectation):
    """Expect each non-null value to be a JSON object (text, possibly over several lines, or a dict)."""

    map_metric = "column_values.shoprank_json_object"
    success_keys = ("mostly",)
    args_keys = ("column",)


class ColumnValuesIso8601Timestamps(ColumnMapMetricProvider):
    condition_metric_name = "column_values.shoprank_iso8601_timestamp"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        from shoprank.core.data.dtypes import to_utc_timestamps

        return to_utc_timestamps(column).notna()


class ExpectColumnValuesToBeIso8601Timestamps(ColumnMapExpectation):
    """Expect each non-null value to be a timestamp or ISO-8601 text that converts to UTC."""

    map_metric = "column_values.shoprank_iso8601_timestamp"
    success_keys = ("mostly",)
    args_keys = ("column",)


class ColumnValuesFinite(ColumnMapMetricProvider):
    condition_metric_name = "column_values.shoprank_finite"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return column.map(_is_finite)


class ExpectColumnValuesToBeFinite(ColumnMapExpectation):
    """Expect no non-null value to be +inf or -inf."""

    map_metric = "column_values.shoprank_finite"
    success_keys = ("mostly",)
    args_keys = ("column",)


class ColumnValuesUniqueAfterNormalising(ColumnMapMetricProvider):
    condition_metric_name = "column_values.shoprank_unique_normalised"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        from shoprank.core.data.split import normalise_query

        return ~column.map(lambda v: normalise_query(str(v))).duplicated(keep=False)


class ExpectColumnValuesToBeUniqueAfterNormalising(ColumnMapExpectation):
    """Expect no two non-null values to be the same text after Unicode NFKC, case folding and
    collapsing whitespace."""

    map_metric = "column_values.shoprank_unique_normalised"
    success_keys = ("mostly",)
    args_keys = ("column",)
