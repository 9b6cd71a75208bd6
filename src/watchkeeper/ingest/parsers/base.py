"""The seam every log format plugs into.

A parser reads one source (a file, or a stream a receiver hands it) and yields :class:`Parsed`
batches: rows per destination table, keyed by the table's catalog column names, with values the
store coerces to the column types (text, numbers, ``datetime``, dicts/lists for ``dynamic``).
Records it cannot read become :class:`Rejected` entries with the reason, so that nothing is dropped
silently; the caller stores them in ``IngestionErrors``.

Batches are bounded (:data:`BATCH_ROWS`) so that a large file never sits in memory whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar, Protocol, runtime_checkable

from watchkeeper.schema.types import KqlType

__all__ = ["BATCH_ROWS", "DESTINATION", "RAW_LIMIT", "Parsed", "Parser", "Rejected", "line_batches"]

# rows a parser gathers before it yields a batch
BATCH_ROWS = 10_000
# characters of a rejected record kept with its reason (the rest is cut, and says so)
RAW_LIMIT = 32_768
# the table name generic formats (NDJSON, CSV, Parquet) put their rows under: the caller names the
# destination (``wk ingest --table``), since the data does not
DESTINATION = "*"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be read: where it came from (file and line or record number),
    its raw text (cut at :data:`RAW_LIMIT`) and why."""

    source: str
    raw: str
    reason: str

    @classmethod
    def of(cls, source: str, raw: str | bytes, reason: str) -> Rejected:
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if len(text) > RAW_LIMIT:
            text = text[:RAW_LIMIT] + f"... [cut: {len(text)} characters]"
        return cls(source, text, reason)


@dataclass
class Parsed:
    """One batch: rows per destination table, and the records that could not be read."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    # column types a parser knows for its custom (``_CL``) tables: a column whose values are all
    # empty in the batch that creates it would otherwise be typed from nothing (as text)
    columns: dict[str, dict[str, KqlType]] = field(default_factory=dict)

    def declare(self, table: str, columns: Mapping[str, KqlType]) -> None:
        """Declare the types of ``table``'s columns (a custom table), known from the format."""
        self.columns.setdefault(table, {}).update(columns)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)

    def reject(self, source: str, raw: str | bytes, reason: str) -> None:
        self.rejected.append(Rejected.of(source, raw, reason))

    def merge(self, other: Parsed) -> None:
        """Take ``other``'s rows, rejections and declared columns into this batch."""
        for table, rows in other.tables.items():
            self.tables.setdefault(table, []).extend(rows)
        self.rejected.extend(other.rejected)
        for table, columns in other.columns.items():
            self.declare(table, columns)

    @property
    def rows(self) -> int:
        """Rows in the batch, over every table."""
        return sum(len(rows) for rows in self.tables.values())

    @property
    def full(self) -> bool:
        """Whether the batch should be handed on before more rows are added."""
        return self.rows + len(self.rejected) >= BATCH_ROWS


@runtime_checkable
class Parser(Protocol):
    """A log format. ``name`` is what ``wk ingest --input-format`` takes; ``tables`` documents the
    tables it fills (a pattern such as ``Zeek_*_CL`` where the data decides)."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]

    def sniff(self, head: bytes, filename: str) -> bool:
        """Whether a source starting with ``head`` (its first KiB or more; decompressed) and
        called ``filename`` is in this format."""
        ...

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """The source's rows, in bounded batches; ``source`` names it in rejections."""
        ...


def line_batches(stream: BinaryIO, read: Callable[[Parsed, int, bytes], None]) -> Iterator[Parsed]:
    """The batches of a line-oriented source: ``read(batch, number, line)`` takes each line that
    is not blank (numbered from 1) into the batch being filled; a full batch is handed on."""
    batch = Parsed()
    for number, line in enumerate(stream, start=1):
        if line.strip():
            read(batch, number, line)
        if batch.full:
            yield batch
            batch = Parsed()
    yield batch
