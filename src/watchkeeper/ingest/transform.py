"""Data collection rule transforms: a stream's ``transformKql`` run by our KQL engine on each batch
before it lands (``../shared/specs/log-ingestion.md`` §B).

The batch becomes the virtual table ``source`` of an in-memory DuckDB store, typed by the stream's
declared columns (``string``, ``int``, ``long``, ``real``, ``boolean``, ``datetime``, ``dynamic``);
the transform's result rows are what the destination table receives. Properties a record has but
the stream does not declare are dropped, as Azure drops them. A record whose value cannot take its
declared type is rejected with the reason; the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watchkeeper import kql
from watchkeeper.errors import IngestError, InvalidRequestError, KqlError
from watchkeeper.schema.catalog import Catalog, ColumnDef, TableDef
from watchkeeper.schema.types import KqlType
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.coerce import infer_columns, to_arrow
from watchkeeper.store.duckdb import DuckDBEventStore

__all__ = ["DECLARED_TYPES", "SOURCE", "StreamTransform", "TransformOutcome"]

# the virtual table a transform reads
SOURCE = "source"
# stream declaration column types (§B) -> KQL types
DECLARED_TYPES: dict[str, KqlType] = {
    "string": KqlType.STRING,
    "int": KqlType.INT,
    "long": KqlType.LONG,
    "real": KqlType.REAL,
    "boolean": KqlType.BOOL,
    "datetime": KqlType.DATETIME,
    "dynamic": KqlType.DYNAMIC,
}
# a transform runs on one request's batch (1 MB at most): these bound a runaway transform
_TRANSFORM_TIMEOUT = 30.0
_TRANSFORM_ROWS = 1_000_000


@dataclass
class TransformOutcome:
    """Rows for the destination table, and (record index, reason) of the records refused."""

    rows: list[dict[str, Any]]
    refused: list[tuple[int, str]]


@dataclass(frozen=True)
class StreamTransform:
    """A stream's transform over its declared columns. ``text`` None (or ``source``) passes the
    records through; ``columns`` empty means the stream declares none (the records' own fields,
    typed from their JSON values)."""

    text: str | None
    columns: tuple[tuple[str, KqlType], ...] = ()

    @property
    def passes_through(self) -> bool:
        return self.text is None or self.text.strip() == SOURCE

    def check(self, destination: TableDef | None) -> None:
        """Raise :class:`InvalidRequestError` if the transform does not compile over ``source``, or
        (with declared columns) yields a column ``destination`` lacks or no datetime TimeGenerated."""
        if self.passes_through and not self.columns:
            return
        output = self._compile(self.columns).columns if not self.passes_through else self.columns
        if not self.columns:
            return
        names = dict(output)
        if names.get("TimeGenerated") is not KqlType.DATETIME:
            raise InvalidRequestError(
                "the transform's output must have a TimeGenerated column of type datetime"
            )
        if destination is not None and not destination.is_custom:
            unknown = [name for name in names if destination.column(name) is None]
            if unknown:
                raise InvalidRequestError(
                    f"the transform's output has column(s) {', '.join(unknown)} that table "
                    f"{destination.name} does not have"
                )

    def apply(self, records: Sequence[Mapping[str, Any]], *, now: datetime | None = None) -> TransformOutcome:
        """The destination rows of ``records`` (JSON objects as received)."""
        declared = {name for name, _ in self.columns}
        kept = [{k: v for k, v in r.items() if k in declared} for r in records] if declared else records
        if self.passes_through:
            return TransformOutcome([dict(r) for r in kept], [])
        columns = self.columns or tuple(infer_columns(kept))
        table = TableDef(SOURCE, tuple(ColumnDef(n, t) for n, t in columns))
        moment = now or datetime.now(UTC)
        indexes, refused = list(range(len(kept))), []
        try:
            batch = to_arrow(table, kept, now=moment)
        except IngestError as exc:
            refused = [(i, f"stream column {reason}") for i, reason in exc.reasons] or [
                (i, str(exc)) for i in indexes
            ]
            bad = {i for i, _ in refused}
            indexes = [i for i in indexes if i not in bad]
            batch = to_arrow(table, [kept[i] for i in indexes], now=moment)
        return TransformOutcome(self._run(table, batch) if indexes else [], refused)

    def _compile(self, columns: Iterable[tuple[str, KqlType]]) -> kql.CompiledQuery:
        declared = tuple(columns)
        table = TableDef(SOURCE, tuple(ColumnDef(n, t) for n, t in declared))
        try:
            return kql.translate(self.text or SOURCE, Catalog([table]), "duckdb", open_tables=not declared)[0]
        except KqlError as exc:
            raise InvalidRequestError(f"transformKql: {exc.render()}") from None

    def _run(self, table: TableDef, batch: Any) -> list[dict[str, Any]]:
        store = DuckDBEventStore(None, threads=1)
        try:
            store.append(table, batch)
            compiled = self._compile(_pairs(table))
            limits = QueryLimits(max_rows=_TRANSFORM_ROWS, timeout=_TRANSFORM_TIMEOUT)
            result = store.execute(compiled.sql, list(compiled.columns), limits)
        finally:
            store.close()
        names = [name for name, _ in result.columns]
        return [{n: v for n, v in zip(names, row, strict=True) if v is not None} for row in result.rows]


def _pairs(table: TableDef) -> tuple[tuple[str, KqlType], ...]:
    return tuple((c.name, c.type) for c in table.columns)
