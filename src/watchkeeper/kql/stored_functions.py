"""Checking a stored function before a workspace keeps it (``.create function``, ``wk functions``).

A stored function is a name, a parameter list and a body: zero or more ``let`` statements and one
tabular expression, as in Kusto (learn.microsoft.com/kusto/management/create-function). Kusto
checks the body against the database when the function is created; so does :func:`check_function`:
the body is bound with its parameters in scope and lowered to SQL for the workspace's dialect, and
an error is reported against the body text (or the parameter text) with its line and column.

While checking, a scalar parameter holds a value of its type and a tabular parameter is an empty
table of its declared columns; a tabular parameter declared ``(*)`` accepts any table, so its
columns are open (any name resolves) until a call passes a real one.

Stored functions here return tables (the binder expands them where a table is expected); a body
whose result is a scalar is refused with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from watchkeeper.errors import KqlBindError, KqlError, KqlSyntaxError, SourceSpan, UnsupportedError
from watchkeeper.kql import ast
from watchkeeper.kql.binder import Binder
from watchkeeper.kql.functions.registry import lookup
from watchkeeper.kql.lower import Lowerer
from watchkeeper.kql.parse_expressions import SCOPE_FUNCTIONS
from watchkeeper.kql.parser import parse
from watchkeeper.kql.plan import Schema, TableScan
from watchkeeper.kql.prune import prune
from watchkeeper.kql.scope import StoredFunction
from watchkeeper.kql.share import share
from watchkeeper.kql.targets import get_dialect
from watchkeeper.schema.catalog import CUSTOM_TABLE_SUFFIX, Catalog
from watchkeeper.schema.types import KqlType

__all__ = [
    "RESERVED_NAMES",
    "FunctionCheck",
    "check_function",
    "function_parameters",
    "parameter_list",
    "reserved_reason",
]

# a stored function's name: a KQL identifier (the binder expands it as `let Name = ...`)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,1023}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# tabular functions and sources the binder resolves itself, before any stored function
RESERVED_NAMES = frozenset({
    "_GetWatchlist", "materialize", "table", "view", "externaldata", "datatable", "range", "print",
    "union", "toscalar", "evaluate", *SCOPE_FUNCTIONS,
})  # fmt: skip
# a value of each type for the scalar parameters while the body is checked
_PLACEHOLDERS = {
    KqlType.BOOL: "false", KqlType.INT: "int(1)", KqlType.LONG: "long(1)", KqlType.REAL: "real(1)",
    KqlType.DECIMAL: "decimal(1)", KqlType.STRING: "'x'", KqlType.DATETIME: "datetime(2000-01-01)",
    KqlType.TIMESPAN: "1d", KqlType.GUID: "guid(00000000-0000-0000-0000-000000000000)",
    KqlType.DYNAMIC: "dynamic([])",
}  # fmt: skip
_PARAMS_PREFIX = "let f = ("


@dataclass(frozen=True)
class FunctionCheck:
    """What a body is checked against: the workspace's tables and the functions it stores."""

    catalog: Catalog
    dialect: str
    functions: Mapping[str, StoredFunction]
    stored: Callable[[str], bool] | None = None


def reserved_reason(name: str, catalog: Catalog) -> str | None:
    """Why ``name`` cannot be a stored function's (it would hide a table or a built-in function)."""
    if not _NAME.fullmatch(name):
        return (
            "a function name is a KQL identifier: a letter or '_', then letters, digits or '_' (1024 at most)"
        )
    if catalog.table(name) is not None:
        return f"'{name}' is a table of the workspace; a function may not hide it"
    if name.endswith(CUSTOM_TABLE_SUFFIX):
        return f"names ending in {CUSTOM_TABLE_SUFFIX} are custom tables' (a table written later would hide the function)"
    if name in RESERVED_NAMES or lookup(name) is not None:
        return f"'{name}' is a built-in function; a stored function may not hide it"
    return None


def function_parameters(text: str) -> str:
    """The parameter list without its enclosing parentheses: ``(x:long)`` and ``x:long`` alike."""
    inner = text.strip()
    if inner.startswith("(") and _closing(inner) == -1:
        start = text.index("(")
        raise KqlSyntaxError("in the parameters: this '(' is not closed", SourceSpan(start, start + 1), text)
    if inner.startswith("(") and _closing(inner) == len(inner) - 1:
        inner = inner[1:-1].strip()
    return inner


