"""Fitting source fields to a catalog table's columns, value by value.

A parser that maps a record field by field checks each value against the destination column's
type here, so that a value that does not fit rejects that one record (with the column and the
reason) instead of failing the whole batch in the store. Structures bound for ``string`` columns
become JSON text, as in Sentinel (e.g. ``AWSCloudTrail.RequestParameters``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from watchkeeper.schema import Catalog, ColumnDef, KqlType
from watchkeeper.schema.values import parse_datetime_text

__all__ = ["RecordError", "TableColumns", "dig", "event_time", "fit"]

# Int64 bounds of ``long``; ``int`` is 32-bit
_LONG = (-(2**63), 2**63 - 1)
_INT = (-(2**31), 2**31 - 1)


class RecordError(ValueError):
    """A record that cannot become a row; the message is the reason given with the rejection."""


def dig(record: Mapping[str, Any], *path: str) -> Any:
    """The value at ``path`` in nested objects, or None where a step is missing or not an object."""
    value: Any = record
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def event_time(value: Any, field: str) -> datetime:
    """The event time in ``field`` (ISO 8601 text, timezone-less meaning UTC); a clear error if it
    is missing or unreadable."""
    if value is None or value == "":
        raise RecordError(f"no event time: the record has no {field}")
    try:
        return fit(value, KqlType.DATETIME)  # type: ignore[no-any-return]
    except RecordError as exc:
        raise RecordError(f"{field}: {exc}") from None


def fit(value: Any, kind: KqlType) -> Any:
    """``value`` as the store takes it for a column of type ``kind``; RecordError if it cannot be."""
    if value is None:
        return None
    try:
        return _FITTERS.get(kind, _as_is)(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecordError(f"{value!r} is not a {kind}: {exc}") from None


def _as_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # as .NET and the services writing these logs spell them
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError("expected true or false")


def _as_integer(bounds: tuple[int, int]) -> Any:
    def convert(value: Any) -> int:
        if isinstance(value, (bool, dict, list)):
            raise ValueError("expected a whole number")
        number = int(value.strip()) if isinstance(value, str) else int(value)
        if isinstance(value, float) and number != value:
            raise ValueError("expected a whole number")
        if not bounds[0] <= number <= bounds[1]:
            raise ValueError("out of range")
        return number

    return convert


def _as_real(value: Any) -> float:
    if isinstance(value, (bool, dict, list)):
        raise ValueError("expected a number")
    return float(value)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise ValueError("expected a date and time")
    return parse_datetime_text(value.strip())


def _as_is(value: Any) -> Any:
    return value


_FITTERS = {
    KqlType.STRING: _as_string,
    KqlType.GUID: _as_string,
    KqlType.BOOL: _as_bool,
    KqlType.INT: _as_integer(_INT),
    KqlType.LONG: _as_integer(_LONG),
    KqlType.REAL: _as_real,
    KqlType.DATETIME: _as_datetime,
}


class TableColumns:
    """The columns of one catalog table, found by exact or case-insensitive name."""

    def __init__(self, table: str, columns: Iterable[ColumnDef]) -> None:
        self.table = table
        self.exact = {c.name: c for c in columns}
        self.folded = {name.lower(): c for name, c in self.exact.items()}

    @staticmethod
    @cache
    def of(table: str) -> TableColumns:
        """The columns of Sentinel table ``table`` (cached)."""
        definition = Catalog.sentinel().table(table)
        if definition is None:
            raise LookupError(f"{table} is not a table of the catalog")
        return TableColumns(table, definition.columns)

    def put(self, row: dict[str, Any], column: str, value: Any, field: str | None = None) -> None:
        """Set ``column`` (an exact catalog name) to ``value`` fitted to its type; None is left out.
        ``field`` names the source field in the reason when the value does not fit."""
        try:
            fitted = fit(value, self.exact[column].type)
        except RecordError as exc:
            raise RecordError(f"{field or column}: {exc}") from None
        if fitted is not None:
            row[column] = fitted

    def put_matching(self, row: dict[str, Any], record: Mapping[str, Any], skip: Iterable[str] = ()) -> None:
        """Copy every field of ``record`` whose name is a column's name, ignoring case (Graph's
        ``userPrincipalName`` is ``UserPrincipalName``), except those in ``skip``."""
        skipped = set(skip)
        for key, value in record.items():
            column = self.folded.get(key.lower())
            if column is not None and key not in skipped and column.name not in row:
                self.put(row, column.name, value, key)

    def exported_row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A row from a Log Analytics export of this table (fields named as its columns).

        ``Type`` is filled by the store and ``TenantId`` named the exporting workspace, so both are
        left out, as are fields that are not columns (a query's own ``extend``s in the export).
        """
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key in self.exact and key not in ("Type", "TenantId"):
                self.put(row, key, value)
        if "TimeGenerated" not in row:
            raise RecordError(f"no event time: the exported {self.table} row has no TimeGenerated")
        return row
