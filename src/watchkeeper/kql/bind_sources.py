"""Binding of query sources: ``datatable``, ``range``, ``print``, ``union``, function calls."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import TYPE_CHECKING

from watchkeeper.errors import KqlError, UnsupportedError
from watchkeeper.kql import ast
from watchkeeper.kql.functions.registry import lookup
from watchkeeper.kql.naming import SqlNames
from watchkeeper.kql.parse_expressions import SCOPE_FUNCTIONS
from watchkeeper.kql.plan import (
    BExpr,
    BLiteral,
    Column,
    ExternalData,
    Range,
    Relation,
    Schema,
    UnionAll,
    Values,
)
from watchkeeper.kql.scope import ExprContext, Scope, StoredFunction, UserFunction
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["SOURCES", "expand_stored_function", "expand_user_function", "tabular_call", "union_relations"]

_T = KqlType


def _datatable(b: Binder, expr: ast.Datatable, scope: Scope) -> Relation:
    columns = SqlNames.columns(expr.columns)
    width = len(columns)
    ctx = ExprContext(scope)
    rows: list[tuple[BExpr, ...]] = []
    for start in range(0, len(expr.values), width):
        row = []
        for col, value in zip(columns, expr.values[start : start + width], strict=True):
            bound = b.scalar(value, ctx)
            row.append(_constant_as(b, bound, col.type, value))
        rows.append(tuple(row))
    return Values(Schema(columns), tuple(rows))


def _constant_as(b: Binder, bound: BExpr, kql_type: KqlType, node: ast.Node) -> BExpr:
    """A datatable cell converted to its column's type (``1`` in a real column is ``1.0``)."""
    if bound.type is kql_type:
        return bound
    if isinstance(bound, BLiteral) and bound.value is None:
        return BLiteral(kql_type, None)
    if kql_type.is_numeric and bound.type.is_numeric and isinstance(bound, BLiteral):
        value = float(bound.value) if kql_type is _T.REAL else bound.value
        return BLiteral(kql_type, value)
    return (
        b.coerce(bound, kql_type, node)
        if kql_type is not _T.DYNAMIC or bound.type is _T.DYNAMIC
        else (
            BLiteral(_T.DYNAMIC, bound.value)
            if isinstance(bound, BLiteral)
            else b.coerce(bound, kql_type, node)
        )
    )


def _range(b: Binder, expr: ast.Range, scope: Scope) -> Relation:
    ctx = ExprContext(scope)
    start = b.scalar(expr.start, ctx)
    stop = b.scalar(expr.stop, ctx)
    step = b.scalar(expr.step, ctx)
    kql_type = start.type if start.type is not _T.INT else _T.LONG
    if kql_type not in (_T.LONG, _T.REAL, _T.DATETIME, _T.TIMESPAN, _T.DECIMAL, _T.UNKNOWN):
        raise b.error(f"range cannot run over values of type {start.type}", expr.start)
    if kql_type is _T.DATETIME and step.type is not _T.TIMESPAN:
        raise b.error("a datetime range needs a timespan step", expr.step)
    if isinstance(step, BLiteral) and step.value == 0:
        raise b.error("the range step cannot be zero", expr.step)
    schema = Schema(SqlNames.columns([(expr.column, kql_type)]))
    return Range(schema, start, stop, step)


def _print(b: Binder, expr: ast.Print, scope: Scope) -> Relation:
    ctx = ExprContext(scope)
    names = SqlNames()
    columns: list[Column] = []
    values: list[BExpr] = []
    for i, item in enumerate(expr.items):
        from watchkeeper.kql.bind_operators import bind_assign, sorts_several_arrays

        # print names unnamed items print_0, print_1... even when they are plain names (but arrays
        # sorted together keep their own column names, array1_sorted...)
        keep = item.names or sorts_several_arrays(item)
        unnamed = item if keep else ast.Assign(item.span, (f"print_{i}",), item.expr)
        for name, bound in bind_assign(b, unnamed, ctx, default_name=f"print_{i}"):
            columns.append(names.column(name, bound.type))
            values.append(bound)
    return Values(Schema(tuple(columns)), (tuple(values),))


def _union(b: Binder, expr: ast.Union, scope: Scope) -> Relation:
    legs = _union_legs(b, expr.sources, scope, expr.isfuzzy)
    return union_relations(b, legs, expr)


