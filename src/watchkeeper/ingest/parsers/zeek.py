"""Zeek logs, TSV or JSON, into one custom table per log: ``Zeek_<path>_CL`` (``Zeek_conn_CL``,
``Zeek_dns_CL``...).

TSV logs are read by their headers (``#separator``, ``#set_separator``, ``#empty_field``,
``#unset_field``, ``#path``, ``#fields``, ``#types``; ``#open``/``#close`` are notes): the unset
field (``-``) is an empty value, the empty field (``(empty)``) an empty string or list, ``\\xNN``
and ``\\\\`` escapes are undone. JSON logs (one object per line, Zeek's ``LogAscii::use_json``) are
read with the field types of :mod:`watchkeeper.ingest.normalize.zeek`, so that both copies of a
log make the same table. Writer metadata (``_path``, ``_write_ts``, any ``_``-prefixed key) is not
a column; the log comes from ``_path``, ``#path`` or the file name (``conn.log``, ``conn.json``).

Columns are Zeek's field names with dots as underscores (``id.orig_h`` -> ``id_orig_h``). Types
(log-ingestion spec, custom tables): ``time`` -> datetime (UTC), ``interval`` and ``double`` ->
real (seconds, as Zeek's JSON writes intervals), ``count``/``int``/``port`` -> long, ``bool`` ->
bool, ``addr``/``subnet``/``enum``/``string`` -> string, ``set[...]``/``vector[...]`` -> dynamic
lists. ``TimeGenerated`` is ``ts``; a record without one is rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, ClassVar

import orjson

from watchkeeper.ingest.normalize.zeek import known_log, log_fields
from watchkeeper.ingest.parsers.base import Parsed, line_batches
from watchkeeper.schema.types import KqlType

__all__ = ["ZeekParser", "zeek_column", "zeek_columns", "zeek_table"]

_INTEGERS = frozenset({"count", "int", "port"})
_REALS = frozenset({"double", "interval"})
_CONTAINER = re.compile(r"^(?:set|vector)\[(\w+)\]$")
_ESCAPE = re.compile(rb"\\(x[0-9A-Fa-f]{2}|\\)")
_ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")
# control characters other than tab, newline and carriage return
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D} | {0x7F}
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")
# columns every custom table has: a Zeek field of the same name (any case) gets a trailing "_"
_RESERVED = frozenset({"timegenerated", "type", "tenantid"})


def zeek_table(path: str) -> str:
    """The table of Zeek log ``path``: ``conn`` -> ``Zeek_conn_CL``."""
    return f"Zeek_{_NOT_NAME.sub('_', path)}_CL"


def zeek_column(field: str) -> str:
    """The column of Zeek field ``field``: dots (and anything else not a name character) become
    underscores, ``id.orig_h`` -> ``id_orig_h``."""
    name = _NOT_NAME.sub("_", field)
    return f"{name}_" if name.lower() in _RESERVED else name


def zeek_columns(path: str) -> dict[str, KqlType]:
    """The columns (and their types) of the table of a log Zeek's default scripts write, as this
    parser fills it; empty for a log it does not know."""
    return {zeek_column(field): _kql_type(kind) for field, kind in log_fields(path)}


def _log_of_filename(filename: str) -> str | None:
    """The log a file name names: ``conn.log``, ``conn.00:00:00-01:00:00.log.gz``, ``dns.json``."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, _ = base.partition(".")
    return stem if dot and stem else None


# ------------------------------------------------------------------------------ values


