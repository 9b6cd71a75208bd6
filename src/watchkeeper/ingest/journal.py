"""The ingestion journal: where a received batch is made durable before it is acknowledged.

A journal is a folder of append-only segment files (``<first sequence number>.wkj``). Each entry
is one :class:`~watchkeeper.ingest.batches.PreparedBatch` (already typed, so storing it can fail
only in the store) in a frame::

    b"WKJ1" | sequence (u64) | payload length (u32) | CRC-32 of the payload (u32) | payload
    payload = header length (u32) | header (JSON) | one Arrow IPC stream per table

:meth:`Journal.append` returns once the entry is written and ``fsync``-ed; the writer
(:mod:`watchkeeper.ingest.writer`) reads entries back, stores them and :meth:`Journal.release`-s
what it stored, which deletes the segments holding only stored entries. Opening a journal after a
crash cuts a torn last entry (it was never acknowledged) and offers every entry after the store's
recorded position again. Batch ids of the entries kept are indexed, so a batch a client sends
again while its first copy waits here is recognised.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.ingest.batches import IngestTally, PreparedBatch
from watchkeeper.schema.catalog import Catalog, ColumnDef, TableDef
from watchkeeper.schema.types import KqlType

__all__ = ["Entry", "Journal", "JournalLocation"]

_MAGIC = b"WKJ1"
_FRAME = struct.Struct("<4sQII")  # magic, sequence, payload length, CRC-32
_LENGTH = struct.Struct("<I")
_SUFFIX = ".wkj"
# a segment is closed and a new one begun past this size
SEGMENT_BYTES = 64 << 20

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JournalLocation:
    """Where an entry lies: its segment, offset and frame size, and how many rows it holds."""

    seq: int
    segment: Path
    offset: int
    size: int
    rows: int
    batch_id: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry read back: its sequence number and the batch."""

    seq: int
    batch: PreparedBatch


