"""Reading records from a JSON source, shared by the parsers of JSON log formats (not a format itself).

A source may be a JSON array of records (a Stratus Red Team detonation log, a Management Activity
API content blob), an object wrapping the array (CloudTrail's S3 files ``{"Records": [...]}``, a
Graph page ``{"value": [...], "@odata.nextLink": ...}``), one record per line (NDJSON, a Log
Analytics export), or several such documents one after another.

Arrays are read element by element from a bounded window of text, so a large file is never in
memory whole; one record may be up to :data:`MAX_RECORD_CHARS`. NDJSON is read line by line, and
a bad line is rejected on its own. In an array a syntax error cannot be resynchronised: the records
before it are kept and the rest of the source is rejected with the position and the reason.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from watchkeeper.ingest.normalize.columns import RecordError
from watchkeeper.ingest.parsers.base import Parsed, Rejected

__all__ = ["MAX_RECORD_CHARS", "JsonRecord", "Mapper", "parse_json_records", "read_json_records"]

# the largest record (characters of JSON text) read; CloudTrail caps a record at 256 KiB
MAX_RECORD_CHARS = 16 * 1024 * 1024
_CHUNK_BYTES = 1 << 16
# consumed text kept before the window is cut
_COMPACT_CHARS = 1 << 20
_SPACE = re.compile(r"[ \t\n\r]*")
_SURROGATE = re.compile("[\udc80-\udcff]")
_DECODER = json.JSONDecoder()

# maps one record to (table, row); raises RecordError (or ValueError/TypeError) for a record it cannot map
Mapper = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class JsonRecord:
    """One record: where it is (``file:line`` or ``file: record N (line L)``), its value, its text."""

    where: str
    value: Any
    raw: str | bytes


def parse_json_records(
    stream: BinaryIO, source: str, mapper: Mapper, wrappers: tuple[str, ...]
) -> Iterator[Parsed]:
    """Batches of the rows ``mapper`` makes of each record; records it cannot map are rejected."""
    batch = Parsed()
    for item in read_json_records(stream, source, wrappers):
        if isinstance(item, Rejected):
            batch.rejected.append(item)
        else:
            _map_into(batch, item, mapper)
        if batch.full:
            yield batch
            batch = Parsed()
    if batch.rows or batch.rejected:
        yield batch


def _map_into(batch: Parsed, item: JsonRecord, mapper: Mapper) -> None:
    if not isinstance(item.value, dict):
        batch.reject(item.where, item.raw, f"expected a JSON object, got {type(item.value).__name__}")
        return
    try:
        table, row = mapper(item.value)
    except (RecordError, ValueError, TypeError) as exc:
        batch.reject(item.where, item.raw, str(exc))
        return
    batch.add(table, row)


def read_json_records(
    stream: BinaryIO, source: str, wrappers: tuple[str, ...]
) -> Iterator[JsonRecord | Rejected]:
    """Every record of the source, or a rejection for what cannot be read. An object with one of
    the ``wrappers`` keys holding an array stands for the array's elements."""
    chunks = _chunks(stream)
    first = next(chunks, b"").removeprefix(codecs.BOM_UTF8)
    start = first.lstrip()[:1]
    if not start:
        return
    replay = _replay(first, chunks)
    if start == b"{" and _first_line_is_object(first):
        yield from _lines(replay, source, wrappers)
    elif start in (b"{", b"["):
        yield from _Document(replay, source, wrappers).records()
    else:
        yield Rejected.of(source, first[:200], f"not JSON: the source starts with {start!r}")


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK_BYTES):
        yield chunk


