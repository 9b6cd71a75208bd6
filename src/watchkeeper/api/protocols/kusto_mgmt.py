"""The Kusto management commands clients send on connect (``POST /v1/rest/mgmt``), answered from
the caller's tenant's directory and its workspaces' catalogs; a database is a workspace.

Supported: ``.show version``, ``.show databases``, ``.show tables``, ``.show functions``,
``.show function F``, ``.create``/``.create-or-alter``/``.alter``/``.drop function`` (see
:mod:`~watchkeeper.api.protocols.kusto_functions`), ``.show table T schema as json``,
``.show table T cslschema``, ``.show database [D] schema [as json]`` (Kqlmagic and Kusto.Explorer
read the last one for completion). Anything else is a clear ``UnknownCommand`` error (400), never
a 500. Command text is matched against fixed patterns; it never reaches SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from watchkeeper import __version__
from watchkeeper.api.protocols.kusto_functions import (
    CLR_TYPES,
    FunctionSource,
    drop_function,
    function_document,
    is_definition,
    run_definition,
    show_functions,
)
from watchkeeper.directory import WorkspaceRead
from watchkeeper.errors import InvalidRequestError, NotFoundError
from watchkeeper.schema.catalog import Catalog, TableDef
from watchkeeper.schema.types import KqlType
from watchkeeper.store import QueryResult
from watchkeeper.workspace import Workspace
from watchkeeper.workspace_functions import FunctionDefinition

__all__ = ["COMMANDS", "CommandSource", "UnknownCommand", "WorkspaceSchema", "is_command", "run_command"]


class UnknownCommand(InvalidRequestError):
    """A management command watchkeeper does not answer."""


@dataclass(frozen=True)
class WorkspaceSchema:
    """What a client may learn of a workspace: its record, the tables that hold data (custom
    tables included) and the whole catalog (every table a query may name)."""

    record: WorkspaceRead
    tables: tuple[TableDef, ...]
    catalog: Catalog
    functions: tuple[FunctionDefinition, ...] = ()

    @classmethod
    def of(cls, record: WorkspaceRead, workspace: Workspace) -> WorkspaceSchema:
        catalog = workspace.catalog
        stored = workspace.store.stored_tables()
        tables = tuple(catalog[name] for name in sorted(catalog) if name in stored or catalog[name].is_custom)
        return cls(record, tables, catalog, tuple(workspace.functions.list_all()))

    def table(self, name: str) -> TableDef:
        found = self.catalog.table(name)
        if found is None:
            raise NotFoundError("table", name)
        return found


class CommandSource(FunctionSource, Protocol):
    """Where commands read from: the caller's tenant only."""

    def databases(self) -> list[WorkspaceRead]:
        """The caller's tenant's workspaces."""
        ...

    def database(self) -> WorkspaceSchema:
        """The request's database (``db``); NotFoundError when it is not the caller's."""
        ...

    def named(self, ref: str) -> WorkspaceSchema:
        """The caller's workspace ``ref``; NotFoundError otherwise."""
        ...


def is_command(text: str) -> bool:
    """Management commands start with a dot."""
    return text.lstrip().startswith(".")


def run_command(text: str, source: CommandSource) -> QueryResult:
    """The answer to a management command as one table."""
    if is_definition(text):  # its body is read as written: errors point into it
        return run_definition(text, source)
    command = " ".join(text.split())
    for pattern, answer in COMMANDS:
        match = pattern.fullmatch(command)
        if match:
            return answer(match, source)
    shown = command if len(command) <= 80 else command[:77] + "..."
    raise UnknownCommand(
        f"the management command '{shown}' is not supported; supported: .show version, .show databases, "
        ".show tables, .show functions, .show function F, .create[-or-alter] function, .alter function, "
        ".drop function, .show table T schema as json, .show table T cslschema, "
        ".show database [D] schema [as json]"
    )


# ---------------------------------------------------------------------------- answers

_S, _B = KqlType.STRING, KqlType.BOOL
_TABLE_INFO = [("TableName", _S), ("Schema", _S), ("DatabaseName", _S), ("Folder", _S), ("DocString", _S)]


def _csl_type(kql_type: KqlType) -> str:
    return kql_type.value if kql_type in CLR_TYPES else "string"


def _column_json(table: TableDef) -> list[dict[str, str]]:
    return [{"Name": c.name, "Type": CLR_TYPES.get(c.type, "System.String"), "CslType": _csl_type(c.type),
             "DocString": c.description} for c in table.columns]  # fmt: skip


def _version(_match: re.Match[str], _source: CommandSource) -> QueryResult:
    columns = [("BuildVersion", _S), ("BuildTime", KqlType.DATETIME), ("ServiceType", _S),
               ("ProductVersion", _S), ("ServiceOffering", _S)]  # fmt: skip
    row = (__version__, None, "Engine", f"watchkeeper {__version__}", json.dumps({"Type": "watchkeeper"}))
    return QueryResult(columns, [row])


