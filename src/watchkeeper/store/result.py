"""Query results as watchkeeper hands them to users: KQL-typed columns and Python values."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from watchkeeper.schema.types import TICKS_PER_MICROSECOND, KqlType
from watchkeeper.schema.values import format_timespan

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["QueryResult", "QueryTally", "python_value", "value_converter"]


@dataclass(frozen=True)
class QueryTally:
    """How many rows a query returns and the span of their ``TimeGenerated``, without the rows:
    what an alert that carries no row values needs. ``rows`` is exact (no row limit applies)."""

    rows: int
    first: datetime | None = None
    last: datetime | None = None


@dataclass
class QueryResult:
    """A result table.

    ``columns`` are ``(name, kql_type)`` pairs; ``rows`` are tuples of Python values: ``datetime``
    (UTC, aware) for datetime, ``timedelta`` for timespan, parsed JSON for dynamic, ``str`` for
    guid. ``truncated`` says the row limit cut the result; ``warnings`` says why, for people.
    """

    columns: list[tuple[str, KqlType]]
    rows: list[tuple[Any, ...]]
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    sql: str = ""

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def to_dicts(self) -> list[dict[str, Any]]:
        names = self.column_names
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def to_arrow(self) -> pa.Table:
        """An Arrow table: timespans as ``duration[us]``, dynamic as JSON text."""
        arrays = []
        for i, (_, kql_type) in enumerate(self.columns):
            values = [row[i] for row in self.rows]
            if kql_type is KqlType.DYNAMIC:
                values = [None if v is None else json.dumps(v) for v in values]
            arrays.append(pa.array(values, type=_ARROW_TYPES.get(kql_type)))
        return pa.Table.from_arrays(arrays, names=self.column_names)

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame.from_records(self.rows, columns=self.column_names)
        return frame

    def to_json(self) -> dict[str, Any]:
        """``{"columns": [{"name", "type"}], "rows": [[...]]}`` with JSON-safe values."""
        return {
            "columns": [{"name": n, "type": t.value} for n, t in self.columns],
            "rows": [[_json_value(v) for v in row] for row in self.rows],
        }


_ARROW_TYPES: dict[KqlType, pa.DataType] = {
    KqlType.BOOL: pa.bool_(),
    KqlType.INT: pa.int32(),
    KqlType.LONG: pa.int64(),
    KqlType.REAL: pa.float64(),
    KqlType.STRING: pa.string(),
    KqlType.DATETIME: pa.timestamp("us", tz="UTC"),
    KqlType.TIMESPAN: pa.duration("us"),
    KqlType.GUID: pa.string(),
    KqlType.DYNAMIC: pa.string(),
}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, timedelta):
        micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
        return format_timespan(micros * TICKS_PER_MICROSECOND)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def _to_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _to_timespan(value: Any) -> Any:
    if isinstance(value, int):
        return timedelta(microseconds=value / 10)
    return value


def _to_dynamic(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list) and _holds_datetimes(value):
        return [_datetime_element(v) for v in value]
    return value


def _holds_datetimes(values: list[Any]) -> bool:
    """Whether a list from the engine is a list of datetimes (a make-series axis): the first
    value that is not null says (a list holds one type)."""
    return isinstance(next((v for v in values if v is not None), None), datetime)


def _datetime_element(value: datetime | None) -> str | None:
    """A datetime inside a dynamic value as Kusto shows it: ISO 8601 in UTC with seven
    fractional digits (``2025-12-02T00:00:00.0000000Z``); the engine hands over UTC wall times."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "0Z"


class _DynamicColumn:
    """The dynamic values of one result column, remembering the last datetime list written:
    the series of a make-series share one time axis, so every row after the first costs one
    comparison of two lists and a copy, both done by the interpreter's C code."""

    def __init__(self) -> None:
        self._axis: list[Any] | None = None
        self._text: list[str | None] = []

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, list) or not _holds_datetimes(value):
            return _to_dynamic(value)
        if value != self._axis:
            self._axis, self._text = value, [_datetime_element(v) for v in value]
        return list(self._text)


def _to_guid(value: Any) -> Any:
    return None if value is None else str(value)


def _to_string(value: Any) -> Any:
    return "" if value is None else value


_CONVERTERS: dict[KqlType, Callable[[Any], Any]] = {
    KqlType.DATETIME: _to_datetime,
    KqlType.TIMESPAN: _to_timespan,
    KqlType.DYNAMIC: _to_dynamic,
    KqlType.GUID: _to_guid,
    KqlType.STRING: _to_string,
}


def value_converter(kql_type: KqlType) -> Callable[[Any], Any] | None:
    """The function turning an engine value of ``kql_type`` into watchkeeper's Python value."""
    return _CONVERTERS.get(kql_type)


def python_value(value: Any, kql_type: KqlType) -> Any:
    if value is None and kql_type is not KqlType.STRING:
        return None
    convert = _CONVERTERS.get(kql_type)
    return convert(value) if convert else value


def convert_rows(rows: Sequence[tuple[Any, ...]], types: Sequence[KqlType]) -> list[tuple[Any, ...]]:
    """Engine rows to watchkeeper values (only columns whose type needs it are touched)."""
    converters = [
        (i, _DynamicColumn() if t is KqlType.DYNAMIC else _CONVERTERS[t])
        for i, t in enumerate(types)
        if t in _CONVERTERS
    ]
    if not converters:
        return [tuple(r) for r in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, convert in converters:
            v = values[i]
            if v is not None or types[i] is KqlType.STRING:
                values[i] = convert(v)
        out.append(tuple(values))
    return out