def _union_legs(
    b: Binder, sources: tuple[ast.Expr, ...], scope: Scope, fuzzy: bool
) -> list[tuple[str, Relation]]:
    legs: list[tuple[str, Relation]] = []
    for source in sources:
        if isinstance(source, ast.Star):
            lets = sorted(n for n in scope.names() if fnmatch.fnmatchcase(n, source.pattern))
            legs.extend((n, b.tabular(ast.Name(source.span, n), scope)) for n in lets
                        if b.is_tabular(ast.Name(source.span, n), scope))  # fmt: skip
            # a wildcard reads the tables that hold data, as in a Kusto database: with a store
            # behind the compiler that is the stored ones, not every schema of the catalog
            names = [t for t in b.catalog if fnmatch.fnmatchcase(t, source.pattern)
                     and (b.stored is None or b.stored(t))]  # fmt: skip
            legs.extend((n, b.table_scan(n, source)) for n in sorted(names))
            continue
        label = source.name if isinstance(source, ast.Name) else "union_arg"
        try:
            legs.append((label, b.tabular(source, scope)))
        except KqlError:
            if not fuzzy:
                raise
    if not legs:
        raise b.error("union has no tables to read", sources[0] if sources else None)
    return legs


def union_relations(b: Binder, legs: list[tuple[str, Relation]], expr: ast.Union) -> Relation:
    """Kusto's outer union: columns by name; one name with two types becomes ``name_type`` columns."""
    types: dict[str, list[KqlType]] = {}
    order: list[str] = []
    for _, rel in legs:
        for col in rel.schema.columns:
            seen = types.setdefault(col.name, [])
            if col.type not in seen:
                seen.append(col.type)
            if col.name not in order:
                order.append(col.name)
    if expr.kind == "inner":
        common = set.intersection(*[set(r.schema.names) for _, r in legs])
        order = [n for n in order if n in common]
    out_specs: list[tuple[str, KqlType, str, KqlType | None]] = []  # (out name, type, source name, src type)
    for name in order:
        kinds: list[KqlType] = [t for t in types[name] if t is not _T.UNKNOWN] or [_T.UNKNOWN]
        if len(kinds) == 1:
            out_specs.append((name, kinds[0], name, None))
        else:
            out_specs.extend((f"{name}_{t.value}", t, name, t) for t in kinds)
    names = SqlNames()
    columns: list[Column] = []
    if expr.withsource:
        columns.append(names.column(expr.withsource, _T.STRING))
    columns.extend(names.column(n, t) for n, t, _, _ in out_specs)
    inputs = []
    for label, rel in legs:
        items: list[BExpr | None] = [BLiteral(_T.STRING, label)] if expr.withsource else []
        for _, _, source, src_type in out_specs:
            found = rel.schema.find(source)
            items.append(None if found is None or (src_type is not None and found.type is not src_type) else
                         _column_expr(found))  # fmt: skip
        inputs.append((rel, tuple(items)))
    open_schema = any(r.schema.open for _, r in legs)
    return UnionAll(Schema(tuple(columns), open_schema), tuple(inputs))


def _column_expr(col: Column) -> BExpr:
    from watchkeeper.kql.plan import BColumn

    return BColumn(col.type, col)


def _view(b: Binder, expr: ast.View, scope: Scope) -> Relation:
    inner = scope.child()
    for let in expr.body.lets:
        b.define_let(let, inner)
    return b.tabular(expr.body.result, inner)


_EXTERNAL_FORMATS = frozenset({"csv", "tsv", "psv", "txt", "json", "multijson", "scsv", "tsve"})


def _externaldata(b: Binder, expr: ast.Externaldata, scope: Scope) -> Relation:
    """Rows from files/URLs. Compiles to the engine's file reader; whether a workspace may read
    a given location is a policy the workspace applies before running (see ``ExternalData``)."""
    ctx = ExprContext(scope)
    uris = tuple(str(b.constant(u, ctx, "an externaldata location")) for u in expr.uris)
    options = {k.lower(): b.constant(v, ctx, f"the externaldata option {k}") for k, v in expr.options}
    fmt = str(options.get("format", "csv")).lower()
    if fmt not in _EXTERNAL_FORMATS:
        raise b.unsupported(f"externaldata format '{fmt}'", expr)
    skip = bool(options.get("ignorefirstrecord", False))
    schema = Schema(SqlNames.columns(expr.columns))
    return ExternalData(schema, uris, fmt, skip)


SOURCES: dict[type, Callable[..., Relation]] = {
    ast.Datatable: _datatable,
    ast.Range: _range,
    ast.Print: _print,
    ast.Union: _union,
    ast.View: _view,
    ast.Externaldata: _externaldata,
}


# ---------------------------------------------------------------------------- function calls


