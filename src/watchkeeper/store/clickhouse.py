"""The scale-out event store on ClickHouse: what a ClickHouse server (see
:mod:`watchkeeper.store.clickhouse_server`) and chdb (ClickHouse in process) share, and the chdb store.

Both run the same DDL (:mod:`watchkeeper.store.clickhouse_ddl`), insert the same Arrow data and run
the same compiled SQL under the same limits; they differ only in how a statement reaches the
engine. chdb is what the tests run: the compiler's ClickHouse output and this store's code are
tested without a server.
"""

from __future__ import annotations

import inspect
import re
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
from sqlglot import exp

from watchkeeper.errors import (
    ConfigurationError,
    QueryExecutionError,
    QueryTimeout,
    RowLimitExceeded,
    StoreError,
)
from watchkeeper.schema.catalog import ColumnDef, TableDef
from watchkeeper.schema.host import HostFunction
from watchkeeper.schema.types import KqlType
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.clickhouse_ddl import (
    BOOKKEEPING_TABLES,
    Retention,
    add_column_sql,
    create_table_sql,
    quoted,
)
from watchkeeper.store.result import QueryResult, convert_rows

__all__ = ["INSERT_SETTINGS", "ChdbEventStore", "ClickHouseTables", "parameter_texts", "query_settings"]

# An acknowledged insert is written: the server batches concurrent small inserts into one part
# (async_insert) and answers each only after that part is on disk (wait_for_async_insert). A
# batch may span any number of days (a backfill): each day is a partition of its own.
INSERT_SETTINGS: dict[str, Any] = {
    "async_insert": 1,
    "wait_for_async_insert": 1,
    "max_partitions_per_insert_block": 0,
}


SCAN_DEPTH = 10_000_000  # rows a recursive CTE (`scan`) may step through; the time limit comes first


GRAPH_QUERY_BYTES = 16 * 1024 * 1024  # SQL text a query may have (graph patterns expand into long SQL)


def query_settings(limits: QueryLimits) -> dict[str, Any]:
    """The ClickHouse settings a query runs under: its time limit, and one row more than the row
    limit (then stop: ``break`` returns what was read), so that a cut result is known to be cut."""
    return {
        "max_execution_time": float(limits.timeout),
        "max_result_rows": limits.max_rows + 1,
        "result_overflow_mode": "break",
        # `scan` is a recursive CTE with one step per input row: the default depth (1,000) would stop
        # it at 1,000 rows; the time limit above is what bounds it
        "max_recursive_cte_evaluation_depth": SCAN_DEPTH,
        # a graph-match pattern with variable-length edges is a union of join chains
        # (kql/bind_graph_match): its SQL and plan outgrow the defaults (256 KiB, 10,000 optimisations)
        "max_query_size": GRAPH_QUERY_BYTES,
        "query_plan_max_optimizations_to_apply": 200_000,
    }


def is_timeout(text: str) -> bool:
    """Whether a ClickHouse error text is the ``max_execution_time`` limit (code 159)."""
    return "TIMEOUT_EXCEEDED" in text or "Timeout exceeded" in text or "Code: 159." in text


def first_line(text: str) -> str:
    """The engine's message in an error text: from ``Code: N.`` to the end of its line (the
    client's preamble and the stack trace stay out of responses), else the first line."""
    found = _ENGINE_MESSAGE.search(text)
    if found:
        return found.group(0).strip()
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


_ENGINE_MESSAGE = re.compile(r"Code: \d+\..*")


