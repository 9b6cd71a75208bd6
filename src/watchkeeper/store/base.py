"""The event store seam: one small protocol, a DuckDB and a ClickHouse implementation, a memory twin."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyarrow as pa

from watchkeeper.schema.catalog import TableDef
from watchkeeper.schema.host import HostFunction
from watchkeeper.schema.types import KqlType
from watchkeeper.store.result import QueryResult

__all__ = ["EventStore", "QueryLimits"]


@dataclass(frozen=True)
class QueryLimits:
    """Limits every query runs under. Hitting one is reported, never silent.

    ``max_rows``: rows returned; more are cut and the result says ``truncated`` (Kusto's default
    truncation is 500,000 rows). ``timeout``: seconds before the query is cancelled with
    :class:`~watchkeeper.errors.QueryTimeout`. ``strict_rows`` raises
    :class:`~watchkeeper.errors.RowLimitExceeded` instead of truncating.
    """

    max_rows: int = 500_000
    timeout: float = 60.0
    strict_rows: bool = False


@runtime_checkable
class EventStore(Protocol):
    """Append-only columnar storage of one workspace's events."""

    @property
    def dialect(self) -> str:
        """The SQL dialect compiled queries must be in (``duckdb`` or ``clickhouse``)."""
        ...

    def ensure_table(self, table: TableDef) -> None:
        """Create ``table`` if missing; add columns it gained (custom tables grow)."""
        ...

    def append(self, table: TableDef, rows: pa.Table) -> int:
        """Append rows already coerced to the table's storage types; returns the row count."""
        ...

    def write_unit(
        self, unit_id: str | None, *, carries: Sequence[str] = (), position: int | None = None
    ) -> AbstractContextManager[bool]:
        """Group appends into one unit: inside ``with store.write_unit(id) as fresh``, appends are
        committed together when the block ends (or none of them, if it raises). ``fresh`` is False
        when a unit with this id was already committed: the caller skips its appends, so that a
        batch delivered twice is stored once. ``None`` names no unit (no deduplication).

        A unit the journal writer commits names the batches it ``carries`` (their ids are
        recorded as committed units) and the journal ``position`` it reaches, both committed with
        the appends."""
        ...

    def has_unit(self, unit_id: str) -> bool:
        """Whether a unit (or a carried batch) with this id was committed."""
        ...

    def journal_position(self) -> int:
        """The journal position of the last unit that recorded one (0 when none did)."""
        ...

    def execute(self, sql: str, columns: list[tuple[str, KqlType]], limits: QueryLimits) -> QueryResult:
        """Run compiled SQL; values come back as watchkeeper Python values.

        A store whose ``takes_parameters`` attribute is true also takes ``parameters=``: the
        values of the SQL's datetime parameters (see :mod:`watchkeeper.kql.moments`)."""
        ...

    def custom_tables(self) -> list[TableDef]:
        """The ``_CL`` tables this store holds, with their KQL column types."""
        ...

    def stored_tables(self) -> set[str]:
        """Names of the tables that have storage (were written to at least once)."""
        ...

    def register_function(self, function: HostFunction) -> bool:
        """Make a host function callable from SQL; False when this engine cannot run Python."""
        ...

    def close(self) -> None: ...
