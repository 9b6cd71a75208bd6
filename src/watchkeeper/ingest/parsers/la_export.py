"""Log Analytics / Sentinel table exports -> the table each record belongs to.

Accepted sources: rows exported from a Log Analytics workspace (or a Sentinel hunting query, or
Defender XDR advanced hunting), one JSON object per line, or a JSON array of them; the records
carry the table's own column names (``sentinel-table-schemas.md``, i.e. the catalog), e.g. the OTRF
Golden SAML and Log4Shell recordings.

Which table: the record's ``Type`` when it names a table of the catalog (or a custom ``_CL``
table). Otherwise -- advanced hunting writes no ``Type``, and an exporting query may overwrite it
(``extend Type = ...``) -- the table is the one whose columns hold most of the record's fields that
have a value (more than half of them, or the record is rejected naming the best candidate); ties
go to the table whose columns the record lacks fewest of, since a union's export carries every
leg's columns.

Column mapping (``sentinel-table-schemas.md``): a field becomes the column of its name. Names the
exporter decorated are undone: Azure Data Explorer's type suffixes for a column exported under two
types (``EventData_dynamic``, ``ReportId_long``: the value goes to ``EventData``/``ReportId``, the
non-empty variant winning) and the portal's `` [UTC]`` on datetime columns (``TimeGenerated
[UTC]``, its ``M/d/yyyy, h:mm:ss.fff AM`` text read too). Advanced hunting's ``Timestamp`` is
``TimeGenerated`` (the Device* and Email* tables alias it). Values keep their JSON types; dynamic
columns exported as JSON text are parsed back to objects and arrays. ``Type`` is left to the store
(it fills the table name); ``TenantId`` keeps the exporting workspace's id. A record without a time
is rejected.

Fields the table has no column for: empty ones (null, "", [], {}) are dropped, nothing is lost. A
table with a dynamic property bag (``AdditionalFields``, ``ExtendedProperties``, ``AdditionalData``)
takes the others into it, under their own names. For a table without one, the row is still stored,
and the fields it cannot hold are recorded as a rejection (so in ``IngestionErrors``: the record's
position, the fields as JSON, and a reason naming them and the table): dropping the whole record
for an exporting query's ``extend``s or the legacy agent columns an export carries (``MG``,
``TimeCollected``) would lose the event, and dropping the fields would lose them silently.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, BinaryIO, ClassVar

import orjson

from watchkeeper.ingest.normalize.columns import RecordError, fit
from watchkeeper.ingest.parsers.base import Parsed, Rejected
from watchkeeper.ingest.parsers.json_records import JsonRecord, read_json_records
from watchkeeper.schema import Catalog, KqlType, TableDef
from watchkeeper.schema.catalog import is_custom_table_name

__all__ = ["LogAnalyticsExportParser", "exported_rows"]

# the dynamic columns a table keeps extra properties in (Defender XDR, Anomalies, DNS audit ...)
_PROPERTY_BAGS = ("AdditionalFields", "ExtendedProperties", "AdditionalData")
# Azure Data Explorer names a column exported under several types <column>_<type>
_TYPE_SUFFIX = re.compile(r"^(.+)_(string|dynamic|long|int|real|bool|datetime|guid|timespan|decimal)$")
# the portal's export marks datetime columns with the zone
_UTC = " [UTC]"
# columns a table has whatever sent it, missing from advanced hunting's exports: they say nothing of
# which table a record is
_STANDARD = frozenset({"TenantId", "Type", "SourceSystem", "MachineGroup", "TimeGenerated", "Timestamp"})
_TYPE_VALUE = re.compile(rb'"Type"\s*:\s*"([A-Za-z_][A-Za-z0-9_]*)"')
_TIME_KEY = re.compile(rb'"TimeGenerated(?: \[UTC\])?"\s*:')
_HUNTING_KEYS = re.compile(rb'"(Timestamp|ActionType|ReportId(?:_long|_string)?)"\s*:')
# lines of the head that sniffing reads
_SNIFF_LINES = 3


class LogAnalyticsExportParser:
    """Log Analytics / Sentinel / advanced hunting exports into the tables their records name."""

    name: ClassVar[str] = "la-export"
    tables: ClassVar[tuple[str, ...]] = ("<Type>",)

    def sniff(self, head: bytes, filename: str) -> bool:
        """One JSON object per line, the first with ``Type`` naming a catalog or ``_CL`` table and a
        ``TimeGenerated`` (or ``TimeGenerated [UTC]``), or an advanced hunting row (``Timestamp``,
        ``ActionType``, ``ReportId``), the next ones timed too (their ``Type`` may be a query's own);
        a first line longer than the head is judged on its start."""
        text = head.lstrip()
        if text[:1] != b"{":
            return False
        *whole, rest = text.split(b"\n")
        if not whole:
            return _partial_is_export(rest)
        records = [_object(line) for line in whole[:_SNIFF_LINES] if line.strip()]
        return (
            bool(records) and records[0] is not None and _is_export(records[0]) and all(map(_is_row, records))
        )

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """Every record's row in its table, in batches; unreadable records are rejected."""
        batch = Parsed()
        for item in read_json_records(stream, source, wrappers=()):
            if isinstance(item, Rejected):
                batch.rejected.append(item)
            else:
                _add(batch, item)
            if batch.full:
                yield batch
                batch = Parsed()
        if batch.rows or batch.rejected:
            yield batch


# ---------------------------------------------------------------------------------------- sniffing


def _object(line: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _is_export(record: dict[str, Any]) -> bool:
    kind = record.get("Type")
    if isinstance(kind, str) and _is_table_name(kind):
        return "TimeGenerated" in record or "TimeGenerated" + _UTC in record
    keys = set(record)
    return (
        kind is None
        and {"Timestamp", "ActionType"} <= keys
        and bool(keys & {"ReportId", "ReportId_long", "ReportId_string"})
    )


def _is_row(record: dict[str, Any] | None) -> bool:
    return record is not None and bool({"TimeGenerated", "TimeGenerated" + _UTC, "Timestamp"} & set(record))


def _partial_is_export(start: bytes) -> bool:
    named = _TYPE_VALUE.search(start)
    if named is not None:
        return _is_table_name(named.group(1).decode()) and _TIME_KEY.search(start) is not None
    return len({m.split(b"_")[0] for m in _HUNTING_KEYS.findall(start)}) == 3


def _is_table_name(name: str) -> bool:
    return is_custom_table_name(name) or _catalog_table(name) is not None


# ----------------------------------------------------------------------------------------- mapping


def _add(batch: Parsed, item: JsonRecord) -> None:
    if not isinstance(item.value, dict):
        batch.reject(item.where, item.raw, f"expected a JSON object, got {type(item.value).__name__}")
        return
    try:
        table, row, unstored = exported_rows(item.value)
    except RecordError as exc:
        batch.reject(item.where, item.raw, str(exc))
        return
    batch.add(table, row)
    if unstored:
        names = ", ".join(sorted(unstored))
        reason = f"{table} has no column for {names}: the row was stored without them; they are kept here"
        batch.reject(item.where, json.dumps(unstored, ensure_ascii=False, default=str), reason)


def exported_rows(record: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(table, row, fields with a value the table has no place for) of one exported record;
    RecordError when its table cannot be told or a value does not fit its column."""
    kind = record.get("Type")
    if isinstance(kind, str) and is_custom_table_name(kind):
        return kind, _custom_row(record), {}
    table = (_catalog_table(kind) if isinstance(kind, str) else None) or _inferred_table(record)
    row, extra = _Plan.of(table.name, tuple(record), table.name != kind).row(record)
    return table.name, row, _into_property_bag(table, row, extra)


@cache
def _catalog() -> Catalog:
    return Catalog.sentinel()


def _catalog_table(name: str) -> TableDef | None:
    """The catalog's (not custom) table called ``name``."""
    table = _catalog().table(name)
    return table if table is not None and not table.is_custom else None


def _custom_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A custom table's row: every field but ``Type``, as exported, with the time parsed."""
    row = {key.removesuffix(_UTC): value for key, value in record.items() if key != "Type"}
    row["TimeGenerated"] = _time(row.get("TimeGenerated"), "TimeGenerated")
    return row


def _time(value: Any, field: str) -> Any:
    if value is None or value == "":
        raise RecordError(f"no event time: the record has no {field}")
    try:
        return fit(value.replace(", ", " ") if isinstance(value, str) else value, KqlType.DATETIME)
    except RecordError as exc:
        raise RecordError(f"{field}: {exc}") from None


def _into_property_bag(table: TableDef, row: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Move ``extra`` into the table's property bag where it has one; what is left over."""
    bag_name = next((n for n in _PROPERTY_BAGS if _is_dynamic(table, n)), None)
    if bag_name is None or not extra:
        return extra
    bag = row.get(bag_name, {})
    if not isinstance(bag, dict):
        return extra
    left = {k: v for k, v in extra.items() if k in bag}
    row[bag_name] = {**bag, **{k: v for k, v in extra.items() if k not in bag}}
    return left


def _is_dynamic(table: TableDef, name: str) -> bool:
    column = table.column(name)
    return column is not None and column.alias_of is None and column.type is KqlType.DYNAMIC


# ------------------------------------------------------------------------------- table inference


def _inferred_table(record: Mapping[str, Any]) -> TableDef:
    """The catalog table a record without a usable ``Type`` belongs to (see the module docstring)."""
    valued = frozenset(k for k, v in record.items() if not _empty(v) and k != "Type")
    best = _best_table(valued, frozenset(record))
    if best is None:
        raise RecordError("no Type naming a table, and no table of the catalog has columns for it")
    table, held = best
    if held * 2 <= len(valued):
        raise RecordError(
            f"no Type naming a table, and no table of the catalog has columns for most of its {len(valued)} "
            f"fields (the closest, {table.name}, has {held})"
        )
    return table


@lru_cache(maxsize=1024)
def _best_table(valued: frozenset[str], keys: frozenset[str]) -> tuple[TableDef, int] | None:
    """The table holding most of the ``valued`` fields, then lacking fewest columns among ``keys``;
    with how many it holds."""
    holding = _tables_by_column()
    held: Counter[str] = Counter()
    for key in valued:
        held.update({table for name in _names_for(key) for table in holding.get(name, ())})
    if not held:
        return None
    most = max(held.values())
    leaders = sorted(table for table, count in held.items() if count == most)
    chosen = min(leaders, key=lambda name: _lacking(_catalog()[name], keys))
    return _catalog()[chosen], most


def _lacking(table: TableDef, keys: frozenset[str]) -> int:
    """How many of the table's own columns (not the standard ones) no field of the record fills."""
    columns = {c.name: c for c in table.columns}
    named = {_column_for(key, columns) for key in keys}
    return sum(1 for name in columns if name not in named and name not in _STANDARD and name[:1] != "_")


@cache
def _tables_by_column() -> dict[str, tuple[str, ...]]:
    """The catalog's tables (custom tables aside) that have each column name."""
    catalog = _catalog()
    found: dict[str, list[str]] = {}
    for name, table in catalog.items():
        if not table.is_custom:
            for column in table.columns:
                found.setdefault(column.name, []).append(name)
    return {column: tuple(tables) for column, tables in found.items()}


def _names_for(key: str) -> set[str]:
    """The column names an exported field name may stand for: itself, undecorated."""
    bare = key.removesuffix(_UTC)
    typed = _TYPE_SUFFIX.match(bare)
    return {key, bare} | ({typed.group(1)} if typed is not None else set())


def _column_for(key: str, columns: Mapping[str, Any]) -> str | None:
    """The column an exported field name stands for, or None."""
    if key in columns:
        return key
    bare = key.removesuffix(_UTC)
    if bare in columns:
        return bare
    typed = _TYPE_SUFFIX.match(bare)
    return typed.group(1) if typed is not None and typed.group(1) in columns else None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# ------------------------------------------------------------------------------------- one row


@dataclass(frozen=True, slots=True)
class _Plan:
    """How the fields of records of one shape (the same keys) become a table's row: per column, its
    type and the fields that stand for it; and the fields no column stands for."""

    table: str
    columns: tuple[tuple[str, KqlType, tuple[str, ...]], ...]
    unplaced: tuple[str, ...]

    @staticmethod
    @lru_cache(maxsize=4096)
    def of(table_name: str, keys: tuple[str, ...], keep_type: bool) -> _Plan:
        """``keep_type``: ``Type`` is not the table's name (a query's own value), so it is not
        left to the store but one of the fields without a column."""
        columns = {c.name: c for c in _catalog()[table_name].columns}
        grouped: dict[str, list[str]] = {}
        unplaced = []
        for key in keys:
            if key == "Type" and not keep_type:
                continue
            column = None if key == "Type" else _column_for(key, columns)
            if column is None:
                unplaced.append(key)
            else:  # Timestamp is TimeGenerated
                grouped.setdefault(columns[column].alias_of or column, []).append(key)
        placed = tuple((name, columns[name].type, tuple(fields)) for name, fields in grouped.items())
        return _Plan(table_name, placed, tuple(unplaced))

    def row(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(row, fields with a value and no column)."""
        row: dict[str, Any] = {}
        extra = {f: record[f] for f in self.unplaced if not _empty(record[f])}
        for column, kind, fields in self.columns:
            chosen = fields[0]
            if len(fields) > 1:  # the column under several names: the one with a value wins
                chosen, *others = sorted(fields, key=lambda f: _preference(column, kind, f, record[f]))
                extra.update(
                    {f: record[f] for f in others if not _empty(record[f]) and record[f] != record[chosen]}
                )
            _put(row, column, kind, chosen, record[chosen])
        if "TimeGenerated" not in row:
            raise RecordError(f"no event time: the exported {self.table} row has no TimeGenerated")
        return row, extra


def _preference(column: str, kind: KqlType, field: str, value: Any) -> tuple[bool, bool, bool]:
    """Sort key: fields with a value first, then the column's own name, then its type's suffix."""
    return _empty(value), field != column, not field.endswith(f"_{kind}")


def _put(row: dict[str, Any], column: str, kind: KqlType, field: str, value: Any) -> None:
    if value is None:
        return
    if kind is KqlType.STRING and type(value) is str:
        row[column] = value
        return
    if field.endswith(_UTC) and isinstance(value, str):
        value = value.replace(", ", " ")  # the portal writes "5/11/2022, 6:10:20.123 PM"
    if kind is KqlType.DYNAMIC and isinstance(value, str):
        value = _json_text(value)
    try:
        fitted = fit(value, kind)
    except RecordError as exc:
        raise RecordError(f"{field}: {exc}") from None
    if fitted is not None:
        row[column] = fitted


def _json_text(value: str) -> Any:
    """A dynamic value exported as JSON text, parsed back; other text stays text."""
    if value.lstrip()[:1] not in ("{", "["):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value
