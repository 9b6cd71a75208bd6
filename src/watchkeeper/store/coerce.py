"""Rows in -> an Arrow table in the table's storage types, or an :class:`IngestError` naming the bad rows.

Accepted inputs: a list of dicts, a pyarrow Table, or a pandas DataFrame. Values are converted the
way Kusto ingestion converts them: ISO text to datetime, ``timedelta``/text to timespan ticks,
any JSON-able value (or JSON text) to dynamic, missing strings to ``""``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.errors import IngestError
from watchkeeper.schema.catalog import ColumnDef, TableDef
from watchkeeper.schema.types import TICKS_PER_MICROSECOND, KqlType
from watchkeeper.schema.values import EPOCH, PLAIN_ISO_PATTERN, parse_datetime_text, parse_timespan_text

__all__ = ["STORAGE_TYPES", "Rows", "infer_columns", "to_arrow", "to_arrow_by_cell"]

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
    ticks = _ticks(value)
    if not _INT64[0] <= ticks <= _INT64[1]:  # stored as 64-bit ticks
        raise ValueError(f"{value!r} is out of the timespan range")
    return ticks


def _ticks(value: Any) -> int:
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
        return _ticks(value.to_pytimedelta())
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


def _fields(records: list[Mapping[str, Any]]) -> dict[str, None]:
    """Every field of ``records``, in the order they first appear (gathered in C, not per cell)."""
    return dict.fromkeys(chain.from_iterable(records))


def to_arrow(table: TableDef, rows: Rows, *, now: datetime) -> pa.Table:
    """``rows`` as an Arrow table with one column per stored column of ``table``.

    Unknown fields raise (they would be lost); a missing ``TimeGenerated`` is the ingestion time.
    A column whose values all have the Python type its column type expects (text for text, ints
    for ints, ISO 8601 text or datetimes for datetimes, ...) is converted whole by Arrow; any other
    column value by value, by the same rules (:func:`to_arrow_by_cell`, which a test holds it to).
    """
    if isinstance(rows, pa.Table):
        fast = _arrow_fast_path(table, rows, now)
        if fast is not None:
            return fast
    return _build(table, _records(rows), now, _column_array)


def to_arrow_by_cell(table: TableDef, rows: Rows, *, now: datetime) -> pa.Table:
    """:func:`to_arrow` with every value converted on its own in Python: the reference for what
    to_arrow's column-wise conversions must give (and what they fall back to)."""
    return _build(table, _records(rows), now, _column_by_cell)


_ColumnBuilder = Callable[
    [ColumnDef, list[Mapping[str, Any]], datetime, str], tuple[pa.Array, list[tuple[int, str]]]
]


