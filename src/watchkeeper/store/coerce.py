"""Rows in -> an Arrow table in the table's storage types, or an :class:`IngestError` naming the bad rows.

Accepted inputs: a list of dicts, a pyarrow Table, or a pandas DataFrame. Values are converted the
way Kusto ingestion converts them: ISO text to datetime, ``timedelta``/text to timespan ticks,
any JSON-able value (or JSON text) to dynamic, missing strings to ``""``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from watchkeeper.errors import IngestError
from watchkeeper.schema.catalog import ColumnDef, TableDef
from watchkeeper.schema.types import TICKS_PER_MICROSECOND, KqlType
from watchkeeper.schema.values import parse_datetime_text, parse_timespan_text

__all__ = ["STORAGE_TYPES", "Rows", "infer_columns", "to_arrow"]

# a list of dicts, a pyarrow Table, or a pandas DataFrame (typed loosely: pandas is optional here)
Rows = Any

STORAGE_TYPES: dict[KqlType, pa.DataType] = {
    KqlType.BOOL: pa.bool_(),
    KqlType.INT: pa.int32(),
    KqlType.LONG: pa.int64(),
    KqlType.REAL: pa.float64(),
    KqlType.DECIMAL: pa.decimal128(38, 18),
    KqlType.STRING: pa.string(),
    KqlType.DATETIME: pa.timestamp("us", tz="UTC"),
    KqlType.TIMESPAN: pa.int64(),
    KqlType.GUID: pa.string(),
    KqlType.DYNAMIC: pa.string(),
}

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"{value!r} is not a bool")


def _integer(bounds: tuple[int, int]) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            number = int(value)
        else:
            number = int(str(value).strip()) if isinstance(value, str) else int(value)
        if not bounds[0] <= number <= bounds[1]:
            raise ValueError(f"{number} is out of range")
        return number

    return convert


def _real(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    return float(value)


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal") from None


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return parse_datetime_text(value)
    if hasattr(value, "to_pydatetime"):
        return _datetime(value.to_pydatetime())
    raise ValueError(f"{value!r} is not a datetime")


def _timespan(value: Any) -> int:
    if isinstance(value, timedelta):
        micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
        return micros * TICKS_PER_MICROSECOND
    if isinstance(value, bool):
        raise ValueError("a bool is not a timespan")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return parse_timespan_text(value)
    if hasattr(value, "to_pytimedelta"):
        return _timespan(value.to_pytimedelta())
    raise ValueError(f"{value!r} is not a timespan")


def _guid(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip()))


def _dynamic(value: Any) -> str:
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{":
            try:
                json.loads(text)
                return text
            except ValueError:
                pass
        return json.dumps(value)
    try:
        return json.dumps(value, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON: {exc}") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _datetime(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_CONVERT: dict[KqlType, Callable[[Any], Any]] = {
    KqlType.BOOL: _bool,
    KqlType.INT: _integer(_INT32),
    KqlType.LONG: _integer(_INT64),
    KqlType.REAL: _real,
    KqlType.DECIMAL: _decimal,
    KqlType.STRING: _string,
    KqlType.DATETIME: _datetime,
    KqlType.TIMESPAN: _timespan,
    KqlType.GUID: _guid,
    KqlType.DYNAMIC: _dynamic,
}


def _records(rows: Rows) -> list[Mapping[str, Any]]:
    if isinstance(rows, pa.Table):
        records: list[Mapping[str, Any]] = rows.to_pylist()
        return records
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas
        frame = rows.astype(object).where(rows.notna(), None)
        return list(frame.to_dict(orient="records"))
    return list(rows)


def to_arrow(table: TableDef, rows: Rows, *, now: datetime) -> pa.Table:
    """``rows`` as an Arrow table with one column per stored column of ``table``.

    Unknown fields raise (they would be lost); a missing ``TimeGenerated`` is the ingestion time.
    """
    if isinstance(rows, pa.Table):
        fast = _arrow_fast_path(table, rows, now)
        if fast is not None:
            return fast
    records = _records(rows)
    stored = table.stored_columns
    known = {c.name for c in table.columns}
    problems: list[tuple[int, str]] = []
    for i, record in enumerate(records):
        extra = [k for k in record if k not in known]
        if extra:
            problems.append((i, f"unknown column(s) {', '.join(sorted(extra))} for table {table.name}"))
    present: set[str] = set().union(*(record.keys() for record in records))
    columns: list[pa.Array] = []
    for column in stored:
        if column.name not in present and not (column.name == "TimeGenerated" and "Timestamp" in present):
            # absent from every row (most of a wide table): one fill, not a loop per row
            columns.append(_filled(table, column, len(records), now))
            continue
        values, errors = _column_values(column, records, now, table.name)
        problems.extend(errors)
        columns.append(pa.array(values, type=STORAGE_TYPES[column.type]))
    if problems:
        problems.sort()
        shown = "; ".join(f"row {i}: {reason}" for i, reason in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise IngestError(f"{len(problems)} row problem(s) for {table.name}: {shown}{more}", problems)
    return pa.Table.from_arrays(columns, names=[c.name for c in stored])


def _arrow_fast_path(table: TableDef, rows: pa.Table, now: datetime) -> pa.Table | None:
    """Cast an Arrow table column by column (vectorised); None when a value needs Python rules."""
    import pyarrow.compute as pc

    known = {c.name for c in table.columns}
    if any(name not in known for name in rows.column_names):
        return None
    columns: list[pa.Array | pa.ChunkedArray] = []
    for column in table.stored_columns:
        target = STORAGE_TYPES[column.type]
        if column.name not in rows.column_names:
            columns.append(_filled(table, column, rows.num_rows, now))
            continue
        data = rows.column(column.name)
        if column.type in (KqlType.DYNAMIC, KqlType.GUID, KqlType.TIMESPAN) and data.type != target:
            return None
        if column.type is KqlType.DATETIME and not pa.types.is_timestamp(data.type):
            return None
        try:
            cast = pc.cast(data, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        if column.type is KqlType.STRING:
            cast = pc.fill_null(cast, "")
        columns.append(cast)
    return pa.Table.from_arrays(columns, names=[c.name for c in table.stored_columns])


def _filled(table: TableDef, column: ColumnDef, count: int, now: datetime) -> pa.Array:
    """The column of a table whose rows all lack it: the ingestion time, the table name, or empty."""
    target = STORAGE_TYPES[column.type]
    if column.name == "TimeGenerated":
        fill: Any = now
    elif column.name == "Type":
        fill = table.name
    elif column.type is KqlType.STRING:
        fill = ""
    else:
        return pa.nulls(count, target)
    return pa.repeat(pa.scalar(fill, target), count)


def _column_values(
    column: ColumnDef, records: list[Mapping[str, Any]], now: datetime, table_name: str
) -> tuple[list[Any], list[tuple[int, str]]]:
    convert = _CONVERT[column.type]
    alias_sources = [column.name]
    values: list[Any] = []
    errors: list[tuple[int, str]] = []
    for i, record in enumerate(records):
        raw = None
        for source in alias_sources:
            if source in record:
                raw = record[source]
                break
        if raw is None and column.name == "TimeGenerated":
            raw = record.get("Timestamp", now)
        if raw is None and column.name == "Type":
            raw = table_name
        if raw is None or (isinstance(raw, float) and raw != raw and column.type is not KqlType.REAL):
            values.append("" if column.type is KqlType.STRING else None)
            continue
        try:
            values.append(convert(raw))
        except (ValueError, TypeError, OverflowError) as exc:
            errors.append((i, f"column {column.name} ({column.type}): {exc}"))
            values.append(None)
    return values, errors


def infer_columns(rows: Rows) -> list[tuple[str, KqlType]]:
    """KQL columns for a new custom table, from the first value seen in each field."""
    if isinstance(rows, pa.Table):
        return [(f.name, _arrow_kql_type(f.type)) for f in rows.schema]
    records = _records(rows)
    order: list[str] = []
    types: dict[str, KqlType] = {}
    for record in records:
        for key, value in record.items():
            if key not in types:
                order.append(key)
                types[key] = KqlType.UNKNOWN
            if types[key] is KqlType.UNKNOWN and value is not None:
                types[key] = _python_kql_type(value)
    return [(k, types[k] if types[k] is not KqlType.UNKNOWN else KqlType.STRING) for k in order]


def _python_kql_type(value: Any) -> KqlType:
    if isinstance(value, bool):
        return KqlType.BOOL
    if isinstance(value, int):
        return KqlType.LONG
    if isinstance(value, float):
        return KqlType.REAL
    if isinstance(value, Decimal):
        return KqlType.DECIMAL
    if isinstance(value, (datetime, date)):
        return KqlType.DATETIME
    if isinstance(value, timedelta):
        return KqlType.TIMESPAN
    if isinstance(value, uuid.UUID):
        return KqlType.GUID
    if isinstance(value, (dict, list)):
        return KqlType.DYNAMIC
    return KqlType.STRING


def _arrow_kql_type(arrow_type: pa.DataType) -> KqlType:
    if pa.types.is_boolean(arrow_type):
        return KqlType.BOOL
    if pa.types.is_integer(arrow_type):
        return KqlType.LONG
    if pa.types.is_floating(arrow_type):
        return KqlType.REAL
    if pa.types.is_decimal(arrow_type):
        return KqlType.DECIMAL
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return KqlType.DATETIME
    if pa.types.is_duration(arrow_type):
        return KqlType.TIMESPAN
    if pa.types.is_list(arrow_type) or pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type):
        return KqlType.DYNAMIC
    return KqlType.STRING


def merge_columns(existing: Iterable[ColumnDef], new: Iterable[tuple[str, KqlType]]) -> list[ColumnDef]:
    """Columns of ``new`` that ``existing`` lacks (custom tables grow by new fields)."""
    have = {c.name for c in existing}
    return [ColumnDef(n, t) for n, t in new if n not in have]
