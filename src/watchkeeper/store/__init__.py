"""Layer 1: event storage. One :class:`EventStore` per workspace: DuckDB embedded, ClickHouse
(chdb in tests) for scale-out, and a memory twin for tests."""

from watchkeeper.store.base import EventStore, QueryLimits
from watchkeeper.store.coerce import infer_columns, to_arrow
from watchkeeper.store.duckdb import DuckDBEventStore
from watchkeeper.store.memory import MemoryEventStore
from watchkeeper.store.result import QueryResult

__all__ = [
    "DuckDBEventStore",
    "EventStore",
    "MemoryEventStore",
    "QueryLimits",
    "QueryResult",
    "infer_columns",
    "to_arrow",
]
