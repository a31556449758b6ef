"""Data contracts for the four input tables and the pairs table, and loaders for Parquet and CSV.

This module is the one owner of table and column names. Loading accepts the dtypes real
exports use (core/data/dtypes.py) and keeps every value it cannot read as it arrived, so that
validation can name every broken row; `coerce` turns a validated table into its typed form.
A nullable column may be absent from a file (it is read as all null). The pairs
table every model stage reads is written and read by core/data/pairs.py.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Mapping

from shoprank.core.common.errors import SchemaError
from shoprank.core.data.dtypes import CSV_NULL_TEXT, accept_values, to_utc_timestamps
from shoprank.core.data.split import SPLITS

LABEL_MIN, LABEL_MAX = 0, 3
LABEL_NAMES = {3: "Exact", 2: "Substitute", 1: "Complement", 0: "Irrelevant"}
JUDGMENT_SOURCES = ("human", "clicks")
QUERY_MAX_CHARS = 256


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a table contract.

    kind: "str", "int", "float", "bool", "json" or "timestamp".
    hashed: the column holds hashes of private values (e.g. a user id); its values are never
        shown in messages or reports, only the row numbers that break a rule.
    """

    name: str
    kind: str
    nullable: bool = False
    unique: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: tuple[Any, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
    description: str = ""
    hashed: bool = False


@dataclasses.dataclass(frozen=True)
class Table:
    """A table contract: its columns and the foreign keys it must satisfy."""

    name: str
    columns: tuple[Column, ...]
    # column -> (table, column) that must contain every value
    references: tuple[tuple[str, str, str], ...] = ()
    min_rows: int = 1

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


PRODUCTS = Table(
    "products",
    (
        Column("product_id", "str", unique=True, description="catalog id"),
        Column("title", "str", min_length=1),
        Column("description", "str", nullable=True),
        Column("brand", "str", nullable=True),
        Column("category", "str", nullable=True, description='path "A > B > C"'),
        Column("price", "float", nullable=True, min_value=0.0),
        Column("attributes", "json", nullable=True, description="JSON object"),
    ),
    min_rows=10,
)

QUERIES = Table(
    "queries",
    (
        Column("query_id", "str", unique=True),
        Column("query", "str", min_length=1, max_length=QUERY_MAX_CHARS),
        Column("locale", "str", nullable=True),
    ),
    min_rows=5,
)

JUDGMENTS = Table(
    "judgments",
    (
        Column("query_id", "str"),
        Column("product_id", "str"),
        Column("label", "int", min_value=LABEL_MIN, max_value=LABEL_MAX),
        Column("source", "str", allowed=JUDGMENT_SOURCES),
    ),
    references=(("query_id", "queries", "query_id"), ("product_id", "products", "product_id")),
    min_rows=20,
)

INTERACTIONS = Table(
    "interactions",
    (
        Column("event_id", "str", unique=True),
        Column("ts", "timestamp", description="UTC"),
        Column("session_id", "str"),
        Column("user_id", "str", description="hashed, never raw", hashed=True),
        Column("query", "str", min_length=1, max_length=QUERY_MAX_CHARS),
        Column("product_id", "str"),
        Column("position", "int", min_value=1),
        Column("clicked", "bool"),
        Column("purchased", "bool"),
        Column("model_version", "str"),
    ),
    references=(("product_id", "products", "product_id"),),
    min_rows=0,
)

TABLES: Mapping[str, Table] = {t.name: t for t in (PRODUCTS, QUERIES, JUDGMENTS, INTERACTIONS)}

# One row per judged (query, product): the query, the product's fields as the catalogue has them,
# the text rankers read, the label and a query-level split (core/data/pairs.py builds it).
PAIRS = Table(
    "pairs",
    (
        Column("query_id", "str"),
        QUERIES.column("query"),
        QUERIES.column("locale"),
        Column("product_id", "str"),
        *(PRODUCTS.column(name) for name in ("title", "brand", "category", "price", "attributes", "description")),
        Column("product_text", "str", min_length=1, description="the product as rankers read it (core/text/product_text.py)"),
        JUDGMENTS.column("label"),
        Column("split", "str", allowed=SPLITS),
    ),
)
# Columns stages add to the pairs table.
PAIR_STAGE_COLUMNS = (
    Column("value", "float", nullable=True, description="data value of a train row (value stage); null elsewhere"),
    Column("weight", "float", min_value=0.0, description="sample weight (value stage); 0 leaves a row out of training"),
    Column("label_issue", "bool", description="confident learning flags the label (value stage)"),
    Column("score", "float", description="a ranker's score"),
)
REQUIRED_TABLES = ("products", "queries", "judgments")
OPTIONAL_TABLES = ("interactions",)

_STRING_KINDS = ("str", "json")


def find_table_file(data_dir: str | Path, table: str) -> Path | None:
    """The Parquet or CSV file holding `table` in `data_dir`, or None."""
    data_dir = Path(data_dir)
    for suffix in (".parquet", ".csv"):
        candidate = data_dir / f"{table}{suffix}"
        if candidate.exists():
            return candidate
    return None


def read_table(path: str | Path, table: str):
    """Read one table file as it arrives, in the forms the contract rules check (core/data/dtypes.py).

    CSV: comma-separated, UTF-8 (with or without a byte-order mark); only an empty cell is null.
    Column names are matched after trimming surrounding spaces. A nullable column may be absent.
    Raises SchemaError when the file is missing, unreadable or lacks a required column.
    """
    import pandas as pd

    path = Path(path)
    contract = TABLES[table]
    if not path.exists():
        raise SchemaError(f"table '{table}': expected a file at {path}, found none")
    string_cols = {c.name: "string" for c in contract.columns if c.kind in _STRING_KINDS}
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif path.suffix == ".csv":
            _check_csv_header(path, table, contract)
            # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name.
            frame = pd.read_csv(path, dtype=string_cols, keep_default_na=False, na_values=list(CSV_NULL_TEXT),
                                encoding="utf-8-sig")
        else:
            raise SchemaError(
                f"table '{table}': expected a .parquet or .csv file, got '{path.name}'"
            )
    except SchemaError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types for unreadable files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchemaError(f"table '{table}': could not read {path.name}: {reason}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c.name for c in contract.columns if c.name not in frame.columns and not c.nullable]
    if missing:
        raise SchemaError(
            f"table '{table}': expected columns {contract.column_names}, "
            f"missing {missing} (file has {list(frame.columns)}); only nullable columns may be left out"
        )
    for col in contract.columns:
        if col.name not in frame.columns:
            frame[col.name] = None
        else:
            frame[col.name] = accept_values(frame[col.name], col.kind)
    return frame[contract.column_names + [c for c in frame.columns if c not in contract.column_names]]


def _check_csv_header(path: Path, table: str, contract: Table) -> None:
    """Refuse a CSV file separated by something else than commas, naming the separator it uses."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    if "," in header or len(contract.columns) < 2:
        return
    for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
        if header.count(separator) >= 1:
            raise SchemaError(
                f"table '{table}': expected comma-separated columns in {path.name}, but its header "
                f"line is separated by {name} ({header.strip()[:80]!r}); save the file with commas "
                "(and '.' as the decimal point), or as Parquet"
            )


def read_tables(data_dir: str | Path) -> dict:
    """Read every contract table in `data_dir` (interactions only if present)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise SchemaError(f"expected a data folder at {data_dir}, found none")
    tables = {}
    for name in REQUIRED_TABLES + OPTIONAL_TABLES:
        path = find_table_file(data_dir, name)
        if path is None:
            if name in REQUIRED_TABLES:
                raise SchemaError(
                    f"table '{name}': expected {name}.parquet or {name}.csv in {data_dir}, "
                    f"found {sorted(p.name for p in data_dir.iterdir())}"
                )
            continue
        tables[name] = read_table(path, name)
    return tables


def coerce(frame, table: str):
    """Cast a validated table to its contract types (call after validation passes)."""
    import pandas as pd

    out = frame.copy()
    for col in TABLES[table].columns:
        series = out[col.name]
        if col.kind == "int":
            out[col.name] = pd.to_numeric(series).astype("int64")
        elif col.kind == "float":
            out[col.name] = pd.to_numeric(series).astype("float64")
        elif col.kind == "bool":
            out[col.name] = series.map(_to_bool).astype(bool)
        elif col.kind == "timestamp":
            out[col.name] = to_utc_timestamps(series)
        elif col.kind == "json":
            # Kept as canonical JSON text so Parquet and CSV hold the same thing.
            out[col.name] = series.map(canonical_json)
        else:
            out[col.name] = series.astype(object).where(series.notna(), None)
    return out


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def canonical_json(value: Any) -> str | None:
    """Attributes as JSON text with sorted keys (None stays None), so Parquet and CSV hold the same thing."""
    parsed = parse_attributes(value)
    return None if parsed is None else json.dumps(parsed, sort_keys=True)


def parse_attributes(value: Any) -> dict | None:
    """A product's attributes as a dict (accepts a dict or a JSON object string)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dict):
        return value
    parsed = json.loads(value)
    if not isinstance(parsed, dict):
        raise SchemaError(f"attributes: expected a JSON object, got {type(parsed).__name__}")
    return parsed


def write_tables(tables: Mapping[str, Any], out_dir: str | Path, fmt: str = "parquet") -> Path:
    """Write contract tables to `out_dir` as Parquet (default) or CSV."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.to_parquet(out_dir / f"{name}.parquet", index=False)
        elif fmt == "csv":
            frame.to_csv(out_dir / f"{name}.csv", index=False)
        else:
            raise SchemaError(f"expected format 'parquet' or 'csv', got '{fmt}'")
    return out_dir