class Journal:
    """One workspace's journal in ``folder`` (created on first append). ``durable=False`` skips
    the ``fsync`` (for tests of everything else; never in a server)."""

    def __init__(self, folder: Path, *, committed: int = 0, durable: bool = True,
                 segment_bytes: int = SEGMENT_BYTES) -> None:  # fmt: skip
        self.folder = folder
        self.durable = durable
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._kept: list[JournalLocation] = []  # entries not yet released, in order
        self._ids: dict[str, int] = {}
        self._committed = committed
        self._last = committed
        self._file: BinaryIO | None = None
        self._segment: Path | None = None
        if folder.is_dir():
            self._recover(committed)

    # ---------------------------------------------------------------- state

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest entry (the store's position when there is none)."""
        return self._last

    @property
    def committed(self) -> int:
        return self._committed

    def pending(self) -> tuple[int, int]:
        """Entries and bytes appended but not yet released (stored)."""
        with self._lock:
            waiting = [e for e in self._kept if e.seq > self._committed]
            return len(waiting), sum(e.size for e in waiting)

    def contains(self, batch_id: str) -> bool:
        """Whether an entry with this batch id is kept (waiting to be stored, or just stored)."""
        with self._lock:
            return batch_id in self._ids

    # ---------------------------------------------------------------- writing

    def append(self, batch: PreparedBatch, *, unless: Callable[[str], bool] | None = None) -> int | None:
        """Write ``batch`` as the next entry and make it durable; returns its sequence number.

        With a batch id, an entry already kept with the same id, or one ``unless(id)`` says was
        stored before, is not written again: the answer is ``None``."""
        payload = encode(batch)
        with self._lock:
            if batch.batch_id is not None and (
                batch.batch_id in self._ids or (unless is not None and unless(batch.batch_id))
            ):
                return None
            seq = self._last + 1
            stream = self._writable(seq)
            offset = stream.tell()
            stream.write(_FRAME.pack(_MAGIC, seq, len(payload), zlib.crc32(payload)))
            stream.write(payload)
            stream.flush()
            if self.durable:
                os.fdatasync(stream.fileno())
            assert self._segment is not None
            size = _FRAME.size + len(payload)
            self._kept.append(JournalLocation(seq, self._segment, offset, size, batch.rows, batch.batch_id))
            if batch.batch_id is not None:
                self._ids[batch.batch_id] = seq
            self._last = seq
            return seq

    def _writable(self, seq: int) -> BinaryIO:
        stream = self._file
        if stream is not None and stream.tell() < self.segment_bytes:
            return stream
        if stream is not None:
            stream.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._segment = self.folder / f"{seq:020d}{_SUFFIX}"
        self._file = stream = open(self._segment, "ab")  # noqa: SIM115 (kept open between appends)
        if self.durable:  # the new file's name must survive a crash too
            _sync_folder(self.folder)
        return stream

    # ---------------------------------------------------------------- reading and releasing

    def read(self, after: int, *, max_rows: int, max_bytes: int) -> list[Entry]:
        """Entries after sequence number ``after``, at least one and then as many as fit in
        ``max_rows`` rows and ``max_bytes`` bytes."""
        with self._lock:
            chosen: list[JournalLocation] = []
            rows = size = 0
            for location in self._kept:
                if location.seq <= after:
                    continue
                if chosen and (rows + location.rows > max_rows or size + location.size > max_bytes):
                    break
                chosen.append(location)
                rows, size = rows + location.rows, size + location.size
        return [Entry(location.seq, _read(location)) for location in chosen]

    def release(self, upto: int) -> None:
        """The entries up to ``upto`` are stored: forget them, and delete the segments that hold
        nothing else (never the one being written)."""
        with self._lock:
            self._committed = max(self._committed, upto)
            done = {e.segment for e in self._kept if e.seq <= upto}
            alive = {e.segment for e in self._kept if e.seq > upto} | {self._segment}
            for location in self._kept:
                if location.seq <= upto and location.batch_id is not None:
                    self._ids.pop(location.batch_id, None)
            self._kept = [e for e in self._kept if e.seq > upto]
            for segment in done - alive:
                segment.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    # ---------------------------------------------------------------- recovery

    def _recover(self, committed: int) -> None:
        segments = sorted(self.folder.glob(f"*{_SUFFIX}"))
        for index, segment in enumerate(segments):
            end = 0
            for location, stop in _scan(segment):
                end = stop
                self._last = max(self._last, location.seq)
                if location.seq > committed:
                    self._kept.append(location)
                    if location.batch_id is not None:
                        self._ids[location.batch_id] = location.seq
            if end < segment.stat().st_size:
                _cut(segment, end, last=index == len(segments) - 1)
            if not any(e.segment == segment for e in self._kept) and index < len(segments) - 1:
                segment.unlink()
        if segments and segments[-1].exists():
            self._segment = segments[-1]
            self._file = open(self._segment, "ab")  # noqa: SIM115 (kept open between appends)


def _scan(segment: Path) -> Iterator[tuple[JournalLocation, int]]:
    """The whole, intact entries of a segment, each with the offset just past it."""
    with open(segment, "rb") as stream:
        offset = 0
        while True:
            header = stream.read(_FRAME.size)
            if len(header) < _FRAME.size:
                return
            magic, seq, length, crc = _FRAME.unpack(header)
            payload = stream.read(length)
            if magic != _MAGIC or len(payload) < length or zlib.crc32(payload) != crc:
                return
            meta = _header(payload)
            size = _FRAME.size + length
            yield (
                JournalLocation(seq, segment, offset, size, int(meta["rows"]), meta.get("batch_id")),
                offset + size,
            )
            offset += size


def _cut(segment: Path, end: int, *, last: bool) -> None:
    """A damaged tail: on the last segment it is an entry cut short by a crash (never
    acknowledged) and is removed; elsewhere it is kept aside for inspection."""
    if last:
        log.warning("journal %s: removing an entry cut short at byte %d", segment, end)
        with open(segment, "r+b") as stream:
            stream.truncate(end)
        return
    log.error("journal %s: damaged after byte %d; the rest is kept in %s.damaged", segment, end, segment)
    with open(segment, "rb") as source, open(f"{segment}.damaged", "wb") as kept:
        source.seek(end)
        kept.write(source.read())
    with open(segment, "r+b") as stream:
        stream.truncate(end)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -------------------------------------------------------------------- encoding


def encode(batch: PreparedBatch) -> bytes:
    """The payload of ``batch``'s entry."""
    streams: list[bytes] = []
    parts: list[dict[str, Any]] = []
    for table, data in batch.parts:
        data, blank = _without_empty_columns(data)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data)
        streams.append(sink.getvalue().to_pybytes())
        columns = [[c.name, c.type.value] for c in table.stored_columns] if table.is_custom else None
        parts.append({"table": table.name, "columns": columns, "bytes": len(streams[-1]), "blank": blank})
    header = orjson.dumps({
        "batch_id": batch.batch_id, "source": batch.source, "input_format": batch.input_format,
        "rows": batch.rows, "tables": batch.tally.tables, "rejected": batch.tally.rejected, "parts": parts,
    })  # fmt: skip
    return b"".join([_LENGTH.pack(len(header)), header, *streams])