def _replay(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _first_line_is_object(first: bytes) -> bool:
    """Whether the source is one JSON object per line: its first line is a whole object."""
    line = first.lstrip().split(b"\n", 1)[0]
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


# ------------------------------------------------------------------------------------------ NDJSON


def _lines(
    chunks: Iterator[bytes], source: str, wrappers: tuple[str, ...]
) -> Iterator[JsonRecord | Rejected]:
    for number, (line, complete) in enumerate(_split_lines(chunks), start=1):
        if line is None:
            yield Rejected.of(f"{source}:{number}", b"", f"line longer than {MAX_RECORD_CHARS} bytes")
        elif line.strip():
            yield from _line_records(line, complete, f"{source}:{number}", wrappers)


def _split_lines(chunks: Iterator[bytes]) -> Iterator[tuple[bytes | None, bool]]:
    """(line, ended by a newline) pairs; None for a line over the size limit (skipped to its end)."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        *complete, rest = chunk.split(b"\n")
        for piece in complete:
            yield (None if size + len(piece) > MAX_RECORD_CHARS else b"".join([*parts, piece])), True
            parts, size = [], 0
        parts.append(rest)
        size += len(rest)
        if size > MAX_RECORD_CHARS:
            parts = [b""]  # keep counting the size, drop the text
    if size:
        yield (None if size > MAX_RECORD_CHARS else b"".join(parts)), False


def _line_records(
    line: bytes, complete: bool, where: str, wrappers: tuple[str, ...]
) -> Iterator[JsonRecord | Rejected]:
    raw = line.rstrip(b"\r\n")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        yield Rejected.of(where, raw, _line_problem(raw, complete, exc))
        return
    elements = _wrapped(value, wrappers)
    if elements is None:
        yield JsonRecord(where, value, raw)
        return
    for index, element in enumerate(elements, start=1):
        yield JsonRecord(f"{where} record {index}", element, json.dumps(element))


def _line_problem(raw: bytes, complete: bool, exc: orjson.JSONDecodeError) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"invalid UTF-8 at byte {bad.start} of the line"
    if not complete:
        return f"truncated: the last line has no newline and is not whole JSON ({exc})"
    return f"malformed JSON: {exc}"


def _wrapped(value: Any, wrappers: tuple[str, ...]) -> list[Any] | None:
    if isinstance(value, dict):
        for key in wrappers:
            if isinstance(value.get(key), list):
                return value[key]  # type: ignore[no-any-return]
    return None


# ------------------------------------------------------------------------------- JSON documents


class _Document:
    """Arrays and objects read from a sliding window of decoded text."""

    def __init__(self, chunks: Iterator[bytes], source: str, wrappers: tuple[str, ...]) -> None:
        self._chunks = chunks
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self.source, self.wrappers = source, wrappers
        self.text, self.pos, self.line, self.eof, self.count = "", 0, 1, False, 0

    def records(self) -> Iterator[JsonRecord | Rejected]:
        try:
            while char := self._space():
                if char == "[":
                    yield from self._array()
                elif char == "{":
                    yield from self._object()
                else:
                    raise json.JSONDecodeError("expected an array or an object", self.text, self.pos)
        except json.JSONDecodeError as exc:
            yield self._stopped(exc)
        except _TooLarge:
            yield Rejected.of(
                f"{self.source}:{self.line}", self.text[self.pos : self.pos + 200], _TooLarge.REASON
            )

    def _stopped(self, exc: json.JSONDecodeError) -> Rejected:
        line = self.line + self.text.count("\n", self.pos, exc.pos)
        ended = self.eof and not self.text[exc.pos :].strip()
        what = "truncated: the source ends inside" if ended else f"malformed JSON ({exc.msg}) in"
        after = f" record {self.count + 1}" if self.count else " its first record"
        reason = f"{what}{after} at line {line}; the rest of the source cannot be read"
        return Rejected.of(f"{self.source}:{line}", self.text[self.pos :], reason)

    def _array(self) -> Iterator[JsonRecord | Rejected]:
        self._advance(self.pos + 1)
        if self._space() == "]":
            self._advance(self.pos + 1)
            return
        while True:
            self._space()
            line = self.line
            value, raw = self._value()
            yield self._record(line, value, raw)
            char = self._space()
            self._advance(self.pos + 1)
            if char == "]":
                return
            if char != ",":
                raise json.JSONDecodeError("expected ',' or ']' after a record", self.text, self.pos - 1)

    def _object(self) -> Iterator[JsonRecord | Rejected]:
        line, fields, wrapped = self.line, {}, False
        self._advance(self.pos + 1)
        char = self._space()
        while char != "}":
            key = self._key()
            if key in self.wrappers and self._space() == "[":
                wrapped = True
                yield from self._array()
            else:
                fields[key] = self._value()[0]
            char = self._space()
            if char not in (",", "}"):
                raise json.JSONDecodeError("expected ',' or '}'", self.text, self.pos)
            if char == ",":
                self._advance(self.pos + 1)
                char = self._space()
        self._advance(self.pos + 1)
        if not wrapped:
            yield self._record(line, fields, json.dumps(fields, ensure_ascii=False))

    def _key(self) -> str:
        key, _ = self._value()
        if not isinstance(key, str) or self._space() != ":":
            raise json.JSONDecodeError("expected a property name and ':'", self.text, self.pos)
        self._advance(self.pos + 1)
        self._space()
        return key

    def _record(self, line: int, value: Any, raw: str) -> JsonRecord | Rejected:
        self.count += 1
        where = f"{self.source}: record {self.count} (line {line})"
        bad = _SURROGATE.search(raw)
        if bad:
            return Rejected.of(where, raw, f"invalid UTF-8 at character {bad.start()} of the record")
        return JsonRecord(where, value, raw)

    def _value(self) -> tuple[Any, str]:
        """The JSON value at the position; reads on while the window holds only part of it."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError:
                if self._grow():
                    continue
                raise
            if end == len(self.text) and self._grow():
                continue  # a number may go on in the next chunk
            raw = self.text[self.pos : end]
            self._advance(end)
            return value, raw

    def _space(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            match = _SPACE.match(self.text, self.pos)
            self._advance(match.end() if match else self.pos)
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._more():
                return ""

    def _advance(self, end: int) -> None:
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def _grow(self) -> bool:
        """Read until the unread text has doubled (or the source ends); False at the end."""
        pending = len(self.text) - self.pos
        if pending > MAX_RECORD_CHARS:
            raise _TooLarge
        grown = False
        while len(self.text) - self.pos < max(2 * pending, _CHUNK_BYTES) and self._more():
            grown = True
        return grown

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = next(self._chunks, None)
        if self.pos > _COMPACT_CHARS:
            self.text, self.pos = self.text[self.pos :], 0
        if chunk is None:
            self.eof = True
            self.text += self._decoder.decode(b"", final=True)
            return False
        self.text += self._decoder.decode(chunk)
        return True


class _TooLarge(Exception):
    REASON = f"a record longer than {MAX_RECORD_CHARS} characters; the rest of the source cannot be read"
