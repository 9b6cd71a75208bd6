"""From a parser's batch to typed Arrow tables: the step between parsing and storing.

:func:`prepare` coerces each table's rows to its columns (through the workspace's ``typed``
function, which decides the schema of custom tables), sorts out the rows a table cannot hold and
turns them, with the records the parser could not read, into ``IngestionErrors`` rows. What comes
out (:class:`PreparedBatch`) can be written to the journal and stored later with nothing left to
fail but the store itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from watchkeeper.errors import CatalogError, IngestError
from watchkeeper.ingest.parsers.base import DESTINATION, Parsed, Rejected
from watchkeeper.schema.catalog import TableDef
from watchkeeper.schema.types import KqlType

__all__ = ["INGESTION_ERRORS", "IngestTally", "PreparedBatch", "TypeRows", "prepare"]

# the table records that could not be stored go to, with the reason
INGESTION_ERRORS = "IngestionErrors"

# (table, rows, declared column types, now) -> the table's definition and the rows typed to it;
# raises IngestError (with per-row reasons where it can name the rows) for rows it cannot hold
TypeRows = Callable[[str, list[dict[str, Any]], Mapping[str, KqlType], datetime], tuple[TableDef, pa.Table]]


@dataclass
class IngestTally:
    """What an ingestion stored: rows per table, and records sent to ``IngestionErrors``."""

    tables: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    duplicate: bool = False  # the batch's id was stored before: nothing was written this time

    def add(self, other: IngestTally) -> None:
        for table, rows in other.tables.items():
            self.tables[table] = self.tables.get(table, 0) + rows
        self.rejected += other.rejected


@dataclass
class PreparedBatch:
    """A batch ready to store: Arrow tables typed to their tables' definitions (``IngestionErrors``
    among them when records were refused), and what storing it will amount to."""

    source: str
    input_format: str
    parts: list[tuple[TableDef, pa.Table]] = field(default_factory=list)
    tally: IngestTally = field(default_factory=IngestTally)
    batch_id: str | None = None

    @property
    def rows(self) -> int:
        return sum(part.num_rows for _, part in self.parts)


def prepare(
    parsed: Parsed,
    typed: TypeRows,
    *,
    source: str,
    input_format: str,
    now: datetime,
    destination: str | None = None,
) -> PreparedBatch:
    """Type ``parsed``'s rows; rows a table cannot hold (a value of the wrong type, a column it
    lacks) and the records the parser could not read become ``IngestionErrors`` rows with the
    reason. ``destination`` names the table of generic formats' rows."""
    batch = PreparedBatch(source, input_format)
    errors = [_error_row(r.source, input_format, "", r.reason, r.raw) for r in parsed.rejected]
    for table, rows in parsed.tables.items():
        name = destination if table == DESTINATION else table
        if name is None:
            raise CatalogError(f"{input_format} data names no table: give the destination table")
        part, refused = _typed_or_sorted(typed, name, rows, parsed.columns.get(table, {}), now)
        if part is not None and part[1].num_rows:
            batch.parts.append(part)
            batch.tally.tables[name] = batch.tally.tables.get(name, 0) + part[1].num_rows
        errors += [_error_row(source, input_format, name, reason, raw) for raw, reason in refused]
    if errors:
        batch.parts.append(typed(INGESTION_ERRORS, errors, {}, now))
        batch.tally.rejected += len(errors)
    return batch


def _typed_or_sorted(
    typed: TypeRows, table: str, rows: list[dict[str, Any]], columns: Mapping[str, KqlType], now: datetime
) -> tuple[tuple[TableDef, pa.Table] | None, list[tuple[str, str]]]:
    """``rows`` typed; if some cannot be, the others typed and those returned with why."""
    try:
        return typed(table, rows, columns, now), []
    except IngestError as exc:
        reasons = dict(exc.reasons)
        if not reasons:
            return None, [(_raw(row), str(exc)) for row in rows]
    kept = [row for i, row in enumerate(rows) if i not in reasons]
    refused = [(_raw(rows[i]), reason) for i, reason in sorted(reasons.items())]
    try:
        return (typed(table, kept, columns, now) if kept else None), refused
    except IngestError as exc:  # what remains still fails together: keep it all, with the reason
        return None, refused + [(_raw(row), str(exc)) for row in kept]


def _raw(row: dict[str, Any]) -> str:
    return orjson.dumps(row, default=str).decode()


def _error_row(source: str, input_format: str, table: str, reason: str, raw: str) -> dict[str, Any]:
    cut = Rejected.of(source, raw, reason)
    return {"Source": source, "InputFormat": input_format, "DestinationTable": table, "Reason": reason,
            "RawRecord": cut.raw}  # fmt: skip


def merged_parts(batches: list[PreparedBatch]) -> list[tuple[TableDef, pa.Table]]:
    """The batches' parts as one Arrow table per table (under the widest definition seen), so
    that entries stored together are written in one append each."""
    by_table: dict[str, list[tuple[TableDef, pa.Table]]] = {}
    for batch in batches:
        for definition, data in batch.parts:
            by_table.setdefault(definition.name, []).append((definition, data))
    merged: list[tuple[TableDef, pa.Table]] = []
    for parts in by_table.values():
        definition = parts[0][0]
        for other, _ in parts[1:]:
            definition = definition.with_columns(other.columns)
        tables = [data for _, data in parts]
        data = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
        merged.append((definition, data))
    return merged


def refused_rows(batch: PreparedBatch, reason: str) -> list[dict[str, Any]]:
    """``IngestionErrors`` rows for every row of a batch the store refused, with ``reason``
    (rows that were already ``IngestionErrors`` rows keep their own reason beside it)."""
    rows: list[dict[str, Any]] = []
    for definition, data in batch.parts:
        for row in data.to_pylist():
            if definition.name == INGESTION_ERRORS:
                rows.append(_error_row(row["Source"], batch.input_format, row["DestinationTable"],
                                       f"{row['Reason']}; then {reason}", row["RawRecord"]))  # fmt: skip
            else:
                rows.append(_error_row(batch.source, batch.input_format, definition.name, reason, _raw(row)))
    return rows