def _closing(text: str) -> int:
    """The index of the parenthesis closing the one ``text`` starts with (-1 if none)."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return -1


def check_function(name: str, parameters: str, body: str, against: FunctionCheck) -> StoredFunction:
    """``name(parameters) { body }`` as a workspace stores it, once it compiles against ``against``.

    Raises :class:`~watchkeeper.errors.KqlError`: for the name (no position), the parameters
    (positions in ``parameters`` as given, message starting ``in the parameters:``) or the body
    (positions in ``body``)."""
    reason = reserved_reason(name, against.catalog)
    if reason is not None:
        raise KqlBindError(reason)
    inner = function_parameters(parameters)
    params = _parse_parameters(inner, parameters)
    if not body.strip():
        raise KqlSyntaxError("the function has no body: a tabular expression is expected")
    function = StoredFunction(name, body, inner)
    _compile_body(function, params, against)
    return function


def parameter_list(text: str) -> tuple[ast.Param, ...]:
    """The parameters of a list such as ``(x:long, T:(*))`` (KqlError when it does not parse)."""
    return _parse_parameters(function_parameters(text), text)


def _parse_parameters(inner: str, given: str) -> tuple[ast.Param, ...]:
    text = f"{_PARAMS_PREFIX}{inner}) {{ print 0 }}; print 0"
    try:
        query = parse(text)
    except KqlError as exc:
        shift = len(_PARAMS_PREFIX) - given.find(inner) if inner else len(_PARAMS_PREFIX)
        raise _relocated(exc, shift, given, "in the parameters: ") from None
    let = query.lets[0] if query.lets else None
    if let is None or let.params is None or len(query.lets) != 1 or len(query.results) != 1:
        raise KqlSyntaxError("in the parameters: expected name:type pairs separated by commas", None, given)
    names = [p.name for p in let.params]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise KqlBindError(f"in the parameters: '{repeated[0]}' appears twice", None, given)
    return let.params


def _prelude(params: tuple[ast.Param, ...]) -> tuple[str, list[str]]:
    """One line of ``let`` statements giving each parameter a value while the body is checked,
    and the tabular parameters of open schema (bound in the binder's scope instead)."""
    lets: list[str] = []
    open_tables: list[str] = []
    for param in params:
        name = param.name if _IDENTIFIER.fullmatch(param.name) else f"['{param.name}']"
        if param.columns == ():
            open_tables.append(param.name)
        elif param.columns is not None:
            columns = ", ".join(f"{_column(c)}:{t.value}" for c, t in param.columns)
            lets.append(f"let {name} = datatable({columns})[];")
        else:
            lets.append(f"let {name} = {_PLACEHOLDERS.get(param.type or KqlType.DYNAMIC, 'dynamic(null)')};")
    return " ".join(lets) + "\n", open_tables


def _column(name: str) -> str:
    return (
        name if _IDENTIFIER.fullmatch(name) else "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"
    )


def _compile_body(function: StoredFunction, params: tuple[ast.Param, ...], against: FunctionCheck) -> None:
    prelude, open_tables = _prelude(params)
    text = prelude + function.body
    try:
        _bind_and_lower(text, function, open_tables, against)
    except KqlError as exc:
        raise _relocated(exc, len(prelude), function.body) from None
    except RecursionError:
        raise KqlBindError(
            f"'{function.name}' calls itself (directly or through other stored functions)",
            None,
            function.body,
        ) from None
    except Exception as exc:  # a compiler bug must not surface as a traceback to the user
        raise UnsupportedError(f"internal compiler error ({type(exc).__name__}: {exc})") from exc


def _bind_and_lower(
    text: str, function: StoredFunction, open_tables: list[str], against: FunctionCheck
) -> None:
    syntax = parse(text)
    if len(syntax.results) != 1 or syntax.options:
        raise KqlSyntaxError("a function body is let statements and one tabular expression", None, text)
    binder = Binder(against.catalog, text, now=datetime.now(UTC), open_tables=False,
                    functions={**against.functions, function.name: function}, stored=against.stored)  # fmt: skip
    for name in open_tables:
        binder.root.define(name, TableScan(Schema((), open=True), name, ()))
    result = syntax.results[0]
    scope = binder.root.child()
    for let in syntax.lets:
        binder.define_let(let, scope)
    if not isinstance(result, ast.Name | ast.Call | ast.Pipe) and not binder.is_tabular(result, scope):
        raise binder.error("a stored function returns a table; this body's result is a scalar", result)
    relation = binder.tabular(result, scope)
    Lowerer(get_dialect(against.dialect), binder.now, None).query(share(prune(relation)))


def _relocated(exc: KqlError, shift: int, text: str, prefix: str = "") -> KqlError:
    """``exc`` with its position moved back by ``shift`` characters into ``text`` (none if it
    falls before it)."""
    span = exc.span
    exc.span = SourceSpan(span.start - shift, max(span.end - shift, span.start - shift)) if span else None
    if exc.span is not None and exc.span.start < 0:
        exc.span = None
    exc.text, exc.message = text, prefix + exc.message
    exc.args = (exc.message,)
    return exc