def _databases(_match: re.Match[str], source: CommandSource) -> QueryResult:
    columns = [("DatabaseName", _S), ("PersistentStorage", _S), ("Version", _S), ("IsCurrent", _B),
               ("DatabaseAccessMode", _S), ("PrettyName", _S), ("DatabaseId", _S)]  # fmt: skip
    current = _current_id(source)
    rows = [(ws.name, "", "v1.0", ws.id == current, "ReadWrite", ws.name, ws.id) for ws in source.databases()]
    return QueryResult(columns, rows)


def _current_id(source: CommandSource) -> str | None:
    try:
        return source.database().record.id
    except (NotFoundError, InvalidRequestError):
        return None


def _tables(_match: re.Match[str], source: CommandSource) -> QueryResult:
    schema = source.database()
    columns = [("TableName", _S), ("DatabaseName", _S), ("Folder", _S), ("DocString", _S)]
    return QueryResult(columns, [(t.name, schema.record.name, "", "") for t in schema.tables])


def _functions(match: re.Match[str], source: CommandSource) -> QueryResult:
    name = match.groupdict().get("name")
    return show_functions(_name(name) if name else None, source)


def _drop_function(match: re.Match[str], source: CommandSource) -> QueryResult:
    return drop_function(_name(match["name"]), bool(match["ifexists"]), source)


def _table_schema_json(match: re.Match[str], source: CommandSource) -> QueryResult:
    schema = source.database()
    table = schema.table(_name(match["table"]))
    document = json.dumps({"Name": table.name, "OrderedColumns": _column_json(table)})
    return QueryResult(_TABLE_INFO, [(table.name, document, schema.record.name, "", "")])


def _table_csl_schema(match: re.Match[str], source: CommandSource) -> QueryResult:
    schema = source.database()
    table = schema.table(_name(match["table"]))
    text = ", ".join(f"{c.name}:{_csl_type(c.type)}" for c in table.columns)
    return QueryResult(_TABLE_INFO, [(table.name, text, schema.record.name, "", "")])


def _database_schema(match: re.Match[str], source: CommandSource) -> QueryResult:
    schema = source.named(_name(match["db"])) if match["db"] else source.database()
    if match["json"]:
        return QueryResult([("DatabaseSchema", _S)], [(json.dumps(_schema_document(schema)),)])
    return QueryResult(_SCHEMA_COLUMNS, _schema_rows(schema))


_SCHEMA_COLUMNS = [("DatabaseName", _S), ("TableName", _S), ("ColumnName", _S), ("ColumnType", _S),
                   ("IsDefaultTable", _B), ("IsDefaultColumn", _B), ("PrettyName", _S), ("Version", _S),
                   ("Folder", _S), ("DocString", _S)]  # fmt: skip


def _schema_rows(schema: WorkspaceSchema) -> list[tuple[Any, ...]]:
    db = schema.record.name
    rows: list[tuple[Any, ...]] = [(db, "", "", "", False, False, db, "v1.0", "", "")]
    for table in schema.tables:
        rows.append((db, table.name, "", "", False, False, "", "", "", ""))
        rows += [(db, table.name, c.name, CLR_TYPES.get(c.type, "System.String"), False, False, "", "", "",
                  c.description) for c in table.columns]  # fmt: skip
    return rows


def _schema_document(schema: WorkspaceSchema) -> dict[str, Any]:
    db = schema.record.name
    tables = {t.name: {"Name": t.name, "EntityType": "Table", "OrderedColumns": _column_json(t),
                       "Folder": "", "DocString": ""} for t in schema.tables}  # fmt: skip
    functions = {f.name: function_document(f) for f in schema.functions}
    database = {"Name": db, "Tables": tables, "ExternalTables": {}, "MaterializedViews": {}, "Functions": functions,
                "EntityGroups": {}, "DatabaseAccessMode": "ReadWrite", "MajorVersion": 1, "MinorVersion": 0}  # fmt: skip
    return {"Plugins": [], "Databases": {db: database}}


# a name as commands write it: Name, ['Name'], ["Name"] or [Name]
_NAME = r"(?:[A-Za-z_][\w]*|\[\s*'[^']+'\s*\]|\[\s*\"[^\"]+\"\s*\]|\[[^\]'\"]+\])"


def _name(text: str) -> str:
    return text.strip("[]").strip().strip("'\"") if text.startswith("[") else text


def _command(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace("NAME", _NAME), re.IGNORECASE)


Answer = Callable[[re.Match[str], CommandSource], QueryResult]

# (pattern over the command with its whitespace collapsed, answer)
COMMANDS: tuple[tuple[re.Pattern[str], Answer], ...] = (
    (_command(r"\.show version"), _version),
    (_command(r"\.show databases"), _databases),
    (_command(r"\.show tables"), _tables),
    (_command(r"\.show functions"), _functions),
    (_command(r"\.show function (?P<name>NAME)"), _functions),
    (_command(r"\.drop function (?P<name>NAME)(?P<ifexists> ifexists)?"), _drop_function),
    (_command(r"\.show table (?P<table>NAME) schema as json"), _table_schema_json),
    (_command(r"\.show table (?P<table>NAME) cslschema"), _table_csl_schema),
    (_command(r"\.show database(?: (?P<db>(?!schema\b)NAME))? schema(?P<json> as json)?"), _database_schema),
)