def decode(payload: bytes, resolve: Callable[[str], TableDef] | None = None) -> PreparedBatch:
    """The batch in an entry's payload; ``resolve`` gives the definitions of catalog tables
    (custom tables carry theirs)."""
    meta = _header(payload)
    offset = _LENGTH.size + _LENGTH.unpack_from(payload)[0]
    buffer = pa.py_buffer(payload)
    tally = IngestTally(tables=dict(meta["tables"]), rejected=int(meta["rejected"]))
    batch = PreparedBatch(meta["source"], meta["input_format"], tally=tally, batch_id=meta.get("batch_id"))
    for part in meta["parts"]:
        data = _with_blank_columns(
            pa.ipc.open_stream(buffer.slice(offset, part["bytes"])).read_all(), part["blank"]
        )
        offset += part["bytes"]
        batch.parts.append((_table(part, resolve), data))
    return batch


def _without_empty_columns(data: pa.Table) -> tuple[pa.Table, list[str]]:
    """Most of a wide table's columns are empty in any one batch: a column of nulls is left out
    (the store fills an absent column with nulls) and a text column of empty strings is named
    instead of written, so journaling costs what the batch holds, not the table's width."""
    kept: list[int] = []
    blank: list[str] = []
    for index, column in enumerate(data.columns):
        if column.null_count == len(column):
            continue
        if pa.types.is_string(column.type) and column.null_count == 0 and _longest(column) == 0:
            blank.append(data.column_names[index])
            continue
        kept.append(index)
    if not kept:  # keep one column: the row count travels with it
        kept, blank = [0], [name for name in blank if name != data.column_names[0]]
    return data.select(kept), blank


def _longest(column: pa.ChunkedArray) -> int:
    longest = pc.max(pc.binary_length(column)).as_py()
    return int(longest or 0)


def _with_blank_columns(data: pa.Table, blank: list[str]) -> pa.Table:
    if not blank:
        return data
    # one array of empty strings (offsets all zero, no characters) shared by every blank column
    rows = data.num_rows
    empty = pa.StringArray.from_buffers(rows, pa.py_buffer(bytes(4 * (rows + 1))), pa.py_buffer(b""))
    for name in blank:
        data = data.append_column(name, empty)
    return data


def _table(part: dict[str, Any], resolve: Callable[[str], TableDef] | None) -> TableDef:
    if part["columns"] is not None:
        return TableDef(part["table"], tuple(ColumnDef(n, KqlType(t)) for n, t in part["columns"]))
    if resolve is None:
        raise ValueError(f"no definition for table {part['table']}")
    return resolve(part["table"])


def _header(payload: bytes) -> dict[str, Any]:
    (length,) = _LENGTH.unpack_from(payload)
    meta: dict[str, Any] = orjson.loads(payload[_LENGTH.size : _LENGTH.size + length])
    return meta


def _read(location: JournalLocation) -> PreparedBatch:
    with open(location.segment, "rb") as stream:
        stream.seek(location.offset)
        frame = stream.read(location.size)
    _, seq, _, crc = _FRAME.unpack_from(frame)
    payload = frame[_FRAME.size :]
    if seq != location.seq or zlib.crc32(payload) != crc:
        raise OSError(f"journal {location.segment}: entry {location.seq} is damaged")
    return decode(payload, _catalog_table)


def _catalog_table(name: str) -> TableDef:
    found = Catalog.sentinel().table(name)
    if found is None:
        raise ValueError(f"journal entry for unknown table {name}")
    return found