def _build(
    table: TableDef, records: list[Mapping[str, Any]], now: datetime, build: _ColumnBuilder
) -> pa.Table:
    present = _fields(records)
    problems = _unknown_fields(table, records, present)
    absent = _absent_columns(table, len(records), now)
    columns: list[pa.Array] = []
    for column in table.stored_columns:
        if column.name not in present and not (column.name == "TimeGenerated" and "Timestamp" in present):
            columns.append(absent(column))  # most of a wide table: one array, not a loop per row
            continue
        array, errors = build(column, records, now, table.name)
        problems.extend(errors)
        columns.append(array)
    if problems:
        problems.sort()
        shown = "; ".join(f"row {i}: {reason}" for i, reason in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise IngestError(f"{len(problems)} row problem(s) for {table.name}: {shown}{more}", problems)
    return pa.Table.from_arrays(columns, names=[c.name for c in table.stored_columns])


def _unknown_fields(
    table: TableDef, records: list[Mapping[str, Any]], present: Mapping[str, None]
) -> list[tuple[int, str]]:
    """A problem for each row with fields the table lacks (looked for row by row only if any has)."""
    known = {c.name for c in table.columns}
    if all(name in known for name in present):
        return []
    problems: list[tuple[int, str]] = []
    for i, record in enumerate(records):
        extra = [k for k in record if k not in known]
        if extra:
            problems.append((i, f"unknown column(s) {', '.join(sorted(extra))} for table {table.name}"))
    return problems


def _arrow_fast_path(table: TableDef, rows: pa.Table, now: datetime) -> pa.Table | None:
    """Cast an Arrow table column by column (vectorised); None when a value needs Python rules."""
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


def _absent_columns(table: TableDef, count: int, now: datetime) -> Callable[[ColumnDef], pa.Array]:
    """The columns of a batch whose rows all lack them: one array per type, shared (arrays are
    immutable), since a wide table has hundreds such columns."""
    made: dict[KqlType, pa.Array] = {}

    def absent(column: ColumnDef) -> pa.Array:
        if column.name in _FILLED_WHEN_MISSING:
            return _filled(table, column, count, now)
        if column.type not in made:
            made[column.type] = _filled(table, column, count, now)
        return made[column.type]

    return absent


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


def _column_array(
    column: ColumnDef, records: list[Mapping[str, Any]], now: datetime, table_name: str
) -> tuple[pa.Array, list[tuple[int, str]]]:
    """One column, converted whole when its values allow it, else value by value."""
    values = [record.get(column.name) for record in records]
    types = set(map(type, values))
    if not (_NONE in types and column.name in _FILLED_WHEN_MISSING):
        whole = _vectorised(column.type, values, types)
        if whole is not None:
            return whole, []
    return _column_by_cell(column, records, now, table_name)


def _column_by_cell(
    column: ColumnDef, records: list[Mapping[str, Any]], now: datetime, table_name: str
) -> tuple[pa.Array, list[tuple[int, str]]]:
    values, errors = _column_values(column, records, now, table_name)
    return pa.array(values, type=STORAGE_TYPES[column.type]), errors


def _column_values(
    column: ColumnDef, records: list[Mapping[str, Any]], now: datetime, table_name: str
) -> tuple[list[Any], list[tuple[int, str]]]:
    convert = _CONVERT[column.type]
    values: list[Any] = []
    errors: list[tuple[int, str]] = []
    for i, record in enumerate(records):
        raw = record.get(column.name)
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


# ------------------------------------------------------------------ whole-column conversions

# the Python types whose values Arrow converts exactly as the converters above do, per column type
# (bool is not int here: Arrow refuses True for an integer column, the converters take it as 1)
_NONE = type(None)
_WHOLE: dict[KqlType, frozenset[type]] = {
    KqlType.BOOL: frozenset({bool, _NONE}),
    KqlType.INT: frozenset({int, _NONE}),
    KqlType.LONG: frozenset({int, _NONE}),
    KqlType.REAL: frozenset({float, int, _NONE}),
}
# columns a missing value is filled in for, row by row (not null)
_FILLED_WHEN_MISSING = frozenset({"TimeGenerated", "Type"})
_TIMESTAMP = STORAGE_TYPES[KqlType.DATETIME]
# the instants Python's datetime holds, in microseconds since the epoch: the converters reject the
# others (OverflowError), Arrow would keep them
_PYTHON_RANGE = (
    (datetime.min.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1),
    (datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1),
)
_ISO_TEXT = f"^{PLAIN_ISO_PATTERN}$"
_ZONED = r"(Z|[+-]\d\d:\d\d)$"


def _vectorised(kind: KqlType, values: list[Any], types: set[type]) -> pa.Array | None:
    """``values`` converted by Arrow in one call, or None if they need the converters one by one
    (types Arrow would treat differently, text Arrow does not read, a value out of range)."""
    try:
        if kind is KqlType.STRING:
            return _texts(values, types)
        if kind is KqlType.DATETIME:
            return _datetimes(values, types)
        if kind in _WHOLE and types <= _WHOLE[kind]:
            return pa.array(values, STORAGE_TYPES[kind])
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        pass  # e.g. an int out of the column's range: the converters say which row
    return None


def _texts(values: list[Any], types: set[type]) -> pa.Array | None:
    if not types <= {str, _NONE}:
        return None
    array = pa.array(values, pa.string())
    return pc.fill_null(array, "") if array.null_count else array


def _datetimes(values: list[Any], types: set[type]) -> pa.Array | None:
    if types <= {datetime, _NONE}:
        array = _fixed_zone_datetimes(values)
    elif types <= {str, _NONE}:
        array = _datetimes_from_text(pa.array(values, pa.string()))
    else:
        return None
    if array is None:
        return None
    low, high = pc.min_max(pc.cast(array, pa.int64())).values()
    in_range = not low.is_valid or (_PYTHON_RANGE[0] <= low.as_py() and high.as_py() <= _PYTHON_RANGE[1])
    return array if in_range else None


def _fixed_zone_datetimes(values: list[Any]) -> pa.Array | None:
    """Naive datetimes (UTC, as the converter takes them) and ones with a fixed offset in whole
    seconds (Arrow drops an offset's microseconds, Python keeps them); None for other zones."""
    zones = {value.tzinfo for value in values if value is not None}
    fixed = all(
        zone is None or (isinstance(zone, timezone) and not zone.utcoffset(None).microseconds)
        for zone in zones
    )
    return pa.array(values, _TIMESTAMP) if fixed else None


def _datetimes_from_text(text: pa.Array) -> pa.Array | None:
    """Plain ISO 8601 text (what ingested data carries) read by Arrow, a time without a zone as
    UTC; None when a value is in another form (the general parser reads those)."""
    if not pc.all(pc.match_substring_regex(text, _ISO_TEXT)).as_py():
        return None
    zoned = pc.match_substring_regex(text, _ZONED)
    marked = pc.if_else(zoned, text, pc.binary_join_element_wise(text, "Z", ""))
    return pc.cast(marked, _TIMESTAMP)


def infer_columns(rows: Rows) -> list[tuple[str, KqlType]]:
    """KQL columns for a new custom table, from the first value seen in each field."""
    if isinstance(rows, pa.Table):
        return [(f.name, _arrow_kql_type(f.type)) for f in rows.schema]
    records = _records(rows)
    return [(name, _first_type(records, name)) for name in _fields(records)]


def _first_type(records: list[Mapping[str, Any]], name: str) -> KqlType:
    """The type of the first value of field ``name`` that is not null (text if none is)."""
    value = next((v for record in records if (v := record.get(name)) is not None), None)
    return KqlType.STRING if value is None else _python_kql_type(value)


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
