"""The embedded event store: one DuckDB database file per workspace (or in memory).

Tables are created from the catalog on first use. DuckDB folds identifier case, so a column whose
name differs from an earlier one only in case is stored under a suffixed name (see
:attr:`TableDef.physical_names`). KQL types DuckDB cannot tell apart (a timespan is a BIGINT of
ticks, dynamic is JSON) are recorded in ``_wk_columns`` so a reopened store knows them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from watchkeeper.errors import QueryExecutionError, QueryTimeout, RowLimitExceeded, StoreError
from watchkeeper.schema.catalog import ColumnDef, TableDef
from watchkeeper.schema.host import HostFunction
from watchkeeper.schema.types import DUCKDB_TYPES, KqlType
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.deadlines import call_at_deadline
from watchkeeper.store.result import QueryResult, convert_rows

__all__ = ["DuckDBEventStore"]


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _sql(expression: exp.Expression) -> str:
    return expression.sql(dialect="duckdb")


class DuckDBEventStore:
    """:class:`~watchkeeper.store.base.EventStore` on DuckDB."""

    dialect = "duckdb"
    takes_parameters = True  # execute() takes values for the SQL's $name parameters

    def __init__(self, path: str | Path | None = None, *, threads: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {"threads": str(threads)} if threads else {}
        try:
            self._con = duckdb.connect(str(self.path) if self.path else ":memory:", config=config)
            # datetimes are UTC; ICU (built in) is loaded on first use, so set this after connecting
            self._con.execute("SET TimeZone = 'UTC'")
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the event store at {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self._running: set[duckdb.DuckDBPyConnection] = set()  # cursors of queries in flight
        self._idle = threading.Condition()
        self._known: dict[str, TableDef] = {}
        # names of the tables with storage, as committed (None: read them again); tables a write
        # unit creates join them when it commits
        self._stored: set[str] | None = None
        self._stored_changes = 0
        self._creating: set[str] = set()
        self._functions: dict[str, HostFunction] = {}
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS _wk_columns (table_name VARCHAR, column_name VARCHAR, kql_type VARCHAR, "
            "ordinal INTEGER)"
        )
        # ids of the write units committed (batches a receiver may deliver again), kept a week
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS _wk_units (unit_id VARCHAR PRIMARY KEY, committed_at TIMESTAMPTZ)"
        )
        self._con.execute("DELETE FROM _wk_units WHERE committed_at < now() - INTERVAL 7 DAY")
        # how far the ingestion journal has been stored (one row)
        self._con.execute("CREATE TABLE IF NOT EXISTS _wk_journal (position BIGINT)")
        self._unit_open = False
        self._inserts: dict[tuple[str, tuple[str, ...]], str] = {}

    # ---------------------------------------------------------------- schema

    def ensure_table(self, table: TableDef) -> None:
        with self._lock:
            current = self._known.get(table.name) or self._read_table(table.name)
            if current is None:
                self._create(table)
            else:
                missing = [c for c in table.stored_columns if current.column(c.name) is None]
                if missing:
                    self._add_columns(table, current, missing)
            self._known[table.name] = table if current is None else current.with_columns(table.stored_columns)

    def _create(self, table: TableDef) -> None:
        physical = table.physical_names
        defs = [
            exp.ColumnDef(
                this=_ident(physical[c.name]), kind=exp.DataType.build(DUCKDB_TYPES[c.type], dialect="duckdb")
            )
            for c in table.stored_columns
        ]
        create = exp.Create(this=exp.Schema(this=exp.Table(this=_ident(table.name)), expressions=defs),
                            kind="TABLE", exists=True)  # fmt: skip
        self._con.execute(_sql(create))
        self._record_columns(table.name, table.stored_columns, start=0)

    def _add_columns(self, table: TableDef, current: TableDef, missing: list[ColumnDef]) -> None:
        grown = current.with_columns(missing)
        physical = grown.physical_names
        for column in missing:
            alter = exp.Alter(this=exp.Table(this=_ident(table.name)), kind="TABLE", actions=[
                exp.ColumnDef(this=_ident(physical[column.name]), kind=exp.DataType.build(
                    DUCKDB_TYPES[column.type], dialect="duckdb"))])  # fmt: skip
            self._con.execute(_sql(alter))
        self._record_columns(table.name, missing, start=len(current.stored_columns))

    def _record_columns(
        self, table: str, columns: tuple[ColumnDef, ...] | list[ColumnDef], start: int
    ) -> None:
        if not columns:
            return
        batch = pa.table({
            "table_name": [table] * len(columns),
            "column_name": [c.name for c in columns],
            "kql_type": [c.type.value for c in columns],
            "ordinal": pa.array([start + i for i in range(len(columns))], pa.int32()),
        })  # fmt: skip
        self._con.register("_wk_meta_batch", batch)
        try:
            self._con.execute("INSERT INTO _wk_columns SELECT * FROM _wk_meta_batch")
        finally:
            self._con.unregister("_wk_meta_batch")
        self._creating.add(table)
        if not self._unit_open:
            self._created()

    def _created(self) -> None:
        """The tables created are committed: queries may name them now."""
        if self._stored is not None:
            self._stored |= self._creating
        self._stored_changes += 1
        self._creating.clear()

    def _read_table(self, name: str, connection: duckdb.DuckDBPyConnection | None = None) -> TableDef | None:
        rows = (
            (connection or self._con)
            .execute(
                "SELECT column_name, kql_type FROM _wk_columns WHERE table_name = ? ORDER BY ordinal", [name]
            )
            .fetchall()
        )
        if not rows:
            return None
        return TableDef(name, tuple(ColumnDef(c, KqlType(t)) for c, t in rows))

    def custom_tables(self) -> list[TableDef]:
        # a cursor of its own sees what is committed, without waiting for a write in progress
        cursor = self._con.cursor()
        try:
            names = [r[0] for r in cursor.execute(
                "SELECT DISTINCT table_name FROM _wk_columns WHERE table_name LIKE '%\\_CL' ESCAPE '\\' ORDER BY 1"
            ).fetchall()]  # fmt: skip
            tables = [self._read_table(n, cursor) for n in names]
        finally:
            cursor.close()
        return [t for t in tables if t is not None]

    def stored_tables(self) -> set[str]:
        """Names of every table with storage (tables that were written to)."""
        stored = self._stored
        if stored is None:
            changes = self._stored_changes
            cursor = self._con.cursor()  # committed tables, without waiting for a write in progress
            try:
                rows = cursor.execute("SELECT DISTINCT table_name FROM _wk_columns").fetchall()
            finally:
                cursor.close()
            stored = {r[0] for r in rows}
            with self._lock:
                if self._stored is None and self._stored_changes == changes:
                    self._stored = stored
        return set(stored)

    # ---------------------------------------------------------------- host functions

    def register_function(self, function: HostFunction) -> bool:
        """Register a Python scalar function (see :class:`HostFunction`) under its name."""
        params = [duckdb.sqltype(DUCKDB_TYPES[t]) for t in function.params]
        with self._lock:
            if function.name in self._functions:
                return True
            register: Any = self._con.create_function  # duckdb's overloads do not admit a generic callable
            register(
                function.name,
                function.call,
                params,
                duckdb.sqltype(DUCKDB_TYPES[function.returns]),
                null_handling="special" if function.handles_nulls else "default",
                exception_handling="return_null",
                side_effects=False,
            )
            self._functions[function.name] = function
        return True

    # ---------------------------------------------------------------- data

    def append(self, table: TableDef, rows: pa.Table) -> int:
        if rows.num_rows == 0:
            return 0
        self.ensure_table(table)
        physical = table.physical_names
        renamed = rows.rename_columns([physical.get(n, n) for n in rows.column_names])
        insert = self._insert_sql(table.name, tuple(renamed.column_names))
        with self._lock:
            # inside a write unit, on the unit's connection (its transaction); else a cursor of its own
            cursor = self._con if self._unit_open else self._con.cursor()
            # the INSERT reads this local Arrow table by its name (DuckDB's replacement scan of the
            # calling frame): about 1 ms a batch cheaper than registering and unregistering a view,
            # which counts for the small batches rule runs write (alerts, incidents, health rows)
            _wk_batch = renamed
            try:
                cursor.execute(insert)
            except duckdb.Error as exc:
                raise StoreError(
                    f"could not append to {table.name}: {exc}", transient=_transient(exc)
                ) from exc
            finally:
                if cursor is not self._con:
                    cursor.close()
        return int(rows.num_rows)

    def _insert_sql(self, table: str, columns: tuple[str, ...]) -> str:
        """``INSERT INTO table (columns) SELECT columns FROM _wk_batch``, generated once per shape:
        a wide table's statement takes milliseconds to build, more than a small batch takes to store."""
        key = (table, columns)
        sql = self._inserts.get(key)
        if sql is None:
            target = exp.Schema(this=exp.Table(this=_ident(table)), expressions=[_ident(n) for n in columns])
            select = exp.select(*[exp.column(_ident(n)) for n in columns]).from_("_wk_batch")
            sql = self._inserts[key] = _sql(exp.Insert(this=target, expression=select))
        return sql

    @contextmanager
    def write_unit(
        self, unit_id: str | None, *, carries: Sequence[str] = (), position: int | None = None
    ) -> Iterator[bool]:
        """One DuckDB transaction around the block's appends (and the tables they create); the
        unit's id, the ids it carries and its journal position are recorded in the same
        transaction, so a unit is stored once or not at all."""
        with self._lock:
            self._con.execute("BEGIN TRANSACTION")
            self._unit_open = True
            try:
                fresh = self._claim(unit_id)
                yield fresh
                if fresh:
                    self._record(carries, position)
            except BaseException:
                self._con.execute("ROLLBACK")
                self._known.clear()  # tables the unit created or widened are gone again
                self._creating.clear()
                raise
            else:
                self._con.execute("COMMIT")
                self._created()
            finally:
                self._unit_open = False

    def _claim(self, unit_id: str | None) -> bool:
        if unit_id is None:
            return True
        seen = self._con.execute("SELECT 1 FROM _wk_units WHERE unit_id = ?", [unit_id]).fetchone()
        if seen is not None:
            return False
        self._con.execute("INSERT INTO _wk_units VALUES (?, now())", [unit_id])
        return True

    def _record(self, carries: Sequence[str], position: int | None) -> None:
        if carries:
            self._con.executemany("INSERT OR IGNORE INTO _wk_units VALUES (?, now())", [[i] for i in carries])
        if position is not None:
            self._con.execute("DELETE FROM _wk_journal")
            self._con.execute("INSERT INTO _wk_journal VALUES (?)", [position])

    def has_unit(self, unit_id: str) -> bool:
        cursor = self._con.cursor()
        try:
            return (
                cursor.execute("SELECT 1 FROM _wk_units WHERE unit_id = ?", [unit_id]).fetchone() is not None
            )
        finally:
            cursor.close()

    def journal_position(self) -> int:
        cursor = self._con.cursor()  # what is committed, without waiting for a write in progress
        try:
            found = cursor.execute("SELECT max(position) FROM _wk_journal").fetchone()
        finally:
            cursor.close()
        return int(found[0]) if found and found[0] is not None else 0

    def execute(
        self,
        sql: str,
        columns: list[tuple[str, KqlType]],
        limits: QueryLimits,
        parameters: Mapping[str, datetime] | None = None,
    ) -> QueryResult:
        """Run ``sql``; ``parameters`` are the values of its ``$name`` parameters (a compiled
        query's request moments, see :mod:`watchkeeper.kql.moments`)."""
        started = time.perf_counter()
        cursor = self._query_cursor()
        with self._idle:
            self._running.add(cursor)
        deadline = call_at_deadline(limits.timeout, cursor.interrupt) if limits.timeout > 0 else None
        try:
            cursor.execute(sql, dict(parameters) if parameters else None)
            raw = cursor.fetchmany(limits.max_rows + 1)
        except duckdb.InterruptException:
            raise QueryTimeout(limits.timeout) from None
        except duckdb.Error as exc:
            if deadline is not None and deadline.fired:
                raise QueryTimeout(limits.timeout) from None
            raise QueryExecutionError(f"the query failed while running: {_first_line(exc)}") from exc
        finally:
            if deadline is not None:
                deadline.cancel()
            if cursor is not self._con:
                cursor.close()
            with self._idle:
                self._running.discard(cursor)
                self._idle.notify_all()
        return _result(raw, columns, limits, sql, time.perf_counter() - started)

    def _query_cursor(self) -> duckdb.DuckDBPyConnection:
        """The connection a query runs on: a cursor of its own, so queries run side by side."""
        return self._con.cursor()

    def close(self) -> None:
        """Close the store. Queries still running are interrupted first: DuckDB refuses to close a
        connection while a cursor of it is busy (a server stopping after its shutdown grace)."""
        with self._idle:
            for cursor in self._running:
                cursor.interrupt()
            self._idle.wait_for(lambda: not self._running, timeout=10)
        with self._lock:
            self._con.close()


# failures of the engine or the machine rather than of the rows being written
_TRANSIENT = (duckdb.IOException, duckdb.OutOfMemoryException, duckdb.TransactionException,
              duckdb.InterruptException, duckdb.FatalException, duckdb.InternalException)  # fmt: skip


def _transient(exc: duckdb.Error) -> bool:
    return isinstance(exc, _TRANSIENT)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _result(
    raw: list[tuple[object, ...]],
    columns: list[tuple[str, KqlType]],
    limits: QueryLimits,
    sql: str,
    elapsed: float,
) -> QueryResult:
    truncated = len(raw) > limits.max_rows
    if truncated and limits.strict_rows:
        raise RowLimitExceeded(limits.max_rows)
    rows = convert_rows(raw[: limits.max_rows], [t for _, t in columns])
    warnings = [f"the result was cut to the row limit of {limits.max_rows} rows"] if truncated else []
    return QueryResult(list(columns), rows, truncated, warnings, elapsed, sql)
