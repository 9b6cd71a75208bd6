"""Layer 0: table schemas and KQL types. Pure data, no I/O beyond reading the shipped files."""

from watchkeeper.schema.catalog import (
    CUSTOM_TABLE_SUFFIX,
    Catalog,
    ColumnDef,
    TableDef,
    custom_table,
    is_custom_table_name,
)
from watchkeeper.schema.types import KqlType, parse_type_name

__all__ = [
    "CUSTOM_TABLE_SUFFIX",
    "Catalog",
    "ColumnDef",
    "KqlType",
    "TableDef",
    "custom_table",
    "is_custom_table_name",
    "parse_type_name",
]
