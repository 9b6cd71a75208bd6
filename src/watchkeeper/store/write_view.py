"""One committed write's rows as a store of their own: what near-real-time rules run on.

The rows stay the Arrow tables the writer committed. Each table of the write becomes a view over
its batch in an in-memory DuckDB (registered, not copied), with the table's other columns as typed
NULLs, so a rule's query sees exactly the rows of that write and costs what scanning them costs.
Showing the next write replaces the views; the connection, its host functions and the compiled
queries of the workspace over it stay, which is what keeps a rule's fixed cost small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import duckdb
import pyarrow as pa
from sqlglot import exp

from watchkeeper.schema.catalog import TableDef
from watchkeeper.schema.types import DUCKDB_TYPES
from watchkeeper.store.duckdb import DuckDBEventStore

__all__ = ["SCAN_CHUNK", "WriteViewStore"]

# rows per Arrow chunk of a write: small enough that a write of a few tens of thousands of rows is
# scanned on every core (measured on 50k rows and 2 cores: 8,192 is as fast as smaller chunks)
SCAN_CHUNK = 8192


class WriteViewStore(DuckDBEventStore):
    """:class:`~watchkeeper.store.duckdb.DuckDBEventStore` whose tables are the batches of the
    write last shown (:meth:`show`); nothing is ever appended to it. Queries run one at a time on
    its one connection, the only one that sees the registered batches."""

    def __init__(self) -> None:
        super().__init__(None)
        self._shown: dict[str, TableDef] = {}
        self._batches: dict[str, tuple[str, ...]] = {}  # each staged batch's column names
        self._views: dict[str, str] = {}  # the statement each table's view was created with

    def show(self, parts: Sequence[tuple[TableDef, pa.Table]]) -> None:
        """Make the tables of ``parts`` (one batch per table) what queries read, and no others."""
        self.stage(parts)
        self.expose()

    def stage(self, parts: Sequence[tuple[TableDef, pa.Table]]) -> None:
        """The first half of :meth:`show`: the tables of ``parts`` are known (queries compile
        against them) but not yet readable until :meth:`expose`. A view reads its batch by name,
        so a new batch under the same name needs no new view."""
        with self._lock:
            for name in set(self._shown) - {definition.name for definition, _ in parts}:
                self._con.execute(
                    _sql(exp.Drop(tables=[exp.Table(this=_quoted(name))], kind="VIEW", exists=True))
                )
                self._con.unregister(_batch_name(name))
                self._views.pop(name, None)
            self._shown, self._batches = {}, {}
            for definition, batch in parts:
                # DuckDB scans an Arrow table one chunk per thread: slices (no copy) use every core
                sliced = pa.Table.from_batches(
                    batch.to_batches(max_chunksize=SCAN_CHUNK), schema=batch.schema
                )
                self._con.register(_batch_name(definition.name), sliced)
                self._shown[definition.name] = definition
                self._batches[definition.name] = tuple(batch.column_names)

    def expose(self, columns: Mapping[str, frozenset[str] | None] | None = None) -> None:
        """The second half of :meth:`show`: a view over each staged batch. ``columns`` names, per
        table, the stored columns (SQL names) the queries to come read: a view of a few columns
        costs a query less to bind than one of a wide table's 200-odd (None: every column)."""
        with self._lock:
            for name, definition in self._shown.items():
                wanted = None if columns is None else columns.get(name, frozenset())
                statement = _view_sql(definition, self._batches[name], wanted)
                if self._views.get(name) != statement:  # the same shape as the last write's: kept
                    self._con.execute(statement)
                    self._views[name] = statement

    def stored_tables(self) -> set[str]:
        return set(self._shown)

    def custom_tables(self) -> list[TableDef]:
        return [definition for definition in self._shown.values() if definition.is_custom]

    def _query_cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con  # registered batches and temporary views belong to this connection


def _batch_name(table: str) -> str:
    return f"_wk_write_{table}"


def _quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


@lru_cache(maxsize=64)
def _view_sql(definition: TableDef, present: tuple[str, ...], wanted: frozenset[str] | None) -> str:
    """``CREATE TEMP VIEW table AS SELECT ...`` over the registered batch, whose columns are
    ``present``: the table's stored columns (those ``wanted``, by SQL name, or all) under their
    stored names and types, NULL where the batch has no such column. Kept per shape: writes of
    one source look alike, and building the statement for a wide table costs more than a small
    write takes to query."""
    physical, columns = definition.physical_names, []
    for column in definition.stored_columns:
        if wanted is not None and physical[column.name] not in wanted:
            continue
        value = exp.column(_quoted(column.name)) if column.name in present else exp.null()
        kind = exp.DataType.build(DUCKDB_TYPES[column.type], dialect="duckdb")
        columns.append(exp.alias_(exp.Cast(this=value, to=kind), _quoted(physical[column.name])))
    if not columns:  # no query reads a column of it (`T | count`): one keeps the rows countable
        columns.append(exp.alias_(exp.null(), _quoted("_wk_row")))
    select = exp.select(*columns).from_(exp.Table(this=_quoted(_batch_name(definition.name))))
    view = exp.Create(this=exp.Table(this=_quoted(definition.name)), kind="VIEW", expression=select,
                      replace=True, properties=exp.Properties(expressions=[exp.TemporaryProperty()]))  # fmt: skip
    return _sql(view)


def _sql(expression: exp.Expression) -> str:
    return expression.sql(dialect="duckdb")