def _epoch(text: str) -> datetime:
    """Zeek's ``time`` as written (``1521911720.629574``; far dates as ``2.385616957e+09``), to
    the microsecond without float error."""
    try:
        exact = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not an epoch time: {text!r}") from None
    if not exact.is_finite():
        raise ValueError(f"not an epoch time: {text!r}")
    seconds = int(exact)
    micros = int(((exact - seconds) * 1_000_000).to_integral_value())
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=micros)


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        if _ISO_TIME.match(value):
            return datetime.fromisoformat(value).astimezone(UTC)
        return _epoch(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _epoch(repr(float(value)))
    raise ValueError(f"not a time: {value!r}")


def _unescape(text: str) -> str:
    """Undo the ASCII writer's escapes (``\\xNN`` bytes, ``\\\\``). Control characters, and bytes
    that are not UTF-8, stay ``\\xNN`` text, as Zeek's JSON writer shows them."""
    if "\\" not in text:
        return text
    raw = _ESCAPE.sub(_escaped_byte, text.encode())
    return raw.decode("utf-8", errors="backslashreplace")


def _escaped_byte(match: re.Match[bytes]) -> bytes:
    if match[1] == b"\\":
        return b"\\"
    byte = int(match[1][1:], 16)
    return match[0] if byte in _CONTROL else bytes([byte])


def _from_text(text: str, kind: str) -> Any:
    """A TSV value (escapes undone) of Zeek type ``kind``."""
    if kind == "time":
        return _epoch(text)
    if kind in _INTEGERS:
        return int(text)
    if kind in _REALS:
        return float(text)
    if kind == "bool":
        if text not in ("T", "F"):
            raise ValueError(f"not a bool (T or F): {text!r}")
        return text == "T"
    return text


def _from_json(value: Any, kind: str) -> Any:
    """A JSON value of Zeek type ``kind``."""
    item = _CONTAINER.match(kind)
    if item:
        if not isinstance(value, list):
            raise ValueError(f"expected a list for {kind}, got {type(value).__name__}")
        return [None if v is None else _from_json(v, item[1]) for v in value]
    if kind == "time":
        return _time(value)
    if isinstance(value, bool) != (kind == "bool"):
        raise ValueError(f"expected {kind}, got {value!r}")
    if kind in _INTEGERS:
        if not isinstance(value, (int, float)) or value != int(value):
            raise ValueError(f"expected a whole number ({kind}), got {value!r}")
        return int(value)
    if kind in _REALS:
        if not isinstance(value, (int, float)):
            raise ValueError(f"expected a number ({kind}), got {value!r}")
        return float(value)
    if kind != "bool" and not isinstance(value, str):
        raise ValueError(f"expected a string ({kind}), got {value!r}")
    return value


def _guess(field: str, value: Any) -> Any:
    """A JSON value of a field the Zeek log list does not type: as JSON types it, and ISO times."""
    if field == "ts" or (isinstance(value, str) and _ISO_TIME.match(value)):
        return _time(value)
    return value


# ------------------------------------------------------------------------------ TSV headers


@dataclass
class _Header:
    """The state a TSV log's header lines set."""

    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    path: str | None = None
    fields: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    problem: str | None = "data before a #fields header"

    def read(self, line: str) -> None:
        """Apply one ``#`` line."""
        if line.startswith("#separator"):
            self.separator = _unescape(line[len("#separator") :].strip())
            return
        key, _, value = line[1:].partition(self.separator)
        if key == "set_separator":
            self.set_separator = _unescape(value)
        elif key == "empty_field":
            self.empty = value
        elif key == "unset_field":
            self.unset = value
        elif key == "path":
            self.path = value
        elif key == "fields":
            self.fields, self.types = tuple(value.split(self.separator)), ()
            self.problem = None
        elif key == "types":
            self.types = tuple(value.split(self.separator))
            if len(self.types) != len(self.fields):
                self.problem = f"#types has {len(self.types)} entries for {len(self.fields)} #fields"

    def value(self, text: str, kind: str) -> Any:
        """A field's value: unset is None, ``(empty)`` an empty string or list."""
        if text == self.unset:
            return None
        item = _CONTAINER.match(kind)
        if item:
            if text == self.empty:
                return []
            parts = text.split(self.set_separator)
            return [None if p == self.unset else _from_text(_unescape(p), item[1]) for p in parts]
        if text == self.empty and kind not in _INTEGERS | _REALS | {"time", "bool"}:
            return ""
        return _from_text(_unescape(text), kind)


# ------------------------------------------------------------------------------ the parser


class ZeekParser:
    """Zeek TSV and JSON logs, one ``Zeek_<path>_CL`` table per log."""

    name: ClassVar[str] = "zeek"
    tables: ClassVar[tuple[str, ...]] = ("Zeek_*_CL",)

    def sniff(self, head: bytes, filename: str) -> bool:
        if head.startswith(b"#separator"):
            return True
        first = head.lstrip().split(b"\n", 1)[0]
        if not first.startswith(b"{") or b'"event_type"' in first:
            return False
        if re.match(rb'\{\s*"_path"\s*:\s*"', first) or (b'"ts":' in first and b'"uid":"' in first):
            return True
        path = _log_of_filename(filename)
        return path is not None and known_log(path) and b'"ts":' in first

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        return line_batches(stream, _Reader(source, _log_of_filename(source)).line)


class _Reader:
    """One source: TSV header state, and the batch being filled."""

    def __init__(self, source: str, file_log: str | None) -> None:
        self.source = source
        self.file_log = file_log
        self.header = _Header()
        self.batch = Parsed()

    def line(self, batch: Parsed, number: int, raw: bytes) -> None:
        self.batch = batch
        where = f"{self.source}:{number}"
        body = raw.rstrip(b"\r\n")
        if not body.strip():
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.batch.reject(where, body, f"not UTF-8 text: {exc.reason} at byte {exc.start}")
            return
        try:
            self._read(text)
        except ValueError as exc:
            self.batch.reject(where, body, str(exc))

    def _read(self, text: str) -> None:
        if text.startswith("#"):
            self.header.read(text)
        elif text[0] in "{[" and self.header.problem:  # JSON, unless a TSV header came first
            self._json(text)
        else:
            self._tsv(text)

    def _tsv(self, text: str) -> None:
        header = self.header
        if header.problem:
            raise ValueError(header.problem)
        values = text.split(header.separator)
        if len(values) != len(header.fields):
            raise ValueError(f"{len(values)} fields where the #fields header has {len(header.fields)}")
        types = header.types or ("string",) * len(values)
        record: dict[str, Any] = {}
        for field, kind, value in zip(header.fields, types, values, strict=True):
            try:
                record[field] = header.value(value, kind)
            except ValueError as exc:
                raise ValueError(f"field {field} ({kind}): {exc}") from None
        self._add(header.path or self.file_log, record, dict(zip(header.fields, types, strict=True)))

    def _json(self, text: str) -> None:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        path = data.get("_path")
        path = path if isinstance(path, str) and path else self.file_log
        if path is None:
            raise ValueError("no _path field, and the file name does not name a Zeek log")
        self._add(path, _typed(path, data), dict(log_fields(path)))

    def _add(self, path: str | None, record: dict[str, Any], kinds: dict[str, str]) -> None:
        if path is None:
            raise ValueError("no #path header, and the file name does not name a Zeek log")
        when = record.get("ts")
        if not isinstance(when, datetime):
            raise ValueError("no ts (the time of the event)")
        row: dict[str, Any] = {"TimeGenerated": when}
        row.update((zeek_column(field), value) for field, value in record.items())
        table = zeek_table(path)
        if table not in self.batch.columns:  # a column empty in this batch keeps its Zeek type
            self.batch.declare(table, {zeek_column(f): _kql_type(k) for f, k in kinds.items()})
        self.batch.add(table, row)


def _kql_type(kind: str) -> KqlType:
    """The KQL type of a Zeek field type (the mapping in the module docstring)."""
    if kind == "time":
        return KqlType.DATETIME
    if kind in _REALS:
        return KqlType.REAL
    if kind in _INTEGERS:
        return KqlType.LONG
    if kind == "bool":
        return KqlType.BOOL
    if kind.startswith(("set[", "vector[")):
        return KqlType.DYNAMIC
    return KqlType.STRING


def _typed(path: str, data: dict[str, Any]) -> dict[str, Any]:
    """A JSON record's fields, typed: the log's listed fields first (None when absent), then
    the record's others; writer metadata (``_path``, ``_write_ts``) left out."""
    record: dict[str, Any] = {}
    for field, kind in log_fields(path):
        value = data.get(field)
        try:
            record[field] = None if value is None else _from_json(value, kind)
        except ValueError as exc:
            raise ValueError(f"field {field} ({kind}): {exc}") from None
    for field, value in data.items():
        if field not in record and not field.startswith("_"):
            try:
                record[field] = None if value is None else _guess(field, value)
            except ValueError as exc:
                raise ValueError(f"field {field}: {exc}") from None
    return record
