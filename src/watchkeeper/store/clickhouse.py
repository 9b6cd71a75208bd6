"""The scale-out event store on ClickHouse; here on chdb (ClickHouse in process).

chdb runs the same ClickHouse SQL a cluster runs, so the compiler's ClickHouse output is tested
without a server. A ClickHouse server connection (clickhouse-connect) implements the same
protocol; it arrives with the cluster deployment.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from watchkeeper.errors import ConfigurationError, QueryExecutionError, QueryTimeout, RowLimitExceeded, StoreError
from watchkeeper.schema.catalog import TableDef
from watchkeeper.schema.types import KqlType
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.result import QueryResult, convert_rows

__all__ = ["ChdbEventStore"]

_TYPES = {
    KqlType.BOOL: "Bool",
    KqlType.INT: "Int32",
    KqlType.LONG: "Int64",
    KqlType.REAL: "Float64",
    KqlType.DECIMAL: "Decimal(38, 18)",
    KqlType.STRING: "String",
    KqlType.DATETIME: "DateTime64(6, 'UTC')",
    KqlType.TIMESPAN: "Int64",
    KqlType.GUID: "UUID",
    KqlType.DYNAMIC: "String",
}


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


class ChdbEventStore:
    """:class:`~watchkeeper.store.base.EventStore` on chdb (in memory, or a data path)."""

    dialect = "clickhouse"

    def __init__(self, path: str | Path | None = None) -> None:
        try:
            from chdb import session
        except ImportError as exc:  # chdb is an optional dependency (extra "clickhouse")
            raise ConfigurationError("the ClickHouse store needs chdb: pip install 'watchkeeper[clickhouse]'") from exc
        self._session: Any = session.Session(str(path)) if path else session.Session()
        self._lock = threading.RLock()
        self._tables: dict[str, TableDef] = {}

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
                          f"{_ident(physical).sql('clickhouse')} Nullable({_TYPES[column.type]})")  # fmt: skip
            self._tables[table.name] = current.with_columns(missing)

    def _create(self, table: TableDef) -> None:
        physical = table.physical_names
        parts = [f"{_ident(physical[c.name]).sql('clickhouse')} Nullable({_TYPES[c.type]})" for c in table.stored_columns]
        name = _ident(table.name).sql("clickhouse")
        self._run(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(parts)}) ENGINE = Memory")

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
            source = exp.Anonymous(this="file", expressions=[exp.Literal.string(str(path)), exp.Literal.string("Parquet")])
            target = exp.Schema(this=exp.Table(this=_ident(table.name)), expressions=[_ident(n) for n in renamed.column_names])
            insert = exp.Insert(this=target, expression=exp.select(*[exp.column(_ident(n)) for n in renamed.column_names])
                                .from_(exp.Table(this=source)))  # fmt: skip
            try:
                self._run(insert.sql("clickhouse"))
            except Exception as exc:
                raise StoreError(f"could not append to {table.name}: {exc}") from exc
        return rows.num_rows

    def execute(self, sql: str, columns: list[tuple[str, KqlType]], limits: QueryLimits) -> QueryResult:
        started = time.perf_counter()
        settings = (f" SETTINGS max_execution_time = {float(limits.timeout)}, max_result_rows = {limits.max_rows + 1}, "
                    "result_overflow_mode = 'break'")  # fmt: skip
        try:
            result = self._run(sql + settings, "ArrowTable")
        except Exception as exc:
            text = str(exc)
            if "TIMEOUT_EXCEEDED" in text or "Timeout exceeded" in text:
                raise QueryTimeout(limits.timeout) from None
            raise QueryExecutionError(f"the query failed while running: {text.splitlines()[0] if text else exc}") from exc
        table: pa.Table = result
        raw = [tuple(_plain(v) for v in row) for row in zip(*[c.to_pylist() for c in table.columns], strict=True)] if (
            table.num_rows) else []  # fmt: skip
        truncated = len(raw) > limits.max_rows
        if truncated and limits.strict_rows:
            raise RowLimitExceeded(limits.max_rows)
        rows = convert_rows(raw[: limits.max_rows], [t for _, t in columns])
        warnings = [f"the result was cut to the row limit of {limits.max_rows} rows"] if truncated else []
        return QueryResult(list(columns), rows, truncated, warnings, time.perf_counter() - started, sql)

    def close(self) -> None:
        with self._lock:
            self._session.close()


def _plain(value: Any) -> Any:
    if isinstance(value, bytes) and len(value) == 16:
        import uuid

        return str(uuid.UUID(bytes=value))
    return value


