"""Kusto's stored-function commands on the management endpoint, for the request's database
(a workspace of the caller's tenant), as learn.microsoft.com/kusto/management documents them:

* ``.create function [ifnotexists] [with (docstring='...', folder='...')] Name(params) { body }``
* ``.create-or-alter function [with (...)] Name(params) { body }``
* ``.alter function [with (...)] Name(params) { body }`` (the function must exist)
* ``.drop function Name [ifexists]``
* ``.show functions`` and ``.show function Name``

Each answers with Kusto's columns ``Name, Parameters, Body, Folder, DocString`` (``.drop``: the
``Name`` dropped). A definition's text is read as sent (not whitespace-collapsed) so that errors in
the body carry its own line and column. Writes are checked and recorded through the source
(:class:`FunctionSource`): the route decides who may write and audits each change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from watchkeeper.directory import WorkspaceRead
from watchkeeper.errors import InvalidRequestError
from watchkeeper.kql.stored_functions import parameter_list
from watchkeeper.schema.types import KqlType
from watchkeeper.store import QueryResult
from watchkeeper.workspace_functions import FunctionDefinition, WorkspaceFunctions

__all__ = [
    "CLR_TYPES",
    "FUNCTION_COLUMNS",
    "FunctionSource",
    "drop_function",
    "function_document",
    "is_definition",
    "run_definition",
    "show_functions",
    "show_rows",
]

# .NET type names in schema documents (``Type``); ``CslType`` is the KQL name
CLR_TYPES = {
    KqlType.BOOL: "System.SByte", KqlType.INT: "System.Int32", KqlType.LONG: "System.Int64",
    KqlType.REAL: "System.Double", KqlType.DECIMAL: "System.Data.SqlTypes.SqlDecimal",
    KqlType.STRING: "System.String", KqlType.DATETIME: "System.DateTime", KqlType.TIMESPAN: "System.TimeSpan",
    KqlType.GUID: "System.Guid", KqlType.DYNAMIC: "System.Object",
}  # fmt: skip
_S = KqlType.STRING
FUNCTION_COLUMNS = [("Name", _S), ("Parameters", _S), ("Body", _S), ("Folder", _S), ("DocString", _S)]
# the head of a definition command: verb, options and properties up to the function's name
_HEAD = re.compile(
    r"\.(?P<verb>create-or-alter|create|alter)\s+function\s+(?:(?P<ifnot>ifnotexists)\s+)?"
    r"(?:with\s*\((?P<props>(?:[^()'\"]|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")*)\)\s*)?"
    r"(?P<name>[A-Za-z_]\w*|\[\s*'[^']+'\s*\]|\[\s*\"[^\"]+\"\s*\])\s*\(",
    re.IGNORECASE | re.DOTALL,
)
_PROPERTY = re.compile(
    r"\s*(?P<key>\w+)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[\w.\-]+)\s*(?:,|$)", re.DOTALL
)
_PROPERTIES = ("docstring", "folder", "skipvalidation")


class FunctionSource(Protocol):
    """The request's database and the caller's rights on it."""

    def function_store(self) -> tuple[WorkspaceRead, WorkspaceFunctions]:
        """The request's workspace and its stored functions; NotFoundError when not the caller's."""
        ...

    def authorize_write(self, command: str) -> None:
        """Raise unless the caller may change stored functions."""
        ...

    def audit_write(self, action: str, workspace: WorkspaceRead, name: str, outcome: str) -> None:
        """Record a change (``function.create``...) to ``workspace``'s function ``name``."""
        ...


@dataclass(frozen=True)
class _Definition:
    verb: str
    if_not_exists: bool
    name: str
    parameters: str
    body: str
    folder: str
    docstring: str


def is_definition(text: str) -> bool:
    """Whether ``text`` is ``.create``/``.alter``/``.create-or-alter function``."""
    return _HEAD.match(text.strip()) is not None


def run_definition(text: str, source: FunctionSource) -> QueryResult:
    """Create or change a stored function; the answer is its row as ``.show function`` gives it."""
    definition = _parse(text.strip())
    source.authorize_write(definition.verb)
    workspace, functions = source.function_store()
    action = "function.alter" if definition.verb == "alter" else "function.create"
    try:
        stored = _apply(definition, functions)
    except Exception:
        source.audit_write(action, workspace, definition.name, "failure")
        raise
    source.audit_write(action, workspace, definition.name, "success")
    return QueryResult(FUNCTION_COLUMNS, show_rows([stored]))


def _apply(definition: _Definition, functions: WorkspaceFunctions) -> FunctionDefinition:
    fields = {
        "parameters": definition.parameters,
        "folder": definition.folder,
        "docstring": definition.docstring,
    }
    if definition.verb == "alter":
        return functions.alter(definition.name, definition.body, **fields)
    return functions.create(definition.name, definition.body, replace=definition.verb == "create-or-alter",
                            if_not_exists=definition.if_not_exists, **fields)  # fmt: skip


