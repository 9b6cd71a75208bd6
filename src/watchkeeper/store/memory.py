"""The memory twin of the event store, for tests of the layers above.

Rows live in Python as Arrow tables (``rows(table)`` shows exactly what was appended); queries
run on a throw-away DuckDB connection over them, so behaviour matches the embedded store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

import pyarrow as pa

from watchkeeper.schema.catalog import TableDef
from watchkeeper.schema.host import HostFunction
from watchkeeper.schema.types import KqlType
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.duckdb import DuckDBEventStore
from watchkeeper.store.result import QueryResult

__all__ = ["MemoryEventStore"]


class MemoryEventStore:
    """:class:`~watchkeeper.store.base.EventStore` keeping appended batches in memory."""

    dialect = "duckdb"
    takes_parameters = True

    def __init__(self) -> None:
        self._tables: dict[str, TableDef] = {}
        self._batches: dict[str, list[pa.Table]] = {}
        self._lock = threading.Lock()
        self._unit = threading.RLock()  # one write unit at a time
        self._units: set[str] = set()
        self._position = 0
        self._functions: dict[str, HostFunction] = {}

    def ensure_table(self, table: TableDef) -> None:
        with self._lock:
            current = self._tables.get(table.name)
            self._tables[table.name] = (
                table if current is None else current.with_columns(table.stored_columns)
            )
            self._batches.setdefault(table.name, [])

    def append(self, table: TableDef, rows: pa.Table) -> int:
        self.ensure_table(table)
        with self._lock:
            self._batches[table.name].append(rows)
        return int(rows.num_rows)

    @contextmanager
    def write_unit(
        self, unit_id: str | None, *, carries: Sequence[str] = (), position: int | None = None
    ) -> Iterator[bool]:
        """Appends in the block are kept together, or dropped together if it raises."""
        with self._unit:
            if unit_id is not None and unit_id in self._units:
                yield False
                return
            lengths = {name: len(batches) for name, batches in self._batches.items()}
            try:
                yield True
            except BaseException:
                with self._lock:
                    for name, batches in self._batches.items():
                        del batches[lengths.get(name, 0) :]
                raise
            if unit_id is not None:
                self._units.add(unit_id)
            self._units.update(carries)
            if position is not None:
                self._position = position

    def has_unit(self, unit_id: str) -> bool:
        return unit_id in self._units

    def journal_position(self) -> int:
        return self._position

    def rows(self, table: str) -> list[dict[str, object]]:
        """Every row appended to ``table``, as dicts (what a test asserts on)."""
        with self._lock:
            return [row for batch in self._batches.get(table, []) for row in batch.to_pylist()]

    def custom_tables(self) -> list[TableDef]:
        return [t for t in self._tables.values() if t.is_custom]

    def register_function(self, function: HostFunction) -> bool:
        self._functions[function.name] = function
        return True

    def stored_tables(self) -> set[str]:
        with self._lock:
            return set(self._tables)

    def execute(
        self,
        sql: str,
        columns: list[tuple[str, KqlType]],
        limits: QueryLimits,
        parameters: Mapping[str, datetime] | None = None,
    ) -> QueryResult:
        engine = DuckDBEventStore(None)
        for function in self._functions.values():
            engine.register_function(function)
        try:
            with self._lock:
                snapshot = {
                    name: (self._tables[name], list(batches)) for name, batches in self._batches.items()
                }
            for table, batches in snapshot.values():
                engine.ensure_table(table)
                for batch in batches:
                    engine.append(table, batch)
            return engine.execute(sql, columns, limits, parameters)
        finally:
            engine.close()

    def close(self) -> None:
        with self._lock:
            self._batches.clear()
