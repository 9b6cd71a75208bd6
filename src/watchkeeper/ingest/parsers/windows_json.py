"""Windows events already flattened to JSON lines: the OTRF Security-Datasets layout (also what NXLog's
``to_json`` and Logstash write): one object per line with the header fields (``EventID``, ``Channel``,
``Hostname``, ``SourceName``, ``TimeCreated`` or ``@timestamp``, ``Task``, ``Message``, ...) and the
event-data fields side by side at the top level.

Rows go through the same normalisation as EVTX records (:mod:`watchkeeper.ingest.normalize.windows`):
``SecurityEvent`` for the Security channel, ``Event`` for the others, and the Defender XDR ``Device*``
tables for Sysmon (:mod:`watchkeeper.ingest.normalize.sysmon`). ``TimeGenerated`` is ``@timestamp`` when
the line has one, else ``TimeCreated``/``EventTime`` (UTC when it names no zone); ``Message`` becomes
``Event.RenderedDescription``. A line that is not a JSON object, or lacks ``EventID``, ``Channel`` or a
time, is rejected with its line number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

import orjson

from watchkeeper.ingest.normalize.windows import WINDOWS_TABLES, WindowsRecord, as_int, parse_time, rows_for
from watchkeeper.ingest.parsers.base import Parsed, line_batches

__all__ = ["WindowsJsonParser", "record_from_flat"]

# header fields of the flattened layouts; everything else on the line is event data
_HEADER_FIELDS = frozenset(
    {
        "EventID", "Channel", "Hostname", "Computer", "SourceName", "ProviderName", "ProviderGuid",
        "TimeCreated", "@timestamp", "@version", "EventTime", "EventReceivedTime", "Task", "Message",
        "Keywords", "Level", "EventRecordID", "RecordNumber", "Version", "Opcode", "OpcodeValue",
        "ThreadID", "ExecutionProcessID", "ActivityID", "UserID", "SourceModuleName", "SourceModuleType",
        "Severity", "SeverityValue", "host", "port", "tags",
    }
)  # fmt: skip
_TIME_FIELDS = ("@timestamp", "TimeCreated", "EventTime")
# a first line carrying an event id and a channel or provider; not a Log Analytics export (TimeGenerated)
_SNIFF_EVENT = re.compile(rb'^\s*\{.*"EventID"\s*:')
_SNIFF_SOURCE = re.compile(rb'"(?:Channel|SourceName)"\s*:\s*"')


class WindowsJsonParser:
    """Flattened Windows events (JSON lines) -> ``SecurityEvent``, ``Event`` and the Device* tables."""

    name: ClassVar[str] = "windows-json"
    tables: ClassVar[tuple[str, ...]] = WINDOWS_TABLES

    def sniff(self, head: bytes, filename: str) -> bool:
        """The first line is a JSON object with ``EventID`` and ``Channel``/``SourceName`` and is not a
        Log Analytics export (those carry ``TimeGenerated`` and ``Type`` and belong to their table)."""
        first = head.lstrip().split(b"\n", 1)[0]
        return (
            _SNIFF_EVENT.match(first) is not None
            and _SNIFF_SOURCE.search(first) is not None
            and b'"TimeGenerated"' not in first
        )

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """Every line of the source, in batches; unreadable lines are rejections naming the line."""
        return line_batches(stream, lambda batch, number, line: _add_line(batch, line, f"{source}:{number}"))


def _add_line(batch: Parsed, line: bytes, where: str) -> None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        reason = "truncated line" if not line.endswith(b"\n") else "not JSON"
        batch.reject(where, line, f"{reason}: {exc}")
        return
    if not isinstance(obj, dict):
        batch.reject(where, line, f"expected a JSON object, got {type(obj).__name__}")
        return
    try:
        record = record_from_flat(obj)
    except ValueError as exc:
        batch.reject(where, line, str(exc))
        return
    for table, row in rows_for(record):
        batch.add(table, row)


def record_from_flat(obj: dict[str, Any]) -> WindowsRecord:
    """A :class:`WindowsRecord` from one flattened event; ValueError says what is missing."""
    event_id = as_int(obj.get("EventID"))
    if event_id is None:
        raise ValueError(f"no EventID (got {obj.get('EventID')!r})")
    channel = obj.get("Channel")
    if not isinstance(channel, str) or not channel:
        raise ValueError("no Channel")
    event_time = next((t for t in (parse_time(obj.get(f)) for f in _TIME_FIELDS) if t is not None), None)
    if event_time is None:
        raise ValueError(f"no event time: none of {', '.join(_TIME_FIELDS)} is a valid time")
    return WindowsRecord(
        channel=channel,
        provider=str(obj.get("SourceName") or obj.get("ProviderName") or ""),
        event_id=event_id,
        computer=str(obj.get("Hostname") or obj.get("Computer") or ""),
        time=event_time,
        record_id=as_int(obj.get("EventRecordID") if "EventRecordID" in obj else obj.get("RecordNumber")),
        level=as_int(obj.get("Level")),
        task=as_int(obj.get("Task")),
        opcode=as_int(obj.get("OpcodeValue")),
        keywords=_keywords(obj.get("Keywords")),
        version=as_int(obj.get("Version")),
        correlation=obj.get("ActivityID"),
        process_id=as_int(obj.get("ExecutionProcessID")),
        thread_id=as_int(obj.get("ThreadID")),
        user_id=obj.get("UserID"),
        message=obj.get("Message"),
        data={k: v for k, v in obj.items() if k not in _HEADER_FIELDS},
    )


def _keywords(value: Any) -> str | None:
    """Keywords as hex text (NXLog writes them as a signed 64-bit number)."""
    if isinstance(value, int):
        return f"0x{value & 0xFFFFFFFFFFFFFFFF:x}"
    return value if isinstance(value, str) else None