class ClickHouseTables(ABC):
    """:class:`~watchkeeper.store.base.EventStore` on a ClickHouse database: the tables, the
    bookkeeping and the queries, over three primitives the engine's connection provides.

    ClickHouse has no transactions: a write unit's id, the ids it carries and its journal position
    are recorded after its appends, so a unit is skipped when delivered again, but one cut short
    by a crash may be stored in part (and then again in full when redelivered or replayed)."""

    dialect = "clickhouse"
    # execute() takes values for the SQL's {name:Type} parameters: a rule compiles once for every window
    takes_parameters = True
    # seconds the names of the stored tables are trusted before they are read again (other nodes
    # writing to the same database may have created tables); None: only this store creates them
    stored_refresh: float | None = None

    def __init__(self, retention: Retention | None = None) -> None:
        self.retention = retention or Retention()
        self._lock = threading.RLock()
        self._tables: dict[str, TableDef] = {}
        self._stored: set[str] = set()
        self._stored_at = 0.0

    # ---------------------------------------------------------------- engine primitives

    @abstractmethod
    def _command(self, sql: str) -> None:
        """Run a statement that returns nothing."""

    @abstractmethod
    def _select(self, sql: str, settings: Mapping[str, Any], parameters: Mapping[str, str]) -> pa.Table:
        """Run a query under ``settings`` with the values (as text) of its ``{name:Type}``
        parameters; engine errors propagate as the engine raises them."""

    @abstractmethod
    def _insert(self, table: str, rows: pa.Table) -> None:
        """Insert Arrow rows (columns named as stored) into ``table``; raise :class:`StoreError`."""

    def _failure(self, exc: Exception, limits: QueryLimits) -> Exception:
        """The watchkeeper error for an engine error raised by a query."""
        text = str(exc)
        if is_timeout(text):
            return QueryTimeout(limits.timeout)
        return QueryExecutionError(f"the query failed while running: {first_line(text)}")

    def _start(self) -> None:
        """Create the bookkeeping tables and learn the tables this database already holds."""
        for statement in BOOKKEEPING_TABLES:
            self._command(statement)
        self._stored = self._read_stored()
        self._stored_at = time.monotonic()

    # ---------------------------------------------------------------- schema

    def ensure_table(self, table: TableDef) -> None:
        with self._lock:
            current = self._tables.get(table.name) or self._read_table(table.name)
            if current is None:
                self._command(create_table_sql(table, self.retention))
                self._record_columns(table.name, table.stored_columns, start=0)
                self._tables[table.name] = table
                self._stored.add(table.name)
                return
            missing = [c for c in table.stored_columns if current.column(c.name) is None]
            grown = current.with_columns(missing)
            for column in missing:
                self._command(add_column_sql(table.name, grown.physical_names[column.name], column))
            self._record_columns(table.name, missing, start=len(current.stored_columns))
            self._tables[table.name] = grown

    def _record_columns(self, table: str, columns: Sequence[ColumnDef], start: int) -> None:
        if not columns:
            return
        rows = [
            exp.Tuple(expressions=[exp.Literal.string(table), exp.Literal.string(c.name),
                                   exp.Literal.string(c.type.value), exp.Literal.number(start + i)])
            for i, c in enumerate(columns)
        ]  # fmt: skip
        insert = exp.Insert(
            this=exp.Table(this=exp.to_identifier("_wk_columns")), expression=exp.Values(expressions=rows)
        )
        self._command(insert.sql("clickhouse"))

    def _read_table(self, name: str) -> TableDef | None:
        """The table as recorded (another node, or an earlier process, may have created it)."""
        # two nodes creating a table at once both record its columns: each name counts once
        query = (
            exp.select("column_name", "any(kql_type)", dialect="clickhouse")
            .from_("_wk_columns")
            .where(exp.column("table_name").eq(exp.Literal.string(name)))
            .group_by("column_name")
            .order_by("min(ordinal)", dialect="clickhouse")
        )
        rows = self._rows(query.sql("clickhouse"), [("c", KqlType.STRING), ("t", KqlType.STRING)])
        return TableDef(name, tuple(ColumnDef(c, KqlType(t)) for c, t in rows)) if rows else None

    def _read_stored(self) -> set[str]:
        rows = self._rows("SELECT DISTINCT table_name FROM _wk_columns", [("t", KqlType.STRING)])
        return {r[0] for r in rows}

    def custom_tables(self) -> list[TableDef]:
        names = sorted(n for n in self.stored_tables() if TableDef(n, ()).is_custom)
        tables = [self._read_table(n) for n in names]
        return [t for t in tables if t is not None]

    def stored_tables(self) -> set[str]:
        refresh = self.stored_refresh
        if refresh is not None and time.monotonic() - self._stored_at > refresh:
            found = self._read_stored()
            with self._lock:
                self._stored |= found
                self._stored_at = time.monotonic()
        return set(self._stored)

    def register_function(self, function: HostFunction) -> bool:
        """ClickHouse runs no Python UDFs: the ClickHouse dialect refuses host functions at compile time."""
        return False

    # ---------------------------------------------------------------- data

    def append(self, table: TableDef, rows: pa.Table) -> int:
        if rows.num_rows == 0:
            return 0
        self.ensure_table(table)
        physical = table.physical_names
        self._insert(table.name, rows.rename_columns([physical.get(n, n) for n in rows.column_names]))
        return int(rows.num_rows)

    @contextmanager
    def write_unit(
        self, unit_id: str | None, *, carries: Sequence[str] = (), position: int | None = None
    ) -> Iterator[bool]:
        """The unit's appends, then its ids and journal position (see the class docstring)."""
        if unit_id is not None and self.has_unit(unit_id):
            yield False
            return
        yield True
        ids = ([unit_id] if unit_id is not None else []) + list(carries)
        if ids:
            rows = [exp.Tuple(expressions=[exp.Literal.string(i), exp.func("now")]) for i in ids]
            insert = exp.Insert(this=exp.Table(this=exp.to_identifier("_wk_units")),
                                expression=exp.Values(expressions=rows))  # fmt: skip
            self._command(insert.sql("clickhouse"))
        if position is not None:
            self._command(
                exp.insert(exp.select(exp.Literal.number(int(position))), "_wk_journal").sql("clickhouse")
            )

    def has_unit(self, unit_id: str) -> bool:
        query = (
            exp.select("count()")
            .from_("_wk_units")
            .where(exp.column("unit_id").eq(exp.Literal.string(unit_id)))
        )
        rows = self._rows(query.sql("clickhouse"), [("n", KqlType.LONG)])
        return bool(rows and rows[0][0])

    def journal_position(self) -> int:
        rows = self._rows("SELECT max(position) FROM _wk_journal", [("p", KqlType.LONG)])
        return int(rows[0][0] or 0) if rows else 0

    def _rows(self, sql: str, columns: list[tuple[str, KqlType]]) -> list[tuple[Any, ...]]:
        return self.execute(sql, columns, QueryLimits(max_rows=1_000_000)).rows

    def execute(
        self,
        sql: str,
        columns: list[tuple[str, KqlType]],
        limits: QueryLimits,
        parameters: Mapping[str, datetime] | None = None,
    ) -> QueryResult:
        """Run ``sql``; ``parameters`` are the values of its ``{name:DateTime64(6, 'UTC')}``
        parameters (a compiled query's request moments, see :mod:`watchkeeper.kql.moments`)."""
        started = time.perf_counter()
        try:
            table = self._select(sql, query_settings(limits), parameter_texts(parameters or {}))
        except StoreError:
            raise
        except Exception as exc:
            raise self._failure(exc, limits) from None
        raw = _rows(table, [t for _, t in columns])
        truncated = len(raw) > limits.max_rows
        if truncated and limits.strict_rows:
            raise RowLimitExceeded(limits.max_rows)
        rows = convert_rows(raw[: limits.max_rows], [t for _, t in columns])
        warnings = [f"the result was cut to the row limit of {limits.max_rows} rows"] if truncated else []
        return QueryResult(list(columns), rows, truncated, warnings, time.perf_counter() - started, sql)


