"""A workspace's stored functions: KQL functions kept with its data (Kusto's ``.create function``).

A query calls one by name like a table (``MyParser`` or ``MyParser(ago(1d))``); the binder expands
its body there. Definitions are checked before they are kept (:mod:`watchkeeper.kql.stored_functions`:
the body compiles against the workspace's tables, the name hides no table or built-in function).
A stored function may take the name of a built-in ASIM parser (``imProcessCreate``...) and then
replaces it in this workspace, as a workspace's own parser does in Sentinel.

They persist in the event store's ``_wk_functions`` table, one row per change (``Deleted`` marks a
drop) and the highest ``Revision`` of a name wins: append-only, so DuckDB, ClickHouse and the
memory store keep them alike, and no KQL query can read the table (the catalog does not name it).
Only this process writes to the workspace, so the definitions read at open are kept in memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlglot import exp

from watchkeeper.errors import InvalidRequestError, NotFoundError
from watchkeeper.kql.scope import StoredFunction
from watchkeeper.kql.stored_functions import FunctionCheck, check_function
from watchkeeper.kql.targets import get_dialect
from watchkeeper.schema.catalog import Catalog, ColumnDef, TableDef
from watchkeeper.schema.types import KqlType
from watchkeeper.store.base import EventStore, QueryLimits
from watchkeeper.store.coerce import to_arrow

__all__ = ["FUNCTIONS_TABLE", "MAX_FUNCTIONS", "FunctionDefinition", "WorkspaceFunctions"]

FUNCTIONS_TABLE = "_wk_functions"
# the most changes read back at open (each create, alter or drop is one)
MAX_FUNCTIONS = 100_000
_S = KqlType.STRING
_TABLE = TableDef(FUNCTIONS_TABLE, (
    ColumnDef("Name", _S), ColumnDef("Parameters", _S), ColumnDef("Body", _S), ColumnDef("Folder", _S),
    ColumnDef("DocString", _S), ColumnDef("Deleted", KqlType.BOOL), ColumnDef("Revision", KqlType.LONG),
    ColumnDef("ChangedAt", KqlType.DATETIME),
))  # fmt: skip
_READ = QueryLimits(max_rows=MAX_FUNCTIONS, strict_rows=True)


class _Host(Protocol):
    """What stored functions need of their workspace."""

    store: EventStore

    @property
    def catalog(self) -> Catalog: ...


@dataclass(frozen=True)
class FunctionDefinition:
    """A stored function as ``.show function`` lists it. ``parameters`` is the list without its
    parentheses and ``body`` the text between the braces, both as written."""

    name: str
    parameters: str
    body: str
    folder: str = ""
    docstring: str = ""

    @property
    def shown_parameters(self) -> str:
        """The parameter list as Kusto shows it: ``(x:long)``, ``()``."""
        return f"({self.parameters})"

    @property
    def shown_body(self) -> str:
        """The body as Kusto shows it, in braces."""
        return "{" + self.body + "}"

    def stored(self) -> StoredFunction:
        return StoredFunction(self.name, self.body, self.parameters)


class WorkspaceFunctions:
    """The stored functions of one workspace. Each is also in the workspace's ``functions``
    mapping (what its queries bind against), changed together with the definitions."""

    def __init__(self, host: _Host, functions: dict[str, StoredFunction]) -> None:
        self._host = host
        self._functions = functions
        self._lock = threading.RLock()
        self._revision = 0
        self._known: dict[str, FunctionDefinition] = {}
        for definition in self._read():
            self._functions[definition.name] = definition.stored()
            self._known[definition.name] = definition

    def list_all(self) -> list[FunctionDefinition]:
        """Every stored function, by name."""
        with self._lock:
            return sorted(self._known.values(), key=lambda d: d.name)

    def get(self, name: str) -> FunctionDefinition:
        """One stored function; :class:`NotFoundError` when there is none."""
        with self._lock:
            found = self._known.get(name)
        if found is None:
            raise NotFoundError("function", name)
        return found

    def create(
        self,
        name: str,
        body: str,
        *,
        parameters: str = "",
        folder: str = "",
        docstring: str = "",
        replace: bool = False,
        if_not_exists: bool = False,
    ) -> FunctionDefinition:
        """Store ``name(parameters) { body }``. An existing name is an error unless ``replace``
        (``.create-or-alter``) or ``if_not_exists`` (then the existing function is returned).
        Raises :class:`~watchkeeper.errors.KqlError` when the body does not compile."""
        with self._lock:
            existing = self._known.get(name)
            if existing is not None and if_not_exists:
                return existing
            if existing is not None and not replace:
                raise InvalidRequestError(
                    f"the function '{name}' exists; use .create-or-alter function (or alter) to change it"
                )
            return self._store(name, parameters, body, folder, docstring)

    def alter(
        self, name: str, body: str, *, parameters: str = "", folder: str = "", docstring: str = ""
    ) -> FunctionDefinition:
        """Change an existing function (``.alter function``); :class:`NotFoundError` when there is none."""
        with self._lock:
            if name not in self._known:
                raise NotFoundError("function", name)
            return self._store(name, parameters, body, folder, docstring)

    def drop(self, name: str, *, if_exists: bool = False) -> bool:
        """Remove a function; False when there was none and ``if_exists``, else NotFoundError."""
        with self._lock:
            existing = self._known.get(name)
            if existing is None:
                if if_exists:
                    return False
                raise NotFoundError("function", name)
            self._write(existing, deleted=True)
            del self._known[name]
            self._functions.pop(name, None)
        return True

    def _store(
        self, name: str, parameters: str, body: str, folder: str, docstring: str
    ) -> FunctionDefinition:
        checked = check_function(name, parameters, body, self._check())
        definition = FunctionDefinition(name, checked.params, body, folder, docstring)
        self._write(definition, deleted=False)
        self._known[name] = definition
        self._functions[name] = checked
        return definition

    def _check(self) -> FunctionCheck:
        store = self._host.store
        return FunctionCheck(self._host.catalog, store.dialect, dict(self._functions),
                             store.stored_tables().__contains__)  # fmt: skip

    def _write(self, definition: FunctionDefinition, *, deleted: bool) -> None:
        now = datetime.now(UTC)
        row: dict[str, Any] = {
            "Name": definition.name, "Parameters": definition.parameters, "Body": definition.body,
            "Folder": definition.folder, "DocString": definition.docstring, "Deleted": deleted,
            "Revision": self._revision + 1, "ChangedAt": now,
        }  # fmt: skip
        self._host.store.append(_TABLE, to_arrow(_TABLE, [row], now=now))
        self._revision += 1

    def _read(self) -> list[FunctionDefinition]:
        """The live definitions recorded in the store (none before the first is stored)."""
        store = self._host.store
        if FUNCTIONS_TABLE not in store.stored_tables():
            return []
        names = [c.name for c in _TABLE.columns]
        physical = _TABLE.physical_names
        query = exp.select(*[exp.column(exp.to_identifier(physical[n], quoted=True)) for n in names]).from_(
            exp.to_identifier(FUNCTIONS_TABLE, quoted=True)
        )
        sql = query.sql(dialect=get_dialect(store.dialect).sqlglot_dialect)
        result = store.execute(sql, [(c.name, c.type) for c in _TABLE.columns], _READ)
        latest: dict[str, tuple[Any, ...]] = {}
        for row in sorted(result.rows, key=lambda r: int(r[6] or 0)):
            latest[str(row[0])] = row
            self._revision = max(self._revision, int(row[6] or 0))
        return [FunctionDefinition(*(str(v or "") for v in row[:5])) for row in latest.values() if not row[5]]
