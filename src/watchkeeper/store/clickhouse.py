"""The scale-out event store on ClickHouse; here on chdb (ClickHouse in process).

chdb runs the same ClickHouse SQL a cluster runs, so the compiler's ClickHouse output is tested
without a server. A ClickHouse server connection (clickhouse-connect) implements the same
protocol; it arrives with the cluster deployment.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from watchkeeper.errors import (
    ConfigurationError,
    QueryExecutionError,
    QueryTimeout,
    RowLimitExceeded,
    StoreError,
)
from watchkeeper.schema.catalog import TableDef
from watchkeeper.schema.host import HostFunction
from watchkeeper.schema.types import CLICKHOUSE_TYPES, KqlType
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.result import QueryResult, convert_rows

__all__ = ["ChdbEventStore"]


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


class ChdbEventStore:
    """:class:`~watchkeeper.store.base.EventStore` on chdb (in memory, or a data path).

    chdb runs one ClickHouse server per process: every in-memory session sees the same databases.
    Each store therefore keeps its tables in a database of its own (the session's current
    database, so compiled SQL names tables without a database) and drops it on close.
    """

    dialect = "clickhouse"

    def __init__(self, path: str | Path | None = None) -> None:
        try:
            from chdb import session
        except ImportError as exc:  # chdb is an optional dependency (extra "clickhouse")
            raise ConfigurationError(
                "the ClickHouse store needs chdb: pip install 'watchkeeper[clickhouse]'"
            ) from exc
        self._session: Any = session.Session(str(path)) if path else session.Session()  # type: ignore[no-untyped-call]
        self._lock = threading.RLock()
        self._tables: dict[str, TableDef] = {}
        self._database = "watchkeeper" if path else f"wk_{uuid.uuid4().hex}"
        self._temporary = path is None
        self._kept_books = False
        name = _ident(self._database).sql("clickhouse")
        self._run(f"CREATE DATABASE IF NOT EXISTS {name} ENGINE = Memory" if self._temporary
                  else f"CREATE DATABASE IF NOT EXISTS {name}")  # fmt: skip
        self._run(f"USE {name}")

    def _run(self, sql: str, fmt: str = "CSV") -> Any:
        with self._lock:
            return self._session.query(sql, fmt)

    def ensure_table(self, table: TableDef) -> None:
        with self._lock:
            current = self._tables.get(table.name)
            if current is None:
                self._create(table)
                self._tables[table.name] = table
                return
            missing = [c for c in table.stored_columns if current.column(c.name) is None]
            for column in missing:
                physical = current.with_columns([column]).physical_names[column.name]
                self._run(f"ALTER TABLE {_ident(table.name).sql('clickhouse')} ADD COLUMN "
                          f"{_ident(physical).sql('clickhouse')} Nullable({CLICKHOUSE_TYPES[column.type]})")  # fmt: skip
            self._tables[table.name] = current.with_columns(missing)

    def _create(self, table: TableDef) -> None:
        physical = table.physical_names
        parts = [
            f"{_ident(physical[c.name]).sql('clickhouse')} Nullable({CLICKHOUSE_TYPES[c.type]})"
            for c in table.stored_columns
        ]
        name = _ident(table.name).sql("clickhouse")
        self._run(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(parts)}) ENGINE = Memory")

    def register_function(self, function: HostFunction) -> bool:
        """chdb runs no Python UDFs: the ClickHouse dialect refuses host functions at compile time."""
        return False

    def stored_tables(self) -> set[str]:
        with self._lock:
            return set(self._tables)

    def custom_tables(self) -> list[TableDef]:
        return [t for t in self._tables.values() if t.is_custom]

    def append(self, table: TableDef, rows: pa.Table) -> int:
        if rows.num_rows == 0:
            return 0
        self.ensure_table(table)
        physical = table.physical_names
        renamed = rows.rename_columns([physical.get(n, n) for n in rows.column_names])
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "batch.parquet"
            pq.write_table(renamed, path)
            source = exp.Anonymous(
                this="file", expressions=[exp.Literal.string(str(path)), exp.Literal.string("Parquet")]
            )
            target = exp.Schema(
                this=exp.Table(this=_ident(table.name)), expressions=[_ident(n) for n in renamed.column_names]
            )
            insert = exp.Insert(this=target, expression=exp.select(*[exp.column(_ident(n)) for n in renamed.column_names])
                                .from_(exp.Table(this=source)))  # fmt: skip
            try:
                self._run(insert.sql("clickhouse"))
            except Exception as exc:
                # chdb reports every failure alike: a write it refused may succeed later
                raise StoreError(f"could not append to {table.name}: {exc}", transient=True) from exc
        return int(rows.num_rows)

    @contextmanager
    def write_unit(
        self, unit_id: str | None, *, carries: Sequence[str] = (), position: int | None = None
    ) -> Iterator[bool]:
        """chdb has no transactions: the unit's ids and position are recorded after its appends,
        so a unit is skipped when delivered again, but one cut short by a crash may be stored in
        part (and then again in full when redelivered or replayed from the journal)."""
        self._bookkeeping()
        if unit_id is not None and self._unit_seen(unit_id):
            yield False
            return
        yield True
        ids = ([unit_id] if unit_id is not None else []) + list(carries)
        if ids:
            rows = [exp.Tuple(expressions=[exp.Literal.string(i), exp.func("now")]) for i in ids]
            insert = exp.Insert(
                this=exp.Table(this=_ident("_wk_units")), expression=exp.Values(expressions=rows)
            )
            self._run(insert.sql("clickhouse"))
        if position is not None:
            self._run(
                exp.insert(exp.select(exp.Literal.number(int(position))), "_wk_journal").sql("clickhouse")
            )

    def _bookkeeping(self) -> None:
        if self._kept_books:
            return
        self._run("CREATE TABLE IF NOT EXISTS _wk_units (unit_id String, committed_at DateTime) "
                  "ENGINE = MergeTree ORDER BY unit_id")  # fmt: skip
        self._run(
            "CREATE TABLE IF NOT EXISTS _wk_journal (position Int64) ENGINE = MergeTree ORDER BY tuple()"
        )
        self._kept_books = True

    def has_unit(self, unit_id: str) -> bool:
        self._bookkeeping()
        return self._unit_seen(unit_id)

    def journal_position(self) -> int:
        self._bookkeeping()
        result = self.execute("SELECT max(position) FROM _wk_journal", [("p", KqlType.LONG)], QueryLimits())
        return int(result.rows[0][0] or 0) if result.rows else 0

    def _unit_seen(self, unit_id: str) -> bool:
        query = (
            exp.select("count()")
            .from_("_wk_units")
            .where(exp.column("unit_id").eq(exp.Literal.string(unit_id)))
        )
        result = self.execute(query.sql("clickhouse"), [("n", KqlType.LONG)], QueryLimits())
        return bool(result.rows and result.rows[0][0])

    def _drain(self) -> None:
        """After a cancelled query chdb may hand its leftover output to the next query: read it off."""
        for _ in range(3):
            try:
                self._run("SELECT 1", "ArrowTable")
                return
            except Exception:
                continue

    def execute(self, sql: str, columns: list[tuple[str, KqlType]], limits: QueryLimits) -> QueryResult:
        started = time.perf_counter()
        settings = (f"max_execution_time = {float(limits.timeout)}, max_result_rows = {limits.max_rows + 1}, "
                    "result_overflow_mode = 'break'")  # fmt: skip
        try:
            result = self._run(_with_settings(sql, settings), "ArrowTable")
        except Exception as exc:
            text = str(exc)
            if "TIMEOUT_EXCEEDED" in text or "Timeout exceeded" in text:
                self._drain()
                raise QueryTimeout(limits.timeout) from None
            raise QueryExecutionError(
                f"the query failed while running: {text.splitlines()[0] if text else exc}"
            ) from exc
        table: pa.Table = result
        raw = _rows(table, [t for _, t in columns])
        truncated = len(raw) > limits.max_rows
        if truncated and limits.strict_rows:
            raise RowLimitExceeded(limits.max_rows)
        rows = convert_rows(raw[: limits.max_rows], [t for _, t in columns])
        warnings = [f"the result was cut to the row limit of {limits.max_rows} rows"] if truncated else []
        return QueryResult(list(columns), rows, truncated, warnings, time.perf_counter() - started, sql)

    def close(self) -> None:
        with self._lock:
            if self._temporary:
                self._run(f"DROP DATABASE IF EXISTS {_ident(self._database).sql('clickhouse')}")
            self._session.close()


_TRAILING_SETTINGS = re.compile(r"\bSETTINGS\b[^()'\"]*$", re.IGNORECASE)


def _with_settings(sql: str, settings: str) -> str:
    """``sql`` with ``settings`` added to its trailing SETTINGS clause (compiled queries carry one)."""
    if _TRAILING_SETTINGS.search(sql):
        return f"{sql.rstrip()}, {settings}"
    return f"{sql} SETTINGS {settings}"


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