def drop_function(name: str, if_exists: bool, source: FunctionSource) -> QueryResult:
    """``.drop function Name [ifexists]``: the name dropped (no row when there was none)."""
    source.authorize_write("drop")
    workspace, functions = source.function_store()
    try:
        dropped = functions.drop(name, if_exists=if_exists)
    except Exception:
        source.audit_write("function.drop", workspace, name, "failure")
        raise
    if dropped:
        source.audit_write("function.drop", workspace, name, "success")
    return QueryResult([("Name", _S)], [(name,)] if dropped else [])


def show_functions(name: str | None, source: FunctionSource) -> QueryResult:
    """``.show functions`` (every one, by name) or ``.show function Name`` (NotFoundError if none)."""
    _, functions = source.function_store()
    found = functions.list_all() if name is None else [functions.get(name)]
    return QueryResult(FUNCTION_COLUMNS, show_rows(found))


def show_rows(definitions: list[FunctionDefinition]) -> list[tuple[str, ...]]:
    """Rows of Kusto's function listing: parameters in parentheses, the body in braces."""
    return [(d.name, d.shown_parameters, d.shown_body, d.folder, d.docstring) for d in definitions]


def function_document(definition: FunctionDefinition) -> dict[str, Any]:
    """A function as ``.show database schema as json`` describes it (what Kqlmagic and
    Kusto.Explorer read for completion): its parameters typed, tabular ones with their columns."""
    parameters: list[dict[str, Any]] = []
    for param in parameter_list(definition.shown_parameters):
        if param.columns is not None:
            columns = [{"Name": n, "Type": CLR_TYPES.get(t, "System.String"), "CslType": t.value}
                       for n, t in param.columns]  # fmt: skip
            parameters.append({"Name": param.name, "Columns": columns})
            continue
        kql_type = param.type or KqlType.DYNAMIC
        parameters.append({"Name": param.name, "Type": CLR_TYPES.get(kql_type, "System.Object"),
                           "CslType": kql_type.value})  # fmt: skip
    return {"Name": definition.name, "InputParameters": parameters, "Body": definition.shown_body,
            "Folder": definition.folder, "DocString": definition.docstring, "FunctionKind": "Unknown",
            "OutputColumns": []}  # fmt: skip


# ---------------------------------------------------------------------------- parsing


def _parse(text: str) -> _Definition:
    head = _HEAD.match(text)
    if head is None:
        raise InvalidRequestError(
            "expected .create function [ifnotexists] [with (...)] Name(params) { body }"
        )
    verb = head["verb"].lower()
    if head["ifnot"] and verb != "create":
        raise InvalidRequestError(f"ifnotexists is an option of .create function, not of .{verb} function")
    close = _matching(text, head.end() - 1)
    if close < 0:
        raise InvalidRequestError("the parameter list's '(' is not closed")
    rest = text[close + 1 :].lstrip()
    if not rest.startswith("{") or not rest.rstrip().endswith("}"):
        raise InvalidRequestError(
            "the function body goes between braces after the parameters: Name(params) { body }"
        )
    properties = _properties(head["props"] or "")
    name = head["name"].strip("[]").strip().strip("'\"")
    return _Definition(verb, bool(head["ifnot"]), name, text[head.end() : close], rest.rstrip()[1:-1],
                       properties.get("folder", ""), properties.get("docstring", ""))  # fmt: skip


def _matching(text: str, start: int) -> int:
    """The index of the ``)`` closing the ``(`` at ``start``, skipping quoted strings (-1 if none)."""
    depth, quote, index = 0, "", start
    while index < len(text):
        char = text[index]
        if quote:
            index += 2 if char == "\\" else 1
            quote = "" if char == quote else quote
            continue
        quote = char if char in "'\"" else ""
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
        index += 1
    return -1


def _properties(text: str) -> dict[str, str]:
    """``docstring='...', folder='...'`` as a mapping (``skipvalidation`` is accepted: a definition
    is always checked, since a query could not run a body that does not compile)."""
    found: dict[str, str] = {}
    text, position = text.strip(), 0
    while position < len(text):
        match = _PROPERTY.match(text, position)
        if match is None:
            raise InvalidRequestError(
                f"cannot read the properties 'with ({text})': expected name='value' pairs"
            )
        key = match["key"].lower()
        if key not in _PROPERTIES:
            raise InvalidRequestError(
                f"the property '{match['key']}' is not supported; supported: {', '.join(_PROPERTIES)}"
            )
        found[key] = _unquoted(match["value"])
        position = match.end()
    return found


def _unquoted(value: str) -> str:
    if value[:1] in "'\"" and len(value) >= 2:
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value
