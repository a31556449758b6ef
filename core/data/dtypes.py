"""How the table loaders accept the values of real exports, column kind by column kind.

A retailer's CSV or Parquet file says the same thing in many dtypes: a label is `3`, `3.0`,
uint8, float64 or a nullable Int64/Int32/Int8; an id is text or a number; a flag is a bool,
0/1 or "true"/"false". `accept_values` turns each such spelling into the one form the contract
rules check (validation/suites/), and leaves every value it cannot read *as it arrived*, so that a
rule names the row that holds it. `to_utc_timestamps` is the one timestamp parser: the
validation rule and the typed tables both use it, so what passes validation always parses.

Accepted per kind (nulls stay nulls; only an empty CSV cell is null, see CSV_NULL_TEXT):
- "int": whole numbers of any numeric dtype or numeric text ("3", "3.0"); not bools.
- "float": any numeric dtype or numeric text.
- "str" / "json": text; whole numbers (numeric ids) become their decimal text.
- "bool": bools, 0/1, and the text true/false, yes/no, t/f, 1/0 in any case.
- "timestamp": timestamp dtypes and ISO-8601 text (see to_utc_timestamps).
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

# The only CSV cell text read as null: an empty cell. pandas' default NA strings ("NA", "null",
# "None", "nan", "N/A", ...) are real search queries and brand names in a shop's export.
CSV_NULL_TEXT = ("",)

# A time of day followed by an offset: "...10:00Z", "...10:00:00.5+02:00", "...10:00-0500" (not a date's "-01").
_ENDS_WITH_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$", re.IGNORECASE)
_TRUE_TEXT = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_TEXT = frozenset({"false", "f", "no", "n", "0"})


def is_null(value: Any) -> bool:
    """None, NaN, pandas NA and NaT are null."""
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like values are not null
        return False


def _as_number(value: Any) -> float | None:
    """A real number (not a bool) from a number or numeric text; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _whole(value: Any) -> Any:
    """A Python int for a whole, finite number; the value itself otherwise."""
    number = _as_number(value)
    if number is None or not math.isfinite(number) or number != int(number):
        return value
    return int(number)


def _number(value: Any) -> Any:
    number = _as_number(value)
    return value if number is None else number


def _text(value: Any) -> Any:
    if isinstance(value, str) or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real):
        whole = _whole(value)
        return str(whole) if isinstance(whole, int) else str(value)
    return value


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_TEXT | _FALSE_TEXT:
        return value.strip().lower() in _TRUE_TEXT
    number = _as_number(value)
    if number in (0.0, 1.0):
        return bool(number)
    return value


_CONVERTERS = {"int": _whole, "float": _number, "str": _text, "json": _text, "bool": _flag}
_CLEAN = {"int": (int,), "float": (float,), "str": (str,), "json": (str, dict), "bool": (bool,)}


def accept_values(series, kind: str):
    """`series` with each value in the form the contract rules check for `kind`.

    When every value converts (or is null), the result has a plain dtype (int64, float64,
    bool, object text); nulls among ints or bools keep an object column of Python values and
    None (a plain dtype cannot hold them). Values that do not convert are kept as they arrived.
    """
    import numpy as np
    import pandas as pd

    if kind == "timestamp" or kind not in _CONVERTERS:
        return series
    numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    if kind == "float" and numeric:
        return series.astype("float64")
    if kind == "int" and numeric and not series.isna().any():  # vectorised: the common case of a big table
        values = series.to_numpy(dtype="float64")
        if np.isfinite(values).all() and (values == np.round(values)).all():
            return series.astype("int64")
    if kind == "bool" and pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
        return series.astype(bool)
    convert = _CONVERTERS[kind]
    values = [None if is_null(v) else convert(v) for v in series.tolist()]
    out = pd.Series(values, index=series.index, dtype=object)
    present = [v for v in values if v is not None]
    clean = all(isinstance(v, _CLEAN[kind]) and not (kind != "bool" and isinstance(v, bool)) for v in present)
    if clean and len(present) == len(values):
        plain = {"int": "int64", "float": "float64", "bool": "bool"}.get(kind)
        return out.astype(plain) if plain else out
    if kind == "float":
        return out.where(out.notna(), float("nan")).infer_objects() if clean else out
    return out


def to_utc_timestamps(series):
    """Timestamps in UTC (datetime64[ns, UTC]); NaT where a value is null or not a timestamp.

    Accepted: timestamp dtypes and datetime objects (naive ones are read as UTC, aware ones
    converted), and ISO-8601 text with or without an offset, "Z", a space for the "T", or a date
    alone (midnight UTC), mixed freely in one column. Not accepted (NaT): other date orders such
    as "01/05/2024", epoch numbers (seconds or milliseconds cannot be told apart), free text.
    """
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return pd.to_datetime(series, utc=True)
    is_text = series.map(lambda v: isinstance(v, str))
    texts = series.astype(object).where(is_text, None)
    # Texts with an offset and texts without one are parsed apart: pandas 2.x gives a naive text the
    # offset of the text before it when they are parsed together (pandas-dev/pandas#61389).
    zoned = texts.map(lambda v: isinstance(v, str) and bool(_ENDS_WITH_OFFSET.search(v)))
    parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    for part in (zoned, is_text & ~zoned):
        if part.any():
            parsed[part] = pd.to_datetime(texts[part], utc=True, format="ISO8601", errors="coerce")
    objects = series.map(_is_datetime)  # pd.Timestamp is a datetime too
    if objects.any():
        parsed = parsed.where(~objects, pd.to_datetime(series.where(objects, None), utc=True, errors="coerce"))
    return parsed


def _is_datetime(value: Any) -> bool:
    import datetime

    return isinstance(value, datetime.datetime)
