"""The ClickHouse tables of a workspace, as DDL shared by the embedded (chdb) and the server store.

Event tables are ``MergeTree`` tables, partitioned by day and ordered by ``TimeGenerated`` (rules
and hunting queries almost always bound their time range first), with an optional ``TTL`` that
drops rows older than the table's retention. Columns are ``Nullable`` as KQL values may be null,
except ``TimeGenerated``: ingestion always fills it (the ingestion time when a record has none),
and ClickHouse keys and TTL expressions cannot be nullable. String columns that hold a small set
of values (computer names, event types, categories, levels) are ``LowCardinality``: dictionary
encoded, they take a fraction of the space and filter and group faster.

Every name enters SQL as a quoted identifier (sqlglot), numbers as integers; no value is formatted
into SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlglot import exp

from watchkeeper.schema.catalog import ColumnDef, TableDef
from watchkeeper.schema.types import CLICKHOUSE_TYPES, KqlType

__all__ = [
    "BOOKKEEPING_TABLES",
    "Retention",
    "add_column_sql",
    "column_type",
    "create_table_sql",
    "is_low_cardinality",
    "quoted",
]

TIME_COLUMN = "TimeGenerated"

# Columns that take few distinct values in the Log Analytics schemas (counted over
# ../shared/kql/la_table_schemas.csv: SourceSystem, Type, Category, Level, Computer, ... recur in
# hundreds of tables) and the name endings of the same kind of column (EventType, ResultType,
# ActionType, LogonType, SeverityLevel, DeviceVendor, ...).
_LOW_CARDINALITY_NAMES = frozenset({
    "Computer", "Type", "SourceSystem", "Category", "Level", "Severity", "Status", "Protocol",
    "Action", "ActionName", "OperationName", "OperationVersion", "Location", "Region", "ServiceName",
    "ResourceGroup", "ResourceProvider", "ClusterName", "DatabaseName", "HostName", "DeviceName",
    "Facility", "Activity", "Channel", "Provider", "EventSourceName", "ProcessName", "Resource",
    "SubscriptionId", "_SubscriptionId", "TenantId", "ClientAppUsed", "AppDisplayName", "AppId",
    "ResultSignature", "StatusCode", "DeviceProduct", "DeviceVendor", "DeviceVersion", "Task",
})  # fmt: skip
_LOW_CARDINALITY_ENDINGS = ("Type", "Category", "Level", "Severity", "Status", "Protocol", "Vendor",
                            "Product", "Direction", "Outcome", "Code", "Result", "Version")  # fmt: skip


def quoted(name: str) -> str:
    """``name`` as a quoted ClickHouse identifier."""
    return exp.to_identifier(name, quoted=True).sql("clickhouse")


def is_low_cardinality(column: ColumnDef) -> bool:
    """Whether ``column`` is stored dictionary-encoded: a string column named like a dimension."""
    if column.type is not KqlType.STRING:
        return False
    return column.name in _LOW_CARDINALITY_NAMES or column.name.endswith(_LOW_CARDINALITY_ENDINGS)


def column_type(column: ColumnDef) -> str:
    """The ClickHouse type of a stored column."""
    base = CLICKHOUSE_TYPES[column.type]
    if _is_time_key(column):
        return base
    if is_low_cardinality(column):
        return f"LowCardinality(Nullable({base}))"
    return f"Nullable({base})"


def _is_time_key(column: ColumnDef) -> bool:
    return column.name == TIME_COLUMN and column.type is KqlType.DATETIME


@dataclass(frozen=True)
class Retention:
    """Days a table's rows are kept (``TTL``): ``tables`` by name, else ``default``; 0 keeps them."""

    default: int = 0
    tables: Mapping[str, int] = field(default_factory=dict)

    def days(self, table: str) -> int:
        """The retention of ``table`` in days (0: no TTL)."""
        return int(self.tables.get(table, self.default))


def create_table_sql(table: TableDef, retention: Retention | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for an event table: MergeTree by day and ``TimeGenerated``,
    with the table's retention as TTL. A table without a datetime ``TimeGenerated`` (a custom
    table written without one cannot exist, but a foreign one might) is kept in insertion order."""
    physical = table.physical_names
    columns = ", ".join(f"{quoted(physical[c.name])} {column_type(c)}" for c in table.stored_columns)
    keyed = any(_is_time_key(c) for c in table.stored_columns)
    days = (retention or Retention()).days(table.name)
    time = quoted(physical.get(TIME_COLUMN, TIME_COLUMN))
    layout = f" PARTITION BY toDate({time}) ORDER BY ({time})" if keyed else " ORDER BY tuple()"
    ttl = f" TTL toDateTime({time}) + INTERVAL {int(days)} DAY" if keyed and days > 0 else ""
    return f"CREATE TABLE IF NOT EXISTS {quoted(table.name)} ({columns}) ENGINE = MergeTree{layout}{ttl}"


def add_column_sql(table: str, physical: str, column: ColumnDef) -> str:
    """``ALTER TABLE ... ADD COLUMN`` for a column a custom table gained."""
    return f"ALTER TABLE {quoted(table)} ADD COLUMN IF NOT EXISTS {quoted(physical)} {column_type(column)}"


# The store's own records, beside the event tables: each table's columns with their KQL types (a
# timespan is an Int64 of ticks, dynamic is JSON text: ClickHouse's types cannot tell them apart),
# the write units committed (a week, as on DuckDB) and the ingestion journal's position.
BOOKKEEPING_TABLES = (
    "CREATE TABLE IF NOT EXISTS _wk_columns (table_name String, column_name String, kql_type String, "
    "ordinal Int32) ENGINE = MergeTree ORDER BY (table_name, ordinal)",
    "CREATE TABLE IF NOT EXISTS _wk_units (unit_id String, committed_at DateTime) "
    "ENGINE = MergeTree ORDER BY unit_id TTL committed_at + INTERVAL 7 DAY",
    "CREATE TABLE IF NOT EXISTS _wk_journal (position Int64) ENGINE = MergeTree ORDER BY tuple()",
)
