"""The SQL engines the compiler can target, by name."""

from __future__ import annotations

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.dialect_clickhouse import ClickHouseDialect
from watchkeeper.kql.dialects import Dialect, DuckDBDialect

__all__ = ["get_dialect"]

_DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "clickhouse": ClickHouseDialect()}


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name`` (``duckdb`` or ``clickhouse``)."""
    try:
        return _DIALECTS[name]
    except KeyError:
        raise UnsupportedError(f"SQL dialect '{name}' (choose duckdb or clickhouse)") from None
