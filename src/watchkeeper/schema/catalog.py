"""The table catalog: which tables exist and what their columns are.

The shipped catalog holds every Log Analytics table (898 of them, Sentinel's column names and KQL
types) from the data files next to this module, and ``IngestionErrors``, where records that could
not be stored are kept with the reason. A workspace's catalog is the shipped one plus the
custom ``_CL`` tables created by writing to them.

Defender XDR tables (``Device*``, ``Email*``, ``Identity*``, ...) also answer to ``Timestamp``, the
advanced-hunting name of the event time: it is an alias of ``TimeGenerated``, not a second column.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

from watchkeeper.errors import CatalogError
from watchkeeper.schema.types import KqlType, parse_type_name

__all__ = ["CUSTOM_TABLE_SUFFIX", "Catalog", "ColumnDef", "TableDef", "custom_table", "is_custom_table_name"]

CUSTOM_TABLE_SUFFIX = "_CL"

# Table families that Defender advanced hunting streams into Sentinel; their queries say Timestamp.
_DEFENDER_TABLES = re.compile(
    r"^(Device|Alert|Email|Identity|CloudApp|UrlClick|Exposure|AADSignInEvents|AADSpnSignInEvents|"
    r"BehaviorEntities|BehaviorInfo)"
)
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


@dataclass(frozen=True, slots=True)
class ColumnDef:
    """A column of a stored table. ``alias_of`` names the stored column an alias reads."""

    name: str
    type: KqlType
    description: str = ""
    alias_of: str | None = None


# Standard columns of every Log Analytics table (Azure Monitor "standard columns"): the workspace id
# and the table name. A few schema exports omit them.
_STANDARD = (
    ColumnDef("TenantId", KqlType.STRING, "The Log Analytics workspace ID"),
    ColumnDef("Type", KqlType.STRING, "The name of the table"),
)
# Tables whose columns depend on the resource that sends them: Log Analytics adds columns as
# data arrives (AzureDiagnostics' `*_s`, `*_d` fields), so any column name may exist.
_OPEN_TABLES = frozenset({"AzureDiagnostics"})


@dataclass(frozen=True)
class TableDef:
    """A table: its name and its columns in schema order."""

    name: str
    columns: tuple[ColumnDef, ...]
    open: bool = False  # columns vary by data source (AzureDiagnostics): any column name may exist
    _by_name: dict[str, ColumnDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    def column(self, name: str) -> ColumnDef | None:
        """The column called exactly ``name`` (KQL names are case-sensitive)."""
        return self._by_name.get(name)

    @cached_property
    def stored_columns(self) -> tuple[ColumnDef, ...]:
        """The columns that occupy storage (aliases excluded)."""
        return tuple(c for c in self.columns if c.alias_of is None)

    @cached_property
    def physical_names(self) -> dict[str, str]:
        """Stored column name -> SQL identifier. Engines fold identifier case, so a column whose
        name differs from an earlier one only in case is stored as ``name__2``."""
        used: set[str] = set()
        out: dict[str, str] = {}
        for col in self.stored_columns:
            sql, n = col.name, 2
            while sql.lower() in used:
                sql, n = f"{col.name}__{n}", n + 1
            used.add(sql.lower())
            out[col.name] = sql
        return out

    @property
    def is_custom(self) -> bool:
        return is_custom_table_name(self.name)

    def with_columns(self, extra: Iterable[ColumnDef]) -> TableDef:
        """A copy with ``extra`` columns appended (existing names are kept as they are)."""
        new = [c for c in extra if c.name not in self._by_name]
        return TableDef(self.name, self.columns + tuple(new), self.open) if new else self


def is_custom_table_name(name: str) -> bool:
    """Custom log tables end in ``_CL``, as in Log Analytics."""
    return name.endswith(CUSTOM_TABLE_SUFFIX) and bool(_TABLE_NAME.match(name))


class Catalog(Mapping[str, TableDef]):
    """An immutable mapping from table name to :class:`TableDef`."""

    def __init__(self, tables: Iterable[TableDef] = ()) -> None:
        self._tables: dict[str, TableDef] = {t.name: t for t in tables}

    @classmethod
    def sentinel(cls) -> Catalog:
        """Every shipped Log Analytics / Sentinel table schema."""
        return cls(_shipped_tables())

    @classmethod
    def empty(cls) -> Catalog:
        return cls()

    def __getitem__(self, name: str) -> TableDef:
        return self._tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"Catalog({len(self)} tables)"

    def table(self, name: str) -> TableDef | None:
        """The table called ``name``, or None."""
        return self._tables.get(name)

    def require(self, name: str) -> TableDef:
        """The table called ``name``; raises :class:`CatalogError` naming close matches."""
        table = self._tables.get(name)
        if table is None:
            raise CatalogError(f"unknown table '{name}'")
        return table

    def with_tables(self, tables: Iterable[TableDef]) -> Catalog:
        """A new catalog with ``tables`` added or replaced."""
        merged = dict(self._tables)
        merged.update({t.name: t for t in tables})
        return Catalog(merged.values())


def custom_table(name: str, columns: Iterable[tuple[str, KqlType]]) -> TableDef:
    """A custom ``_CL`` table; ``TimeGenerated`` is added first when the columns lack it."""
    if not is_custom_table_name(name):
        raise CatalogError(
            f"'{name}' is not a table of the catalog; custom tables must end in {CUSTOM_TABLE_SUFFIX} "
            "and use letters, digits and underscores"
        )
    # every table's TimeGenerated is a datetime, whatever the first value looked like (ISO text)
    cols = [ColumnDef(n, KqlType.DATETIME if n == "TimeGenerated" else t) for n, t in columns]
    if not any(c.name == "TimeGenerated" for c in cols):
        cols.insert(0, ColumnDef("TimeGenerated", KqlType.DATETIME, "Time the record was ingested"))
    cols.extend(c for c in _STANDARD if all(have.name != c.name for have in cols))
    return TableDef(name, tuple(cols))


@cache
def _shipped_tables() -> tuple[TableDef, ...]:
    columns: dict[str, list[ColumnDef]] = {}
    for path in ("la_table_schemas.csv.gz", "sentinel_supplement.csv"):
        for table, col in _read_schema_file(path):
            cols = columns.setdefault(table, [])
            if all(c.name != col.name for c in cols):
                cols.append(col)
    tables = []
    for name, cols in columns.items():
        if all(c.name != "TimeGenerated" for c in cols):
            cols.insert(0, ColumnDef("TimeGenerated", KqlType.DATETIME, "Time the record was created"))
        cols.extend(c for c in _STANDARD if all(have.name != c.name for have in cols))
        if _DEFENDER_TABLES.match(name) and all(c.name != "Timestamp" for c in cols):
            cols.append(ColumnDef("Timestamp", KqlType.DATETIME, "Event time", alias_of="TimeGenerated"))
        tables.append(TableDef(name, tuple(cols), open=name in _OPEN_TABLES))
    return tuple(tables)


def _read_schema_file(name: str) -> Iterator[tuple[str, ColumnDef]]:
    raw = resources.files("watchkeeper.schema").joinpath("data", name).read_bytes()
    text = gzip.decompress(raw).decode("utf-8") if name.endswith(".gz") else raw.decode("utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        kql_type = parse_type_name(row["column_type"])
        # The export has a few placeholder rows ('...', 'def'): they are not columns.
        if kql_type is None or not row["column_name"].strip(". "):
            continue
        yield row["table_name"], ColumnDef(row["column_name"], kql_type, row["description"])