class ChdbEventStore(ClickHouseTables):
    """:class:`~watchkeeper.store.base.EventStore` on chdb (in memory, or a data path).

    chdb runs one ClickHouse server per process, on one data path: every session sees the same
    databases. Each store keeps its tables in a database of its own (the session's current
    database, so compiled SQL names tables without a database); an in-memory store drops it on
    close. ``database`` names it for a store on a data path (one per workspace).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        database: str = "watchkeeper",
        retention: Retention | None = None,
    ) -> None:
        super().__init__(retention)
        self._engine = _chdb_session(path)
        self.takes_parameters = _takes_params(self._engine.session.query)
        self._database = database if path else f"wk_{uuid.uuid4().hex}"
        self._temporary = path is None
        name = quoted(self._database)
        with self._engine.lock:
            self._engine.session.query(f"CREATE DATABASE IF NOT EXISTS {name} ENGINE = Memory" if self._temporary
                                       else f"CREATE DATABASE IF NOT EXISTS {name}")  # fmt: skip
        self._start()

    def _run(self, sql: str, fmt: str = "CSV", parameters: Mapping[str, str] | None = None) -> Any:
        engine = self._engine
        with engine.lock:
            if engine.database != self._database:  # compiled SQL names tables without a database
                engine.session.query(f"USE {quoted(self._database)}")
                engine.database = self._database
            if parameters:
                return engine.session.query(sql, fmt, params=dict(parameters))
            return engine.session.query(sql, fmt)

    def raw(self, sql: str, fmt: str) -> Any:
        """chdb's own result of ``sql`` run in this store's database, in output format ``fmt``
        (``ArrowTable``, ``Parquet``, ``TSVRaw``...): for benchmarks and plans, not for users."""
        return self._run(sql, fmt)

    def _command(self, sql: str) -> None:
        self._run(sql)

    def _select(self, sql: str, settings: Mapping[str, Any], parameters: Mapping[str, str]) -> pa.Table:
        return self._run(_with_settings(sql, settings), "ArrowTable", parameters)

    def _insert(self, table: str, rows: pa.Table) -> None:
        # the Arrow file a server receives from clickhouse-connect, read by the same input format
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "batch.arrow"
            with ipc.RecordBatchFileWriter(str(path), rows.schema) as writer:
                writer.write(rows)
            columns = ", ".join(quoted(n) for n in rows.column_names)
            source = exp.Literal.string(str(path)).sql("clickhouse")
            try:
                self._run(
                    f"INSERT INTO {quoted(table)} ({columns}) FROM INFILE {source} "
                    f"SETTINGS {_settings_text(INSERT_SETTINGS)} FORMAT Arrow"
                )
            except Exception as exc:
                # chdb reports every failure alike: a write it refused may succeed later
                raise StoreError(
                    f"could not append to {table}: {first_line(str(exc))}", transient=True
                ) from exc

    def _failure(self, exc: Exception, limits: QueryLimits) -> Exception:
        if is_timeout(str(exc)):
            self._drain()
        return super()._failure(exc, limits)

    def _drain(self) -> None:
        """After a cancelled query chdb may hand its leftover output to the next query: read it off."""
        for _ in range(3):
            try:
                self._run("SELECT 1", "ArrowTable")
                return
            except Exception:
                continue

    def close(self) -> None:
        """Drop an in-memory store's database; the process's chdb session stays open for others."""
        if self._temporary:
            with self._engine.lock:
                self._engine.session.query(f"DROP DATABASE IF EXISTS {quoted(self._database)}")
                if self._engine.database == self._database:
                    self._engine.session.query("USE default")
                    self._engine.database = "default"


@dataclass
class _ChdbSession:
    """The process's chdb session on a data path, shared by its stores (each in a database of its
    own): a session per store would hold a dozen file descriptors that closing it does not free."""

    session: Any
    lock: threading.RLock = field(default_factory=threading.RLock)
    database: str = "default"


_CHDB_SESSIONS: dict[str, _ChdbSession] = {}
_CHDB_LOCK = threading.Lock()


def _chdb_session(path: str | Path | None) -> _ChdbSession:
    key = str(path) if path else ""
    with _CHDB_LOCK:
        if key not in _CHDB_SESSIONS:
            _CHDB_SESSIONS[key] = _ChdbSession(_open_chdb(path))
        return _CHDB_SESSIONS[key]


def _takes_params(query: Any) -> bool:
    """Whether chdb's ``Session.query`` takes ``params=`` (query parameters); an older chdb does
    not, and its workspace compiles queries with their moments as literals instead."""
    try:
        return "params" in inspect.signature(query).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False


def _open_chdb(path: str | Path | None) -> Any:
    try:
        from chdb import session
    except ImportError as exc:  # chdb is an optional dependency (extra "clickhouse")
        raise ConfigurationError(
            "the ClickHouse store needs chdb: pip install 'watchkeeper[clickhouse]'"
        ) from exc
    try:
        return session.Session(str(path)) if path else session.Session()  # type: ignore[no-untyped-call]
    except Exception as exc:  # chdb serves one data path per process
        raise ConfigurationError(
            f"cannot open the chdb event store at {path}: {first_line(str(exc))}"
        ) from None


_TRAILING_SETTINGS = re.compile(r"\bSETTINGS\b[^()'\"]*$", re.IGNORECASE)


def _with_settings(sql: str, settings: Mapping[str, Any]) -> str:
    """``sql`` with ``settings`` (numbers and the overflow mode, never user text) added to its
    trailing SETTINGS clause (compiled queries may carry one)."""
    text = _settings_text(settings)
    if _TRAILING_SETTINGS.search(sql):
        return f"{sql.rstrip()}, {text}"
    return f"{sql} SETTINGS {text}"


def _settings_text(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} = {exp.convert(value).sql('clickhouse')}" for name, value in settings.items())


def parameter_texts(parameters: Mapping[str, datetime]) -> dict[str, str]:
    """Datetime parameter values as the text ClickHouse parses into ``DateTime64(6, 'UTC')``:
    UTC wall time to the microsecond (a value without a zone is UTC, as KQL's datetimes are)."""
    texts = {}
    for name, value in parameters.items():
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        texts[name] = utc.strftime("%Y-%m-%d %H:%M:%S.%f")
    return texts


def _rows(table: pa.Table, types: list[KqlType]) -> list[tuple[Any, ...]]:
    """Engine rows of an Arrow result, with ClickHouse's stand-ins replaced: a predicate is a
    ``UInt8`` (0/1) to ClickHouse but a bool to KQL; a UUID arrives as 16 bytes."""
    if not table.num_rows:
        return []
    columns = [_column_values(c.to_pylist(), t) for c, t in zip(table.columns, types, strict=False)]
    return list(zip(*columns, strict=True))


def _column_values(values: list[Any], kql_type: KqlType) -> list[Any]:
    if kql_type is KqlType.BOOL:
        return [v if v is None or isinstance(v, bool) else bool(v) for v in values]
    if kql_type is KqlType.GUID:
        return [str(uuid.UUID(bytes=v)) if isinstance(v, bytes) and len(v) == 16 else v for v in values]
    return values