def tabular_call(b: Binder, expr: ast.Call, scope: Scope) -> Relation:
    """``materialize(T)``, ``table("T")``, a user function, or a stored function."""
    if expr.name == "materialize" and len(expr.args) == 1:
        return b.tabular(expr.args[0], scope)
    if expr.name == "table" and expr.args:
        return b.table_scan(_table_name(b, expr.args[0], scope), expr)
    if expr.name in SCOPE_FUNCTIONS:
        raise _cross_scope(b, expr)
    found = scope.lookup(expr.name)
    if isinstance(found, UserFunction):
        result = expand_user_function(b, found, expr, scope)
        if isinstance(result, Relation):
            return result
        raise b.error(f"{expr.name}() returns a scalar, not a table", expr)
    if expr.name == "_GetWatchlist":
        from watchkeeper.kql.watchlists import bind_watchlist

        return bind_watchlist(b, expr, scope)
    if expr.name in b.functions:
        return expand_stored_function(b, b.functions[expr.name], expr, expr, scope)
    if lookup(expr.name) is not None:  # a scalar function where a table belongs: `asin(0.5)` alone
        raise b.error(f"{expr.name}() gives a value, not a table: a query that shows it is "
                      f"print {expr.name}(...)", expr.name_span)  # fmt: skip
    if b.open_tables:
        return b.table_scan(expr.name, expr)
    raise b.error(f"unknown function '{expr.name}'", expr.name_span)


def scoped_table(b: Binder, expr: ast.Member, where: ast.Call) -> Relation:
    """``workspace("x").T`` and the like: a table of another workspace, database or cluster."""
    if where.name in SCOPE_FUNCTIONS:
        raise _cross_scope(b, where)
    raise b.error("expected a tabular expression (a table, a let name or a pipeline)", expr)


def _cross_scope(b: Binder, where: ast.Call) -> UnsupportedError:
    return b.unsupported(
        f"cross-{where.name} queries ({where.name}()): a query reads the workspace it is sent to", where
    )


def _table_name(b: Binder, arg: ast.Expr, scope: Scope) -> str:
    """The name ``table()`` reads: a string known before the query runs (a literal, a ``let``, or
    a parameter of the function being expanded)."""
    if isinstance(arg, ast.Literal):
        return str(arg.value)
    bound = b.scalar(arg, ExprContext(scope))
    if isinstance(bound, BLiteral) and isinstance(bound.value, str):
        return bound.value
    raise b.error("table() takes a table name known before the query runs (a string constant)", arg)


def expand_user_function(
    b: Binder, fn: UserFunction, call: ast.Call, scope: Scope, ctx: ExprContext | None = None
) -> BExpr | Relation:
    """Bind a user function's body with its parameters bound to the call's arguments."""
    let = fn.let
    params = let.params or ()
    body = let.value
    assert isinstance(body, ast.FunctionBody)
    if len(call.args) > len(params):
        raise b.error(f"{let.name}() expects at most {len(params)} arguments, got {len(call.args)}", call)
    inner = fn.scope.child()
    arg_ctx = ctx or ExprContext(scope)
    named = dict(call.named)
    unknown = [k for k in named if all(p.name != k for p in params)]
    if unknown:
        raise b.error(f"{let.name}() has no parameter '{unknown[0]}'", call)
    for i, param in enumerate(params):
        supplied = call.args[i] if i < len(call.args) else named.get(param.name)
        arg = supplied if supplied is not None else param.default
        if arg is None:
            raise b.error(f"{let.name}() is missing a value for parameter '{param.name}'", call)
        if param.columns is not None:
            inner.define(param.name, b.tabular(arg, scope))
        else:
            value_ctx = arg_ctx if supplied is not None else ExprContext(fn.scope)
            bound = b.scalar(arg, value_ctx)
            inner.define(param.name, b.coerce(bound, param.type, call) if param.type else bound)
    for inner_let in body.lets:
        b.define_let(inner_let, inner)
    if b.is_tabular(body.result, inner):
        return b.tabular(body.result, inner)
    return b.scalar(body.result, ExprContext(inner, arg_ctx.row, arg_ctx.aggregates, arg_ctx.window))


def expand_stored_function(
    b: Binder, fn: StoredFunction, node: ast.Node, call: ast.Call | None = None, scope: Scope | None = None
) -> Relation:
    """Bind a workspace function by parsing its stored body as a ``let`` function and calling it;
    the call's arguments are bound in ``scope`` (where the call is: inside a function, its parameters)."""
    from watchkeeper.kql.parser import parse

    text = f"let {fn.name} = ({fn.params}) {{ {fn.body} }}; {fn.name}"
    try:
        query = parse(text)
    except KqlError as exc:
        raise b.error(f"the stored function '{fn.name}' does not parse: {exc.message}", node) from None
    let = query.lets[0]
    user = UserFunction(let, b.root)
    args, named = (call.args, call.named) if call is not None else ((), ())
    call_node = ast.Call(node.span, fn.name, args, node.span, named)
    result = expand_user_function(b, user, call_node, scope or b.root)
    if not isinstance(result, Relation):
        raise b.error(f"the stored function '{fn.name}' does not return a table", node)
    return result
