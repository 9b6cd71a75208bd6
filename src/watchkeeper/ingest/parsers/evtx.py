"""Windows event log files (``.evtx``, the binary XML format of the Windows Event Log service).

Records are read with the ``evtx`` library (its JSON rendering of each record's XML) and written through
:mod:`watchkeeper.ingest.normalize.windows`: the Security channel to ``SecurityEvent``, every other channel
to ``Event``, and Sysmon events also to the Defender XDR ``Device*`` tables
(:mod:`watchkeeper.ingest.normalize.sysmon`). Column mappings: sentinel-table-schemas.md.

Damage is reported, never skipped: a chunk the library cannot read is one rejection naming the record ids
it held; a file shorter than its header's chunk count says is a rejection naming the missing bytes (the
records before the cut are kept); a record with no event time (``TimeCreated`` and the record header both
zero FILETIMEs) is rejected. A record whose ``TimeCreated`` is zero but whose header has a time is kept
with the header's time.
"""

from __future__ import annotations

import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any, BinaryIO, ClassVar

import orjson
from evtx import PyEvtxParser

from watchkeeper.ingest.normalize.windows import (
    WINDOWS_TABLES,
    WindowsRecord,
    element_xml,
    parse_time,
    rows_for,
)
from watchkeeper.ingest.parsers.base import BATCH_ROWS, Parsed

__all__ = ["EvtxParser", "record_from_json"]

MAGIC = b"ElfFile\x00"
_FILE_HEADER = 4096
_CHUNK = 65536
# spooled copies of unseekable streams stay in memory up to this size, then go to a temporary file
_SPOOL_MEMORY = 16 * 1024 * 1024
_CHUNK_IDS = re.compile(r"record IDs (\d+\.\.\d+)")
_RECORD_NUMBER = re.compile(r"record number (\d+)")
_ISO_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z", re.ASCII)


class NoEventTime(ValueError):
    """A record whose TimeCreated and record header are both zero FILETIMEs."""


class EvtxParser:
    """Windows ``.evtx`` files -> ``SecurityEvent``, ``Event`` and the Defender XDR tables for Sysmon."""

    name: ClassVar[str] = "evtx"
    tables: ClassVar[tuple[str, ...]] = WINDOWS_TABLES

    def sniff(self, head: bytes, filename: str) -> bool:
        """An EVTX file starts with ``ElfFile\\0`` whatever it is called."""
        return head.startswith(MAGIC)

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """Every record of the file, in batches; damage as rejections (see the module docstring)."""
        with _seekable(stream) as handle:
            yield from _parse_file(handle, source)


def _parse_file(handle: IO[bytes], source: str) -> Iterator[Parsed]:
    batch = Parsed()
    truncated = _truncation(handle)
    try:
        parser = PyEvtxParser(handle)
    except (OSError, RuntimeError) as exc:
        batch.reject(source, "", f"not a readable EVTX file: {exc}")
        yield batch
        return
    held = 0  # rows and rejections in the batch (what Parsed.full counts, kept here: it runs per record)
    for item in _records(parser):
        if isinstance(item, tuple):
            where, reason = item
            batch.reject(f"{source}{where}", "", reason)
            held += 1
        else:
            held += _add_record(batch, item, source)
        if held >= BATCH_ROWS:
            yield batch
            batch, held = Parsed(), 0
    if truncated:
        batch.reject(source, "", truncated)
    yield batch


def _records(parser: PyEvtxParser) -> Iterator[dict[str, Any] | tuple[str, str]]:
    """The library's records; what it cannot read is ``(where, reason)`` (a record, or a whole chunk
    naming its record ids) and reading goes on with the next record or chunk."""
    iterator = parser.records_json()
    failures = 0
    while True:
        try:
            item = next(iterator)
            if item is not None:
                yield item
        except StopIteration:
            return
        except RuntimeError as exc:
            failures += 1
            yield _damage(str(exc))
            if failures > _CHUNK:  # the library could not move past the damage
                return


def _damage(message: str) -> tuple[str, str]:
    record = _RECORD_NUMBER.search(message)
    if record:
        return f"#record {record.group(1)}", f"unreadable record: {message}"
    chunk = _CHUNK_IDS.search(message)
    if chunk:
        return f"#records {chunk.group(1)}", f"unreadable chunk (records {chunk.group(1)}): {message}"
    return "", f"unreadable part of the file: {message}"


def _add_record(batch: Parsed, item: dict[str, Any], source: str) -> int:
    """Add a record's rows (or its rejection) to the batch; how many entries that added."""
    raw = item.get("data") or ""
    try:
        event = orjson.loads(raw)["Event"]
        record = record_from_json(event, item.get("timestamp"))
        # a crafted record (an element with attributes where text belongs) fails here, not the file
        rows = rows_for(record)
    except NoEventTime as exc:
        batch.reject(f"{source}#record {item.get('event_record_id')}", raw, str(exc))
        return 1
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        reason = f"unreadable record: {type(exc).__name__}: {exc}"
        batch.reject(f"{source}#record {item.get('event_record_id')}", raw, reason)
        return 1
    for table, row in rows:
        batch.add(table, row)
    return len(rows)


