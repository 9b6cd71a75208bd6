"""Generic formats: NDJSON, CSV and Parquet, into a table the caller names.

Their rows go under :data:`~watchkeeper.ingest.parsers.base.DESTINATION`; the caller maps it to
the destination (``wk ingest --table``), a catalog table (values coerced to its types) or a new
``_CL`` table (types inferred). They sniff last: a specific format that recognises a file wins.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from itertools import islice
from typing import Any, BinaryIO, ClassVar

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from watchkeeper.ingest.parsers.base import BATCH_ROWS, DESTINATION, Parsed

__all__ = ["CsvParser", "NdjsonParser", "ParquetParser"]


def _extension(filename: str) -> str:
    """The format extension of ``filename`` (``.gz`` looks at the one before it)."""
    parts = filename.lower().rsplit("/", 1)[-1].split(".")
    if len(parts) > 2 and parts[-1] == "gz":
        parts.pop()
    return parts[-1] if len(parts) > 1 else ""


class NdjsonParser:
    """One JSON object per line (``.ndjson``, ``.jsonl``, ``.json``). Blank lines are skipped; a
    line that is not a JSON object is rejected with its line number."""

    name: ClassVar[str] = "ndjson"
    tables: ClassVar[tuple[str, ...]] = (DESTINATION,)

    def sniff(self, head: bytes, filename: str) -> bool:
        return _extension(filename) in ("ndjson", "jsonl", "json") or head.lstrip()[:1] == b"{"

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        batch, number = Parsed(), 0
        # lines are taken in blocks of what the batch has room for, so a batch is never over-full
        while lines := list(islice(stream, BATCH_ROWS - batch.rows - len(batch.rejected))):
            self._read_block(batch, lines, number, source)
            number += len(lines)
            if batch.full:
                yield batch
                batch = Parsed()
        yield batch

    def _read_block(self, batch: Parsed, lines: list[bytes], number: int, source: str) -> None:
        """The lines after line ``number``: parsed together when every one is a JSON object (the
        common case, with no Python work per line beyond orjson), else line by line."""
        try:
            records = list(map(orjson.loads, lines))
        except orjson.JSONDecodeError:
            records = None  # a line is not JSON (or is blank): each is read on its own
        if records is not None and set(map(type, records)) <= {dict}:
            batch.tables.setdefault(DESTINATION, []).extend(records)
            return
        for offset, line in enumerate(lines, start=number + 1):
            if line.strip():
                self._read(batch, line, f"{source}:{offset}")

    @staticmethod
    def _read(batch: Parsed, line: bytes, where: str) -> None:
        try:
            record: Any = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            batch.reject(where, line.rstrip(b"\r\n"), f"not JSON: {exc}")
            return
        if not isinstance(record, dict):
            batch.reject(where, line.rstrip(b"\r\n"), f"expected a JSON object, got {type(record).__name__}")
            return
        batch.add(DESTINATION, record)


class CsvParser:
    """CSV with a header row; values typed by pyarrow's inference (then coerced to the table)."""

    name: ClassVar[str] = "csv"
    tables: ClassVar[tuple[str, ...]] = (DESTINATION,)

    def sniff(self, head: bytes, filename: str) -> bool:
        return _extension(filename) == "csv"

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        try:
            reader = pa_csv.open_csv(stream, read_options=pa_csv.ReadOptions(block_size=1 << 22))
            for chunk in reader:
                yield from _batches(pa.Table.from_batches([chunk]))
        except pa.ArrowInvalid as exc:
            failed = Parsed()
            failed.reject(source, "", f"not readable as CSV: {exc}")
            yield failed


class ParquetParser:
    """Parquet files (``PAR1``), read row group by row group."""

    name: ClassVar[str] = "parquet"
    tables: ClassVar[tuple[str, ...]] = (DESTINATION,)

    def sniff(self, head: bytes, filename: str) -> bool:
        return head[:4] == b"PAR1"

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        try:
            # Parquet's footer is at the end: it needs a seekable file
            readable = stream if stream.seekable() else io.BytesIO(stream.read())
            for group in pq.ParquetFile(readable).iter_batches(batch_size=BATCH_ROWS):
                yield from _batches(pa.Table.from_batches([group]))
        except (pa.ArrowInvalid, OSError) as exc:
            failed = Parsed()
            failed.reject(source, "", f"not readable as Parquet: {exc}")
            yield failed


def _batches(table: pa.Table) -> Iterator[Parsed]:
    for start in range(0, table.num_rows, BATCH_ROWS):
        batch = Parsed()
        batch.tables[DESTINATION] = table.slice(start, BATCH_ROWS).to_pylist()
        yield batch
