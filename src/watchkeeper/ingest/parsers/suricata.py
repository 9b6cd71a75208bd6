"""Suricata EVE JSON (``eve.json``: one event object per line) into one custom table per event
type: ``Suricata_<event_type>_CL`` (``Suricata_alert_CL``, ``Suricata_dns_CL``,
``Suricata_http_CL``, ``Suricata_flow_CL``, ``Suricata_fileinfo_CL``, ``Suricata_stats_CL``...).

Columns (log-ingestion spec, custom tables): top-level fields keep their names (``flow_id``,
``src_ip``, ``dest_port``, ``proto``, ``event_type``...); objects are flattened one level into
``<object>_<field>`` (``alert_signature``, ``alert_signature_id``, ``alert_severity``,
``http_hostname``, ``dns_rrname``, ``flow_bytes_toserver``), deeper objects and lists are dynamic
columns. The whole ``alert`` object is also kept as the dynamic column ``alert``, so that every
alert field (``metadata``, ``source``/``target``...) reaches alert providers. Suricata's
timestamps (``2017-01-30T16:12:26.985026+0100``) are datetimes wherever they appear (``timestamp``,
``flow_start``...); ``TimeGenerated`` is ``timestamp``.

A line that is not a JSON object, lacks ``event_type`` or has no readable ``timestamp`` is
rejected with its line number and the reason; so is a record whose field has another type than
the earlier records of its table gave it (the store would refuse the whole batch).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, ClassVar

import orjson

from watchkeeper.ingest.parsers.base import Parsed, line_batches

__all__ = ["SuricataEveParser", "suricata_table"]

# EVE's timestamp: ISO 8601 with a +hhmm offset (Suricata writes it with strftime's %z)
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:?\d\d|Z)$")
_EVE_LINE = re.compile(rb'^\{\s*"timestamp"\s*:\s*"[^"\n]*"\s*,[^\n]*"event_type"\s*:\s*"', re.MULTILINE)
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")
_RESERVED = frozenset({"timegenerated", "type", "tenantid"})
# objects kept whole as well as flattened: the alert provider reads every alert field
_KEPT_WHOLE = frozenset({"alert"})


def suricata_table(event_type: str) -> str:
    """The table of EVE ``event_type``: ``alert`` -> ``Suricata_alert_CL``."""
    return f"Suricata_{_NOT_NAME.sub('_', event_type)}_CL"


def _column(field: str) -> str:
    name = _NOT_NAME.sub("_", field)
    return f"{name}_" if name.lower() in _RESERVED else name


def _value(value: Any) -> Any:
    """Suricata timestamps as datetimes; every other value as JSON gives it."""
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return datetime.fromisoformat(value)
    return value


def _kind(value: Any) -> str:
    """The column kind a value makes (what the store infers for a new custom table column)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (dict, list)):
        return "dynamic"
    return {int: "long", float: "real", str: "string", datetime: "datetime"}.get(type(value), "string")


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    """Top-level fields as columns, objects one level down as ``<object>_<field>``."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        column = _column(key)
        if not isinstance(value, dict):
            row[column] = _value(value)
            continue
        if key in _KEPT_WHOLE:
            row[column] = value
        for inner, item in value.items():
            name = _column(f"{key}_{inner}")
            while name in row:  # a top-level field of the same name was there first
                name += "_"
            row[name] = _value(item)
    return row


class SuricataEveParser:
    """Suricata's EVE JSON output, one ``Suricata_<event_type>_CL`` table per event type."""

    name: ClassVar[str] = "suricata-eve"
    tables: ClassVar[tuple[str, ...]] = ("Suricata_*_CL",)

    def sniff(self, head: bytes, filename: str) -> bool:
        # any of the first lines (a log may start with a cut line): Suricata writes timestamp first
        return _EVE_LINE.search(head) is not None

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        return line_batches(stream, _Reader(source).line)


class _Reader:
    """One source: the column kinds its tables have so far, and the batch being filled."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.kinds: dict[str, dict[str, str]] = {}
        self.batch = Parsed()

    def line(self, batch: Parsed, number: int, raw: bytes) -> None:
        self.batch = batch
        body = raw.rstrip(b"\r\n")
        if not body.strip():
            return
        try:
            table, row = self._row(body)
        except ValueError as exc:
            self.batch.reject(f"{self.source}:{number}", body, str(exc))
            return
        self.batch.add(table, row)

    def _row(self, body: bytes) -> tuple[str, dict[str, Any]]:
        try:
            record = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(record, dict):
            raise ValueError(f"expected a JSON object, got {type(record).__name__}")
        event_type = record.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise ValueError("no event_type")
        stamp = record.get("timestamp")
        if not isinstance(stamp, str) or not _TIMESTAMP.match(stamp):
            raise ValueError(
                f"timestamp is not an EVE timestamp (2017-01-30T16:12:26.985026+0100): {stamp!r}"
            )
        row = {"TimeGenerated": datetime.fromisoformat(stamp), **_flatten(record)}
        table = suricata_table(event_type)
        self._check_kinds(table, row)
        return table, row

    def _check_kinds(self, table: str, row: dict[str, Any]) -> None:
        """Refuse a value of another kind than the table's earlier records gave the column
        (a whole number where there were reals is fine: the store widens it)."""
        kinds = self.kinds.setdefault(table, {})
        new: dict[str, str] = {}
        for column, value in row.items():
            if value is None:
                continue
            kind, known = _kind(value), kinds.get(column)
            if known is None:
                new[column] = kind
            elif kind != known and not (known == "real" and kind == "long"):
                raise ValueError(
                    f"field {column} is {kind} ({value!r}) where earlier {table} records have {known}"
                )
        kinds.update(new)
