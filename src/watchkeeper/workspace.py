"""A workspace: the unit of data (one event store) that queries run against.

>>> from watchkeeper import Workspace
>>> ws = Workspace.open(None)              # in memory; Workspace.open("var/demo") for a folder
>>> ws.ingest("Heartbeat_CL", [{"Computer": "web-1"}])
1
>>> ws.query("Heartbeat_CL | count").rows
[(1,)]
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from watchkeeper import kql
from watchkeeper.errors import CatalogError, ExternalDataRefused, JournalFull, QueryTimeout
from watchkeeper.ingest.batches import (
    INGESTION_ERRORS,
    IngestTally,
    PreparedBatch,
    merged_parts,
    prepare,
    refused_rows,
)
from watchkeeper.ingest.journal import Entry, Journal
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.usage import USAGE, usage_rows
from watchkeeper.ingest.writer import JournalWriter
from watchkeeper.kql.plan import BExpr, Relation
from watchkeeper.kql.scope import StoredFunction
from watchkeeper.schema.catalog import Catalog, TableDef, custom_table, is_custom_table_name
from watchkeeper.schema.types import KqlType
from watchkeeper.settings import Settings
from watchkeeper.store.base import EventStore, QueryLimits
from watchkeeper.store.coerce import Rows, infer_columns, merge_columns, to_arrow
from watchkeeper.store.duckdb import DuckDBEventStore
from watchkeeper.store.result import QueryResult, QueryTally
from watchkeeper.workspace_functions import WorkspaceFunctions
from watchkeeper.workspace_lists import WorkspaceWatchlists
from watchkeeper.workspace_queries import CompiledQueries, requested_limits, within

__all__ = ["EVENTS_FILE", "INGESTION_ERRORS", "JOURNAL_FOLDER", "CommitListener", "IngestTally", "Workspace"]

log = logging.getLogger(__name__)

# the workspace's ingestion journal, in its folder
JOURNAL_FOLDER = "journal"
# called with the rows (per table) of each write the journal writer commits
CommitListener = Callable[[list[tuple[TableDef, pa.Table]]], None]


EVENTS_FILE = "events.duckdb"
# a cache entry for a query that cannot take its moments as parameters: compile it each run
_LITERAL_ONLY = "literal"
_TIME = "TimeGenerated"


class Workspace:
    """One workspace's event store with the KQL engine in front of it."""

    def __init__(
        self,
        store: EventStore,
        *,
        limits: QueryLimits | None = None,
        path: Path | None = None,
        external_data_allow: Iterable[str] = (),
        journal: Path | None = None,
        journal_limit: int = 1 << 30,
        journal_wait: float = 5.0,
    ) -> None:
        self.store = store
        for function in kql.host_functions():
            store.register_function(function)
        self.limits = limits or QueryLimits()
        self.path = path
        self.external_data_allow = tuple(external_data_allow)
        self._base = Catalog.sentinel()
        self._catalog: Catalog | None = None
        self._custom: tuple[TableDef, ...] = ()  # the custom tables of the catalog last built
        self._catalog_version = 0  # moves when a custom table appears or gains columns
        self.compiled = CompiledQueries()
        self._functions: dict[str, StoredFunction] = {}
        self._usage = threading.local()  # per thread: the appends of the batch being stored
        # custom tables' definitions as decided for the batches typed so far (ahead of the store)
        self._schemas: dict[str, TableDef] = {}
        self._schema_lock = threading.RLock()
        self._journal_folder = journal
        self._journal: Journal | None = None
        self._writer: JournalWriter | None = None
        self.journal_limit = journal_limit
        self._listeners: list[CommitListener] = []
        self.journal_wait = journal_wait
        self.watchlists = WorkspaceWatchlists(self, self._functions)
        self.functions = WorkspaceFunctions(self, self._functions)  # stored ones (.create function)

    @classmethod
    def open(
        cls, path: str | Path | None = None, *, settings: Settings | None = None, recover: bool = True
    ) -> Workspace:
        """Open (creating if needed) the workspace in folder ``path``; ``None`` keeps it in memory.

        A path ending in ``.duckdb`` names the database file itself (and the journal lies beside
        it). Batches received before a restart and not yet stored are stored before it returns
        (unless ``recover=False``: then :meth:`recover` does it).
        """
        options: dict[str, Any] = {}
        if settings is not None:
            options = {
                "limits": QueryLimits(max_rows=settings.query_row_limit, timeout=settings.query_timeout),
                "external_data_allow": settings.external_data_allow,
                "journal_limit": settings.ingest_journal_limit,
                "journal_wait": settings.ingest_queue_wait,
            }
        if path is None:
            return cls(DuckDBEventStore(None), **options)
        folder = Path(path)
        database = folder if folder.suffix == ".duckdb" else folder / EVENTS_FILE
        journal = database.parent / (
            JOURNAL_FOLDER if database.name == EVENTS_FILE else f"{database.stem}.journal"
        )
        workspace = cls(DuckDBEventStore(database), path=folder, journal=journal, **options)
        if recover:  # else the caller recovers, once it has attached what must see those batches
            workspace.recover()
        return workspace

    # ---------------------------------------------------------------- catalog

    @property
    def catalog(self) -> Catalog:
        """Every table this workspace answers to: the shipped schemas and its custom tables.

        Built once and kept until a write creates or widens a custom table (only this process
        writes to the store), since every query compiles against it."""
        catalog = self._catalog
        if catalog is None:
            custom = tuple(self.store.custom_tables())
            if custom != self._custom:  # compiled queries may name columns that are new
                self._custom, self._catalog_version = custom, self._catalog_version + 1
                self.compiled.clear()
            catalog = self._catalog = self._base.with_tables(custom)
        return catalog

    def tables_changed(self) -> None:
        """The store's tables changed other than by this workspace's writes (a store that is
        shown its tables, such as the write view NRT rules run on): read them again."""
        self._catalog = None

    def table(self, name: str) -> TableDef:
        found = self.catalog.table(name)
        if found is None:
            raise CatalogError(f"unknown table '{name}'")
        return found

    def table_for_writes(self, name: str) -> TableDef | None:
        """``name``'s definition as the next batch written to it is typed: a custom table's
        columns include those of batches accepted but not yet stored."""
        with self._schema_lock:
            return self._schemas.get(name) or self.catalog.table(name)

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
        definition, batch = self._typed(table, rows, columns or {}, now or datetime.now(UTC))
        return self._append(definition, batch)

    def ingest_parsed(
        self,
        parsed: Parsed,
        *,
        source: str,
        input_format: str,
        destination: str | None = None,
        batch_id: str | None = None,
    ) -> IngestTally:
        """Store a parser's batch now, all of it or (if storing fails) none of it. Rows a table
        cannot hold (a value of the wrong type, a column it lacks) and the records the parser
        could not read go to ``IngestionErrors`` with the reason; the rest is written.
        ``destination`` names the table of generic formats' rows. A ``batch_id`` already stored
        is not stored again: the tally says ``duplicate``."""
        try:
            with self.store.write_unit(batch_id) as fresh:
                if not fresh:
                    return IngestTally(duplicate=True)
                prepared = prepare(parsed, self._typed, source=source, input_format=input_format,
                                   now=datetime.now(UTC), destination=destination)  # fmt: skip
                self._store_prepared([prepared])
        except BaseException:
            self._forget_schemas()  # custom tables the batch created or widened are gone again
            raise
        self._catalog = None  # read again now that the unit is committed (and its tables visible)
        return prepared.tally

    def submit(
        self,
        parsed: Parsed,
        *,
        source: str,
        input_format: str,
        destination: str | None = None,
        batch_id: str | None = None,
    ) -> IngestTally:
        """Accept a batch for storing: typed, then written to the workspace's journal and made
        durable, which is when it counts as received (a crash after this loses nothing); the
        writer stores it shortly after (:meth:`flush` waits for that). A workspace kept in memory
        has no journal and stores it at once. A ``batch_id`` seen before is not taken again (the
        tally says ``duplicate``). Raises :class:`~watchkeeper.errors.JournalFull` when the
        store is too far behind."""
        journal = self._journal_for_writes()
        if journal is None:
            return self.ingest_parsed(parsed, source=source, input_format=input_format,
                                      destination=destination, batch_id=batch_id)  # fmt: skip
        if batch_id is not None and (journal.contains(batch_id) or self.store.has_unit(batch_id)):
            return IngestTally(duplicate=True)
        self._wait_for_room(journal)
        prepared = prepare(parsed, self._typed, source=source, input_format=input_format,
                           now=datetime.now(UTC), destination=destination)  # fmt: skip
        prepared.batch_id = batch_id
        if journal.append(prepared, unless=self.store.has_unit) is None:
            return IngestTally(duplicate=True)
        assert self._writer is not None
        self._writer.notify()
        return prepared.tally

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is stored (queryable); False on ``timeout``."""
        if self._writer is None or self._journal is None:
            return True
        return self._writer.wait_for(self._journal.last_seq, timeout)

    # ---------------------------------------------------------------- typing and storing

    def _typed(
        self, table: str, rows: Rows, declared: Mapping[str, KqlType], now: datetime
    ) -> tuple[TableDef, pa.Table]:
        """``rows`` typed to ``table``; a custom table's definition is decided here, under a lock,
        so that batches typed before the first of them is stored agree on its columns."""
        with self._schema_lock:
            definition = self._table_for_write(table, rows, declared)
        batch = to_arrow(definition, rows, now=now)
        if definition.is_custom:
            with self._schema_lock:
                known = self._schemas.get(table)
                self._schemas[table] = definition if known is None else known.with_columns(definition.columns)
        return definition, batch

    def _append(self, definition: TableDef, batch: pa.Table) -> int:
        try:
            written = self.store.append(definition, batch)
        finally:
            if definition.is_custom:
                self._catalog = None  # the table may be new or have new columns
        measured = getattr(self._usage, "batches", None)
        if measured is not None:
            measured.append((definition.name, batch))
        return written

    def _store_prepared(self, batches: list[PreparedBatch]) -> None:
        """Append prepared batches, one write per table, then one ``Usage`` row per table and
        input format: rows, size, the span of event times and how long after them they became
        queryable. Called inside a write unit."""
        now = datetime.now(UTC)
        for definition, data in merged_parts(batches):
            self._append(definition, data)
        usage: list[dict[str, Any]] = []
        for input_format in dict.fromkeys(b.input_format for b in batches):
            parts = [(t.name, d) for b in batches if b.input_format == input_format for t, d in b.parts]
            usage += usage_rows(parts, now=now, source=input_format)
        if usage:
            self.ingest(USAGE, usage)

    def _table_for_write(self, name: str, rows: Rows, declared: Mapping[str, KqlType]) -> TableDef:
        existing = self._schemas.get(name) or self.catalog.table(name)
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

    def _forget_schemas(self) -> None:
        with self._schema_lock:
            self._schemas.clear()
        self._catalog = None

    # ---------------------------------------------------------------- the journal

    def _journal_for_writes(self) -> Journal | None:
        """The journal (opened, and its writer started, on first use); None in memory."""
        if self._journal_folder is None:
            return None
        with self._schema_lock:
            if self._journal is None:
                self._open_journal()
        return self._journal

    def _open_journal(self) -> None:
        assert self._journal_folder is not None
        journal = Journal(self._journal_folder, committed=self.store.journal_position())
        writer = JournalWriter(
            journal, self._commit_entries, self._dead_letter, name=self._journal_folder.parent.name
        )
        self._journal, self._writer = journal, writer
        writer.start()

    def recover(self, timeout: float | None = None) -> int:
        """Store what the journal holds from before a restart (entries received but not yet
        stored when the process stopped); returns how many entries that was."""
        if self._journal_folder is None or not self._journal_folder.is_dir():
            return 0
        journal = self._journal_for_writes()
        assert journal is not None
        waiting, _ = journal.pending()
        if waiting:
            log.info("workspace %s: storing %d journal entries received before a restart", self.path, waiting)
            self.flush(timeout)
        return waiting

    def _wait_for_room(self, journal: Journal) -> None:
        _, pending = journal.pending()
        if pending < self.journal_limit:
            return
        assert self._writer is not None
        deadline = time.monotonic() + self.journal_wait
        while pending >= self.journal_limit and time.monotonic() < deadline:
            self._writer.wait_for(self._writer.position + 1, max(0.0, deadline - time.monotonic()))
            _, pending = journal.pending()
        if pending >= self.journal_limit:
            raise JournalFull(pending, self.journal_limit, max(1, math.ceil(self.journal_wait)))

    def _commit_entries(self, entries: list[Entry]) -> None:
        """The writer's write: the entries' rows, their batch ids and the journal position, together."""
        ids = [e.batch.batch_id for e in entries if e.batch.batch_id is not None]
        with self.store.write_unit(None, carries=ids, position=entries[-1].seq):
            self._store_prepared([e.batch for e in entries])
        self._catalog = None  # read again now that the unit is committed (and its tables visible)
        self._tell_listeners(merged_parts([e.batch for e in entries]))

    def on_commit(self, listener: CommitListener) -> None:
        """Call ``listener`` with the rows of each write the journal writer commits (per table);
        near-real-time rules run on them. A listener that raises is logged, never stops ingestion."""
        self._listeners.append(listener)

    def _tell_listeners(self, parts: list[tuple[TableDef, pa.Table]]) -> None:
        for listener in list(self._listeners):
            try:
                listener(parts)
            except Exception:
                log.exception("workspace %s: a commit listener failed", self.path)

    def _dead_letter(self, entry: Entry, reason: str) -> None:
        """An entry the store refuses: its rows go to ``IngestionErrors`` with the reason."""
        batch = entry.batch
        errors = refused_rows(batch, reason)
        ids = [batch.batch_id] if batch.batch_id is not None else []
        with self.store.write_unit(None, carries=ids, position=entry.seq):
            if errors:
                self.ingest(INGESTION_ERRORS, errors)
        self._catalog = None

    # ---------------------------------------------------------------- queries

    def translate(
        self,
        text: str,
        *,
        now: datetime | None = None,
        time_range: tuple[datetime, datetime] | None = None,
        columns: Collection[str] | None = None,
    ) -> list[kql.CompiledQuery]:
        """Compile ``text`` against this workspace (unknown tables are errors); ``columns`` as
        for :meth:`query`."""
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
            keep=columns,
        )

    def prepare(
        self,
        text: str,
        *,
        now: datetime,
        time_range: tuple[datetime, datetime] | None = None,
        columns: Collection[str] | None = None,
    ) -> tuple[kql.CompiledQuery, dict[str, datetime] | None]:
        """``text`` compiled for a run at ``now`` over ``time_range``, and its parameters' values.

        A query whose moments (``now()``, ``ago()``, the time range) can be parameters compiles
        once and is kept in :attr:`compiled` until the catalog changes; the values are then
        returned with it. Otherwise (or on a store that takes no parameters) it compiles with
        the moments as literals and the values are None."""
        wanted = None if columns is None else frozenset(columns)
        if not getattr(self.store, "takes_parameters", False):
            return self.translate(text, now=now, time_range=time_range, columns=wanted)[0], None
        stored = frozenset(self.store.stored_tables())
        catalog = self.catalog
        key = (text, time_range is not None, self._catalog_version, stored,
               tuple(self._functions.items()), self.store.dialect, wanted)  # fmt: skip
        entry = self.compiled.get(key)
        if entry is None:
            compiled, parameterised, probed = self._compile_parameterised(
                text, catalog, stored, now, time_range, wanted
            )
            if not probed:  # bag_unpack's columns come from the rows: compile such a query each time
                self.compiled.put(key, compiled if parameterised else _LITERAL_ONLY)
            return compiled, compiled.parameter_values(now, time_range) if parameterised else None
        if isinstance(entry, kql.CompiledQuery):
            return entry, entry.parameter_values(now, time_range)
        return self.translate(text, now=now, time_range=time_range, columns=wanted)[0], None

    def _compile_parameterised(
        self,
        text: str,
        catalog: Catalog,
        stored: frozenset[str],
        now: datetime,
        time_range: tuple[datetime, datetime] | None,
        columns: frozenset[str] | None,
    ) -> tuple[kql.CompiledQuery, bool, bool]:
        """``text`` compiled with its moments as parameters if it can be (else as literals),
        whether it is, and whether compiling it read the data."""
        probed: list[bool] = []

        def probe(relation: Relation, bag: BExpr) -> list[str]:
            probed.append(True)
            return self._probe(relation, bag)

        compiled, parameterised = kql.translate_parameterised(
            text, catalog, self.store.dialect, now=now, time_range=time_range, open_tables=False,
            functions=self._functions, probe=probe, stored=stored.__contains__, keep=columns)  # fmt: skip
        return compiled[0], parameterised, bool(probed)

    def query(
        self,
        text: str,
        *,
        limits: QueryLimits | None = None,
        now: datetime | None = None,
        time_range: tuple[datetime, datetime] | None = None,
        columns: Collection[str] | None = None,
    ) -> QueryResult:
        """Run a KQL query; returns its first (primary) result table.

        ``time_range`` (start, end) limits every table with a ``TimeGenerated`` to that interval,
        as the Log Analytics API's ``timespan`` does. ``columns`` names the result columns the caller
        reads: the others may be left out (at least one column stays), the rows are the same,
        and a query over a wide table costs less.

        Raises :class:`~watchkeeper.errors.KqlError` for a query that is not valid (with line,
        column and caret in ``render()``), :class:`~watchkeeper.errors.QueryTimeout` when it runs
        past the time limit; a result cut at the row limit says so in ``truncated``/``warnings``.
        """
        started = time.monotonic()
        compiled, parameters = self.prepare(
            text, now=now or datetime.now(UTC), time_range=time_range, columns=columns
        )
        self._check_external(compiled.external)
        effective = requested_limits(limits or self.limits, compiled.options)
        # the time limit covers the whole query: what translating it took is not the store's to spend
        remaining = effective.timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise QueryTimeout(effective.timeout)
        try:
            if parameters is not None:
                return self.store.execute(compiled.sql, list(compiled.columns),  # type: ignore[call-arg]
                                          replace(effective, timeout=remaining), parameters=parameters)  # fmt: skip
            return self.store.execute(
                compiled.sql, list(compiled.columns), replace(effective, timeout=remaining)
            )
        except QueryTimeout:
            raise QueryTimeout(effective.timeout) from None

    def tally(
        self, text: str, *, now: datetime | None = None, time_range: tuple[datetime, datetime] | None = None
    ) -> QueryTally:
        """How many rows ``text`` returns and the span of their ``TimeGenerated`` (see
        :meth:`query` for ``now`` and ``time_range``), counted by the engine: no row is turned
        into Python values, and the row limit does not cut the count."""
        compiled, parameters = self.prepare(
            text, now=now or datetime.now(UTC), time_range=time_range, columns={_TIME}
        )
        self._check_external(compiled.external)
        sql, columns = kql.tally_sql(compiled, _TIME)
        if parameters is not None:
            result = self.store.execute(sql, columns, self.limits, parameters=parameters)  # type: ignore[call-arg]
        else:
            result = self.store.execute(sql, columns, self.limits)
        rows, first, last = result.rows[0]
        return QueryTally(int(rows), first, last)

    def _check_external(self, locations: Iterable[str]) -> None:
        """externaldata reads files and URLs from the server: only locations on the allowlist."""
        for location in locations:
            if not any(within(location, prefix) for prefix in self.external_data_allow):
                raise ExternalDataRefused(location)

    def _probe(self, relation: Relation, bag: BExpr) -> list[str]:
        now = datetime.now(UTC)
        sql = kql.keys_sql(relation, bag, self.store.dialect, now)
        result = self.store.execute(sql, [("k", KqlType.STRING)], self.limits)
        return [str(row[0]) for row in result.rows if row[0]]

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Store what the journal holds (for up to 30 s; the rest waits for the next start), close."""
        if self._writer is not None:
            self._writer.stop()
        if self._journal is not None:
            self._journal.close()
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
