"""A workspace: the unit of data (one event store) that queries run against.

>>> from watchkeeper import Workspace
>>> ws = Workspace.open(None)              # in memory; Workspace.open("var/demo") for a folder
>>> ws.ingest("Heartbeat_CL", [{"Computer": "web-1"}])
1
>>> ws.query("Heartbeat_CL | count").rows
[(1,)]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from watchkeeper import kql
from watchkeeper.errors import CatalogError, ExternalDataRefused, IngestError, QueryTimeout
from watchkeeper.ingest.parsers.base import DESTINATION, Parsed, Rejected
from watchkeeper.ingest.usage import USAGE, usage_rows
from watchkeeper.kql.plan import BExpr, Relation
from watchkeeper.kql.scope import StoredFunction
from watchkeeper.schema.catalog import Catalog, TableDef, custom_table, is_custom_table_name
from watchkeeper.schema.types import TICKS_PER_SECOND, KqlType
from watchkeeper.schema.values import parse_timespan_text
from watchkeeper.settings import Settings
from watchkeeper.store.base import EventStore, QueryLimits
from watchkeeper.store.coerce import Rows, infer_columns, merge_columns, to_arrow
from watchkeeper.store.duckdb import DuckDBEventStore
from watchkeeper.store.result import QueryResult

__all__ = ["EVENTS_FILE", "INGESTION_ERRORS", "IngestTally", "Workspace"]

# the table records that could not be stored go to, with the reason
INGESTION_ERRORS = "IngestionErrors"


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


def _raw(row: dict[str, Any]) -> str:
    return orjson.dumps(row, default=str).decode()


def _error_row(source: str, input_format: str, table: str, reason: str, raw: str) -> dict[str, Any]:
    cut = Rejected.of(source, raw, reason)
    return {"Source": source, "InputFormat": input_format, "DestinationTable": table, "Reason": reason,
            "RawRecord": cut.raw}  # fmt: skip


def _requested_limits(limits: QueryLimits, options: Mapping[str, object]) -> QueryLimits:
    """Apply a query's ``set`` request properties: they may tighten the workspace limits, never
    loosen them (``notruncation`` keeps the configured ceiling)."""
    rows, timeout = limits.max_rows, limits.timeout
    requested = options.get("truncationmaxrecords")
    if isinstance(requested, int) and not isinstance(requested, bool) and requested > 0:
        rows = min(rows, requested)
    server_timeout = options.get("servertimeout")
    if isinstance(server_timeout, str):
        try:
            seconds = parse_timespan_text(server_timeout) / TICKS_PER_SECOND
            timeout = min(timeout, seconds) if seconds > 0 else timeout
        except ValueError:
            pass
    return QueryLimits(max_rows=rows, timeout=timeout, strict_rows=limits.strict_rows)


def _within(location: str, prefix: str) -> bool:
    """Whether ``location`` lies under ``prefix``: URLs compare as text after normalising the
    path (no ``..`` escapes); local paths compare as resolved real paths."""
    if "://" in location or "://" in prefix:
        from posixpath import normpath
        from urllib.parse import urlsplit

        loc, pre = urlsplit(location), urlsplit(prefix)
        same_origin = (loc.scheme, loc.netloc) == (pre.scheme, pre.netloc)
        loc_path = normpath(loc.path or "/")
        return same_origin and (loc_path + "/").startswith(normpath(pre.path or "/").rstrip("/") + "/")
    real, base = Path(location).resolve(), Path(prefix).resolve()
    return real == base or base in real.parents


EVENTS_FILE = "events.duckdb"


class Workspace:
    """One workspace's event store with the KQL engine in front of it."""

    def __init__(
        self,
        store: EventStore,
        *,
        limits: QueryLimits | None = None,
        path: Path | None = None,
        external_data_allow: Iterable[str] = (),
    ) -> None:
        self.store = store
        for function in kql.host_functions():
            store.register_function(function)
        self.limits = limits or QueryLimits()
        self.path = path
        self.external_data_allow = tuple(external_data_allow)
        self._base = Catalog.sentinel()
        self._catalog: Catalog | None = None
        self._functions: dict[str, StoredFunction] = {}
        self._usage = threading.local()  # per thread: the appends of the batch being stored

    @classmethod
    def open(cls, path: str | Path | None = None, *, settings: Settings | None = None) -> Workspace:
        """Open (creating if needed) the workspace in folder ``path``; ``None`` keeps it in memory.

        A path ending in ``.duckdb`` names the database file itself.
        """
        limits = None
        allow: list[str] = []
        if settings is not None:
            limits = QueryLimits(max_rows=settings.query_row_limit, timeout=settings.query_timeout)
            allow = settings.external_data_allow
        if path is None:
            return cls(DuckDBEventStore(None), limits=limits, external_data_allow=allow)
        folder = Path(path)
        database = folder if folder.suffix == ".duckdb" else folder / EVENTS_FILE
        return cls(DuckDBEventStore(database), limits=limits, path=folder, external_data_allow=allow)

    # ---------------------------------------------------------------- catalog

    @property
    def catalog(self) -> Catalog:
        """Every table this workspace answers to: the shipped schemas and its custom tables.

        Built once and kept until a write creates or widens a custom table (only this process
        writes to the store), since every query compiles against it."""
        catalog = self._catalog
        if catalog is None:
            catalog = self._catalog = self._base.with_tables(self.store.custom_tables())
        return catalog

    def table(self, name: str) -> TableDef:
        found = self.catalog.table(name)
        if found is None:
            raise CatalogError(f"unknown table '{name}'")
        return found

    # ---------------------------------------------------------------- data

    def ingest(
        self,
        table: str,
        rows: Rows,
        *,
        now: datetime | None = None,
        columns: Mapping[str, KqlType] | None = None,
    ) -> int:
        """Append rows (list of dicts, pyarrow Table or pandas DataFrame) to ``table``.

        Values are coerced to the table's column types; a row that cannot be is an
        :class:`~watchkeeper.errors.IngestError` naming it, and nothing is written. Writing to an
        unknown ``..._CL`` table creates it with columns inferred from the rows; new fields add
        columns to an existing custom table.
        """
        definition = self._table_for_write(table, rows, columns or {})
        batch = to_arrow(definition, rows, now=now or datetime.now(UTC))
        try:
            written = self.store.append(definition, batch)
        finally:
            if definition.is_custom:
                self._catalog = None  # the table may be new or have new columns
        measured = getattr(self._usage, "batches", None)
        if measured is not None:
            measured.append((table, batch))
        return written

    def ingest_parsed(
        self,
        parsed: Parsed,
        *,
        source: str,
        input_format: str,
        destination: str | None = None,
        batch_id: str | None = None,
    ) -> IngestTally:
        """Store a parser's batch, all of it or (if storing fails) none of it. Rows a table cannot
        hold (a value of the wrong type, a column it lacks) and the records the parser could not
        read go to ``IngestionErrors`` with the reason; the rest is written. ``destination``
        names the table of generic formats' rows. A ``batch_id`` already stored is not stored
        again: the tally says ``duplicate``."""
        try:
            with self.store.write_unit(batch_id) as fresh:
                if not fresh:
                    return IngestTally(duplicate=True)
                return self._measured(parsed, source, input_format, destination)
        except BaseException:
            self._catalog = None  # custom tables the batch created or widened are gone again
            raise

    def _store_parsed(
        self, parsed: Parsed, source: str, input_format: str, destination: str | None
    ) -> IngestTally:
        tally = IngestTally()
        errors = [_error_row(r.source, input_format, "", r.reason, r.raw) for r in parsed.rejected]
        for table, rows in parsed.tables.items():
            name = destination if table == DESTINATION else table
            if name is None:
                raise CatalogError(f"{input_format} data names no table: give the destination table")
            written, refused = self._ingest_or_sort(name, rows, parsed.columns.get(table, {}))
            if written:
                tally.tables[name] = tally.tables.get(name, 0) + written
            errors += [_error_row(source, input_format, name, reason, raw) for raw, reason in refused]
        if errors:
            self.ingest(INGESTION_ERRORS, errors)
            tally.rejected += len(errors)
        return tally

    def _measured(
        self, parsed: Parsed, source: str, input_format: str, destination: str | None
    ) -> IngestTally:
        """Store the batch, then one ``Usage`` row per table it wrote: rows, size, the span of
        its event times and how long after them it became queryable (in the same write unit)."""
        self._usage.batches = []
        try:
            tally = self._store_parsed(parsed, source, input_format, destination)
            usage = usage_rows(self._usage.batches, now=datetime.now(UTC), source=input_format)
        finally:
            self._usage.batches = None
        if usage:
            self.ingest(USAGE, usage)
        return tally

    def _ingest_or_sort(
        self, table: str, rows: list[dict[str, Any]], columns: Mapping[str, KqlType]
    ) -> tuple[int, list[tuple[str, str]]]:
        """Write ``rows``; if some cannot be stored, write the others and return those with why."""
        try:
            return self.ingest(table, rows, columns=columns), []
        except IngestError as exc:
            reasons = dict(exc.reasons)
            if not reasons:
                return 0, [(_raw(row), str(exc)) for row in rows]
        kept = [row for i, row in enumerate(rows) if i not in reasons]
        refused = [(_raw(rows[i]), reason) for i, reason in sorted(reasons.items())]
        try:
            return (self.ingest(table, kept, columns=columns) if kept else 0), refused
        except IngestError as exc:  # what remains still fails together: keep it all, with the reason
            return 0, refused + [(_raw(row), str(exc)) for row in kept]

    def _table_for_write(self, name: str, rows: Rows, declared: Mapping[str, KqlType]) -> TableDef:
        existing = self.catalog.table(name)
        if existing is not None and not existing.is_custom:
            return existing
        if not is_custom_table_name(name):
            raise CatalogError(
                f"'{name}' is not a table of the catalog; custom tables must end in _CL (e.g. {name}_CL)"
            )
        # declared types win over what the batch's values suggest (an all-empty column says nothing)
        inferred = [(n, declared.get(n, t)) for n, t in infer_columns(rows)]
        if existing is None:
            return custom_table(name, inferred)
        return existing.with_columns(merge_columns(existing.columns, inferred))

    # ---------------------------------------------------------------- queries

    def translate(
        self, text: str, *, now: datetime | None = None, time_range: tuple[datetime, datetime] | None = None
    ) -> list[kql.CompiledQuery]:
        """Compile ``text`` against this workspace (unknown tables are errors)."""
        return kql.translate(
            text,
            self.catalog,
            self.store.dialect,
            open_tables=False,
            functions=self._functions,
            probe=self._probe,
            now=now,
            stored=self.store.stored_tables().__contains__,
            time_range=time_range,
        )

    def query(
        self,
        text: str,
        *,
        limits: QueryLimits | None = None,
        now: datetime | None = None,
        time_range: tuple[datetime, datetime] | None = None,
    ) -> QueryResult:
        """Run a KQL query; returns its first (primary) result table.

        ``time_range`` (start, end) limits every table with a ``TimeGenerated`` to that interval,
        as the Log Analytics API's ``timespan`` does.

        Raises :class:`~watchkeeper.errors.KqlError` for a query that is not valid (with line,
        column and caret in ``render()``), :class:`~watchkeeper.errors.QueryTimeout` when it runs
        past the time limit; a result cut at the row limit says so in ``truncated``/``warnings``.
        """
        started = time.monotonic()
        compiled = self.translate(text, now=now, time_range=time_range)[0]
        self._check_external(compiled.external)
        effective = _requested_limits(limits or self.limits, compiled.options)
        # the time limit covers the whole query: what translating it took is not the store's to spend
        remaining = effective.timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise QueryTimeout(effective.timeout)
        try:
            return self.store.execute(
                compiled.sql, list(compiled.columns), replace(effective, timeout=remaining)
            )
        except QueryTimeout:
            raise QueryTimeout(effective.timeout) from None

    def _check_external(self, locations: Iterable[str]) -> None:
        """externaldata reads files and URLs from the server: only locations on the allowlist."""
        for location in locations:
            if not any(_within(location, prefix) for prefix in self.external_data_allow):
                raise ExternalDataRefused(location)

    def _probe(self, relation: Relation, bag: BExpr) -> list[str]:
        now = datetime.now(UTC)
        sql = kql.keys_sql(relation, bag, self.store.dialect, now)
        result = self.store.execute(sql, [("k", KqlType.STRING)], self.limits)
        return [str(row[0]) for row in result.rows if row[0]]

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