def record_from_json(event: dict[str, Any], header_time: str | None = None) -> WindowsRecord:
    """A :class:`WindowsRecord` from the ``evtx`` library's JSON form of ``<Event>``."""
    system = event["System"]
    provider = _attributes(system.get("Provider"))
    event_time, time_text = _event_time(system, header_time)
    data, data_xml = _event_data(event)
    execution = _attributes(system.get("Execution"))
    return WindowsRecord(
        channel=str(system.get("Channel") or ""),
        provider=str(provider.get("Name") or ""),
        source_name=provider.get("EventSourceName"),
        event_id=int(_text_of(system["EventID"])),
        computer=str(system.get("Computer") or ""),
        time=event_time,
        record_id=_int_or_none(system.get("EventRecordID")),
        level=_int_or_none(system.get("Level")),
        task=_int_or_none(system.get("Task")),
        opcode=_int_or_none(system.get("Opcode")),
        keywords=system.get("Keywords"),
        version=_int_or_none(system.get("Version")),
        correlation=_attributes(system.get("Correlation")).get("ActivityID"),
        process_id=_int_or_none(execution.get("ProcessID")),
        thread_id=_int_or_none(execution.get("ThreadID")),
        user_id=_attributes(system.get("Security")).get("UserID"),
        data=data,
        data_xml=data_xml,
        time_text=time_text,
    )


def _event_time(system: dict[str, Any], header_time: str | None) -> tuple[datetime, str | None]:
    """The event's time (``TimeCreated``, else the record header's), and its ISO text if known."""
    text = _attributes(system.get("TimeCreated")).get("SystemTime")
    moment = parse_time(text)
    if moment is not None:
        return moment, _isoformat_text(str(text))  # parse_time read it: it is text
    moment = parse_time(header_time)
    if moment is None:
        raise NoEventTime("no event time: TimeCreated and the record header are zero or missing")
    return moment, None


def _isoformat_text(text: str) -> str | None:
    """``datetime.isoformat``'s spelling of a SystemTime the library wrote in that shape with ``Z``
    (``2019-04-27T15:57:25.868863Z`` -> ``...868863+00:00``); None for any other shape, and for
    whole seconds (isoformat leaves their ``.000000`` out)."""
    if len(text) == 27 and _ISO_SHAPE.match(text) and not text.endswith(".000000Z"):
        return text[:26] + "+00:00"
    return None


def _event_data(event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Event data by field name, and its XML; ``UserData`` (e.g. 1102 log cleared) flattened one level."""
    raw = event.get("EventData")
    if isinstance(raw, dict):
        data = {k: v for k, v in raw.items() if k != "#attributes"} if "#attributes" in raw else raw
        unnamed = data.get("Data")
        if isinstance(unnamed, dict) and "#text" in unnamed:
            text = unnamed["#text"]
            data["Data"] = text if isinstance(text, list) else [text]
        return data, None  # rendered from the data when a row needs it
    user_data = event.get("UserData")
    if isinstance(user_data, dict):
        fields: dict[str, Any] = {}
        for child in user_data.values():
            if isinstance(child, dict):
                fields.update({k: v for k, v in child.items() if k != "#attributes"})
        return fields, element_xml("UserData", user_data)
    return {}, None


def _attributes(element: Any) -> dict[str, Any]:
    # exact type checks: the values are what orjson built, and this runs several times a record
    if type(element) is dict:
        attributes = element.get("#attributes")
        if type(attributes) is dict:
            return attributes
    return {}


def _text_of(value: Any) -> Any:
    """An element's text: ``{"#attributes": {"Qualifiers": 0}, "#text": 800}`` -> 800."""
    return value.get("#text") if isinstance(value, dict) else value


def _int_or_none(value: Any) -> int | None:
    if type(value) is int:  # what the library writes for numeric header fields
        return value
    value = _text_of(value)
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _truncation(handle: IO[bytes]) -> str | None:
    """Why the file is shorter than its header says, or None."""
    handle.seek(0)
    header = handle.read(_FILE_HEADER)
    size = handle.seek(0, 2)
    handle.seek(0)
    if len(header) < 44 or not header.startswith(MAGIC):
        return None  # the library reports a bad header itself
    (chunks,) = struct.unpack_from("<H", header, 42)
    expected = _FILE_HEADER + chunks * _CHUNK
    if size >= expected:
        return None
    return (
        f"file truncated: its header declares {chunks} chunk(s) ({expected} bytes) but it has {size} bytes; "
        f"records from byte {max(_FILE_HEADER, size - (size - _FILE_HEADER) % _CHUNK)} on are lost"
    )


class _seekable:
    """The stream itself when it can seek (the library reads chunks out of order), else a spooled copy."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._copy: tempfile.SpooledTemporaryFile[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if self._stream.seekable():
            return self._stream
        self._copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)
        shutil.copyfileobj(self._stream, self._copy)
        self._copy.seek(0)
        return self._copy

    def __exit__(self, *exc: object) -> None:
        if self._copy is not None:
            self._copy.close()
