"""KQL scalar types.

Kusto has ten scalar types. Two of them need a storage decision that the whole product shares:

* ``datetime`` is stored as a UTC timestamp with microsecond precision (Kusto keeps 100 ns ticks;
  the seventh fractional digit is dropped on ingest).
* ``timespan`` is stored as a 64-bit count of 100 ns ticks, exactly Kusto's own representation, so
  ``tolong(1s) == 10000000`` and timespan arithmetic is integer arithmetic on every engine.

``unknown`` is not a KQL type: it types the columns of tables the catalog does not describe when a
query is compiled without a workspace (see :class:`watchkeeper.schema.catalog.Catalog`).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CLICKHOUSE_TYPES",
    "DUCKDB_TYPES",
    "TICKS_PER_MICROSECOND",
    "TICKS_PER_SECOND",
    "KqlType",
    "parse_type_name",
]

TICKS_PER_SECOND = 10_000_000
TICKS_PER_MICROSECOND = 10


class KqlType(StrEnum):
    """A KQL scalar type; the value is the canonical KQL spelling."""

    BOOL = "bool"
    INT = "int"
    LONG = "long"
    REAL = "real"
    DECIMAL = "decimal"
    STRING = "string"
    DATETIME = "datetime"
    TIMESPAN = "timespan"
    GUID = "guid"
    DYNAMIC = "dynamic"
    UNKNOWN = "unknown"

    @property
    def is_numeric(self) -> bool:
        return self in _NUMERIC

    @property
    def is_integer(self) -> bool:
        return self in (KqlType.INT, KqlType.LONG)

    def __str__(self) -> str:
        return self.value


_NUMERIC = frozenset({KqlType.INT, KqlType.LONG, KqlType.REAL, KqlType.DECIMAL})

# Aliases Kusto accepts in type positions (datatable, parse, cast functions, schema exports).
_ALIASES = {
    "bool": KqlType.BOOL,
    "boolean": KqlType.BOOL,
    "int": KqlType.INT,
    "int32": KqlType.INT,
    "long": KqlType.LONG,
    "int64": KqlType.LONG,
    "bigint": KqlType.LONG,
    "real": KqlType.REAL,
    "double": KqlType.REAL,
    "float": KqlType.REAL,
    "decimal": KqlType.DECIMAL,
    "string": KqlType.STRING,
    "datetime": KqlType.DATETIME,
    "date": KqlType.DATETIME,
    "timespan": KqlType.TIMESPAN,
    "time": KqlType.TIMESPAN,
    "guid": KqlType.GUID,
    "uniqueid": KqlType.GUID,
    "uuid": KqlType.GUID,
    "dynamic": KqlType.DYNAMIC,
}


def parse_type_name(name: str) -> KqlType | None:
    """The KQL type a type name denotes (``double`` -> real), or None if it is not a type."""
    return _ALIASES.get(name.strip().lower())


# How each engine holds a KQL type: the store's column types and the compiler's casts agree on
# these. A timespan is a count of 100 ns ticks; ClickHouse keeps dynamic values as JSON text.
DUCKDB_TYPES: dict[KqlType, str] = {
    KqlType.BOOL: "BOOLEAN",
    KqlType.INT: "INTEGER",
    KqlType.LONG: "BIGINT",
    KqlType.REAL: "DOUBLE",
    KqlType.DECIMAL: "DECIMAL(38, 18)",
    KqlType.STRING: "VARCHAR",
    KqlType.DATETIME: "TIMESTAMPTZ",
    KqlType.TIMESPAN: "BIGINT",
    KqlType.GUID: "UUID",
    KqlType.DYNAMIC: "JSON",
    KqlType.UNKNOWN: "VARCHAR",
}

CLICKHOUSE_TYPES: dict[KqlType, str] = {
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
    KqlType.UNKNOWN: "String",
}
