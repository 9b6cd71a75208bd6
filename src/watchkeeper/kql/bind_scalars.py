"""Binding of scalar expressions: names, members, calls, operators, ``in`` and ``between``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.functions import conversions as conv
from watchkeeper.kql.functions.dynamic import DYNAMIC_GET
from watchkeeper.kql.functions.registry import SCALARS
from watchkeeper.kql.plan import BCall, BColumn, BExpr, BLiteral, BSubquery, Column, Relation
from watchkeeper.kql.scope import ExprContext, LazyLet, UserFunction
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["SPECIAL_FORMS", "bind"]

_T = KqlType

# Operators that compare values: a dynamic operand is converted to the other operand's type.
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_NEGATED_ALIASES = {"notcontains": "!contains", "containscs": "contains_cs", "notcontainscs": "!contains_cs",
                    "notstartswith": "!startswith", "notendswith": "!endswith", "notin": "!in"}  # fmt: skip


def bind(b: Binder, expr: ast.Expr, ctx: ExprContext) -> BExpr:
    handler = _HANDLERS.get(type(expr))
    if handler is None:
        if isinstance(expr, (ast.Pipe, ast.Datatable, ast.Range, ast.Print, ast.Union)):
            raise b.error("a tabular expression cannot be used as a scalar value here; use toscalar()", expr)
        raise b.error("expected a scalar expression", expr)
    return handler(b, expr, ctx)


def _literal(b: Binder, expr: ast.Literal, ctx: ExprContext) -> BExpr:
    return BLiteral(expr.type, expr.value)


def _name(b: Binder, expr: ast.Name, ctx: ExprContext) -> BExpr:
    if expr.name == "null":
        return BLiteral(_T.UNKNOWN, None)
    return b.lookup_name(expr.name, ctx, expr)


def _star(b: Binder, expr: ast.Star, ctx: ExprContext) -> BExpr:
    raise b.error("'*' is not allowed here", expr)


def _member(b: Binder, expr: ast.Member, ctx: ExprContext) -> BExpr:
    if isinstance(expr.target, ast.Name) and expr.target.name in ("$left", "$right"):
        side = ctx.left if expr.target.name == "$left" else ctx.right
        if side is None:
            raise b.error(f"{expr.target.name} can only be used in a join condition", expr.target)
        col = side.find(expr.name)
        if col is None:
            if side.open:
                return BColumn(_T.UNKNOWN, Column(expr.name, _T.UNKNOWN, expr.name))
            raise b.error(f"unknown column '{expr.name}' in {expr.target.name}", expr)
        return BColumn(col.type, col)
    target = bind(b, expr.target, ctx)
    return _dynamic_access(b, target, expr.name, expr)


def _index(b: Binder, expr: ast.Index, ctx: ExprContext) -> BExpr:
    target = bind(b, expr.target, ctx)
    index = bind(b, expr.index, ctx)
    if (
        isinstance(index, BLiteral)
        and isinstance(index.value, (str, int))
        and not isinstance(index.value, bool)
    ):
        return _dynamic_access(b, target, index.value, expr)
    if target.type not in (_T.DYNAMIC, _T.UNKNOWN):
        raise b.error(f"cannot index a value of type {target.type}", expr)
    return b.make_call(DYNAMIC_GET, [target, index], expr, options=(None,))


def _dynamic_access(b: Binder, target: BExpr, key: str | int, node: ast.Node) -> BExpr:
    """``d.a.b[0]`` as one path access on the dynamic value."""
    if target.type is _T.STRING:
        # schema exports type some JSON columns as string; Sentinel content reads them as dynamic
        target = b.make_call(conv.TODYNAMIC, [target], node)
    if target.type not in (_T.DYNAMIC, _T.UNKNOWN):
        raise b.error(f"cannot access property '{key}' of a value of type {target.type}", node)
    if (
        isinstance(key, int)
        and isinstance(target, BCall)
        and target.fn.name == "split"
        and len(target.args) == 2
    ):
        index = BLiteral(_T.LONG, key)
        return b.make_call(SCALARS["_split_part"], [target.args[0], target.args[1], index], node)
    if isinstance(target, BCall) and target.fn is DYNAMIC_GET and target.options[0] is not None:
        path = (*target.options[0], key)
        return b.make_call(DYNAMIC_GET, [target.args[0]], node, options=(path,))
    if isinstance(target, BLiteral):
        return BLiteral(_T.DYNAMIC, _json_step(target.value, key))
    return b.make_call(DYNAMIC_GET, [target], node, options=((key,),))


def _json_step(value: object, key: str | int) -> object:
    if isinstance(value, dict) and isinstance(key, str):
        return value.get(key)
    if isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
        return value[key]
    return None


def _unary(b: Binder, expr: ast.Unary, ctx: ExprContext) -> BExpr:
    operand = bind(b, expr.operand, ctx)
    if expr.op == "+":
        return operand
    return b.make_call(b.operator_spec("neg", expr), [operand], expr)


def _binary(b: Binder, expr: ast.Binary, ctx: ExprContext) -> BExpr:
    op = _NEGATED_ALIASES.get(expr.op, expr.op)
    if isinstance(expr.left, ast.Star) and ctx.row is not None:
        return _any_column(b, op, expr, ctx)
    left = bind(b, expr.left, ctx)
    right = bind(b, expr.right, ctx)
    if op in ("+", "-", "*", "/", "%"):
        _check_arithmetic(b, op, left, right, expr)
        left, right = _align(b, left, right, expr)
    elif op in _COMPARISONS:
        _check_comparable(b, left, right, expr)
        left, right = _align(b, left, right, expr)
    if op in ("and", "or"):
        left, right = b.coerce(left, _T.BOOL, expr), b.coerce(right, _T.BOOL, expr)
    return b.make_call(b.operator_spec(op, expr), [left, right], expr)


_NOT_ARITHMETIC = frozenset({_T.STRING, _T.BOOL, _T.GUID})


def _check_arithmetic(b: Binder, op: str, left: BExpr, right: BExpr, node: ast.Node) -> None:
    """``1 + 'a'`` is a type error in Kusto, not a null."""
    bad = [t for t in (left.type, right.type) if t in _NOT_ARITHMETIC]
    if bad:
        raise b.error(f"cannot apply '{op}' to {left.type} and {right.type}", node)


def _check_comparable(b: Binder, left: BExpr, right: BExpr, node: ast.Node) -> None:
    if {left.type, right.type} == {_T.DATETIME, _T.TIMESPAN}:
        raise b.error("cannot compare a datetime with a timespan (did you mean ago(...)?)", node)


def _any_column(b: Binder, op: str, expr: ast.Binary, ctx: ExprContext) -> BExpr:
    """``* has "x"``: the predicate holds for some column (each read as text)."""
    assert ctx.row is not None
    negated = op.startswith("!")
    positive = b.operator_spec(op[1:] if negated else op, expr)
    right = bind(b, expr.right, ctx)
    tests: list[BExpr] = []
    for column in ctx.row.columns:
        text = b.coerce(BColumn(column.type, column), _T.STRING, expr)
        tests.append(b.make_call(positive, [text, right], expr))
    if not tests:
        return BLiteral(_T.BOOL, negated)
    result = tests[0]
    for test in tests[1:]:
        result = b.make_call(b.operator_spec("or", expr), [result, test], expr)
    return b.make_call(SCALARS["not"], [result], expr) if negated else result


def _align(b: Binder, left: BExpr, right: BExpr, node: ast.Node) -> tuple[BExpr, BExpr]:
    """Kusto compares a dynamic value with a typed one by converting the dynamic side; a string
    compared with a number is read as a number (``tostring(d.LogonType) == 10`` is common)."""
    lt, rt = left.type, right.type
    if lt is _T.STRING and rt.is_numeric:
        return b.make_call(conv.CONVERT_TO[_T.REAL], [left], node), right
    if rt is _T.STRING and lt.is_numeric:
        return left, b.make_call(conv.CONVERT_TO[_T.REAL], [right], node)
    if lt is _T.DYNAMIC and rt not in (_T.DYNAMIC, _T.UNKNOWN):
        left = b.make_call(conv.CONVERT_TO[_comparable(rt)], [left], node)
    elif rt is _T.DYNAMIC and lt not in (_T.DYNAMIC, _T.UNKNOWN):
        right = b.make_call(conv.CONVERT_TO[_comparable(lt)], [right], node)
    elif lt is _T.DATETIME and rt is _T.STRING:
        right = b.make_call(conv.CONVERT_TO[_T.DATETIME], [right], node)
    elif rt is _T.DATETIME and lt is _T.STRING:
        left = b.make_call(conv.CONVERT_TO[_T.DATETIME], [left], node)
    elif lt is _T.UNKNOWN and isinstance(left, BLiteral) and rt is not _T.UNKNOWN:
        left = BLiteral(rt, None)
    elif rt is _T.UNKNOWN and isinstance(right, BLiteral) and lt is not _T.UNKNOWN:
        right = BLiteral(lt, None)
    return left, right


def _comparable(kql_type: KqlType) -> KqlType:
    return _T.REAL if kql_type in (_T.INT, _T.LONG, _T.DECIMAL) else kql_type


def _between(b: Binder, expr: ast.Between, ctx: ExprContext) -> BExpr:
    target = bind(b, expr.target, ctx)
    low = bind(b, expr.low, ctx)
    high = bind(b, expr.high, ctx)
    if target.type is _T.DATETIME and high.type is _T.TIMESPAN:
        high = b.make_call(b.operator_spec("+", expr), [low, high], expr)
    target, low = _align(b, target, low, expr)
    target, high = _align(b, target, high, expr)
    return b.make_call(
        b.operator_spec("!between" if expr.negated else "between", expr), [target, low, high], expr
    )


def _in_list(b: Binder, expr: ast.InList, ctx: ExprContext) -> BExpr:
    op = _NEGATED_ALIASES.get(expr.op, expr.op)
    target = bind(b, expr.target, ctx)
    items: list[BExpr] = []
    for item in expr.items:
        if b.is_tabular(item, ctx.scope):
            rel = b.tabular(item, ctx.scope)
            items.append(_list_subquery(b, rel, item))
            continue
        bound = bind(b, item, ctx)
        if isinstance(bound, BSubquery):
            bound = BSubquery(bound.type, bound.relation, "list")
        items.append(bound)
    if op in ("in", "!in") and target.type is _T.DYNAMIC:
        target = b.make_call(conv.TOSTRING, [target], expr)
    if op in ("in", "!in") and target.type is not _T.STRING:
        items = [_typed_item(b, target.type, i, expr) for i in items]
    if op.startswith(("has_", "in~", "!in~")) and target.type is not _T.STRING:
        target = b.make_call(conv.TOSTRING, [target], expr)
    return b.make_call(b.operator_spec(op, expr), [target, *items], expr)


def _typed_item(b: Binder, kql_type: KqlType, item: BExpr, node: ast.Node) -> BExpr:
    if isinstance(item, BLiteral) and item.type is _T.STRING and kql_type in conv.CONVERT_TO:
        return b.make_call(conv.CONVERT_TO[kql_type], [item], node)
    return item


def _list_subquery(b: Binder, rel: Relation, node: ast.Node) -> BExpr:
    if not rel.schema.columns and not rel.schema.open:
        raise b.error("the tabular expression in the list has no columns", node)
    first = rel.schema.columns[0].type if rel.schema.columns else _T.UNKNOWN
    return BSubquery(first, rel, "list")


# ---------------------------------------------------------------------------- calls


def _call(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    special = SPECIAL_FORMS.get(expr.name)
    if special is not None:
        return special(b, expr, ctx)
    found = ctx.scope.lookup(expr.name)
    if isinstance(found, UserFunction):
        from watchkeeper.kql.bind_sources import expand_user_function

        result = expand_user_function(b, found, expr, ctx.scope, ctx)
        if isinstance(result, Relation):
            return BSubquery(
                result.schema.columns[0].type if result.schema.columns else _T.UNKNOWN, result, "table"
            )
        return result
    if isinstance(found, LazyLet):
        raise b.error(f"'{expr.name}' is not a function", expr.name_span)
    spec = b.function_spec(expr.name, expr, ctx)
    args = [bind(b, a, ctx) for a in expr.args]
    return b.make_call(spec, args, expr)


def _toscalar(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    if len(expr.args) != 1:
        raise b.error("toscalar() expects one tabular argument", expr)
    arg = expr.args[0]
    if not b.is_tabular(arg, ctx.scope):
        return bind(b, arg, ctx)
    rel = b.tabular(arg, ctx.scope)
    if not rel.schema.columns:
        return BSubquery(_T.UNKNOWN, rel, "scalar")
    return BSubquery(rel.schema.columns[0].type, rel, "scalar")


def _column_names_of(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    """The column names of a tabular expression, as a ``dynamic`` array known when the query binds."""
    if len(expr.args) != 1 or not b.is_tabular(expr.args[0], ctx.scope):
        raise b.error("column_names_of() expects one tabular argument", expr)
    rel = b.tabular(expr.args[0], ctx.scope)
    if rel.schema.open:
        raise b.unsupported("column_names_of() of a table whose columns are not known", expr)
    return BLiteral(_T.DYNAMIC, [column.name for column in rel.schema.columns])


def _column_ifexists(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    if len(expr.args) != 2 or not isinstance(expr.args[0], ast.Literal):
        raise b.error("column_ifexists() expects a column name string and a default value", expr)
    name = str(expr.args[0].value)
    if ctx.row is not None:
        col = ctx.row.find(name)
        if col is not None:
            return BColumn(col.type, col)
        if ctx.row.open:
            return BColumn(_T.UNKNOWN, Column(name, _T.UNKNOWN, name))
    return bind(b, expr.args[1], ctx)


def _pack_all(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    if ctx.row is None:
        raise b.error("pack_all() needs a row context", expr)
    ignore_nulls = bool(expr.args and isinstance(expr.args[0], ast.Literal) and expr.args[0].value)
    args: list[BExpr] = []
    for col in ctx.row.columns:
        args.extend([BLiteral(_T.STRING, col.name), BColumn(col.type, col)])
    return b.make_call(SCALARS["bag_pack"], args, expr, options=(ignore_nulls,))


def _now(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    offset = b.constant(expr.args[0], ctx, "the offset of now()") if expr.args else 0
    from datetime import timedelta

    shift = int(offset or 0) // 10
    return b.moment("now", b.now + timedelta(microseconds=shift), shift)


def _ago(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    from datetime import timedelta

    if len(expr.args) != 1:
        raise b.error("ago() expects one timespan argument", expr)
    span = bind(b, expr.args[0], ctx)
    if isinstance(span, BLiteral) and isinstance(span.value, int):
        micros = -span.value // 10  # rounding down, as datetime - timespan does
        return b.moment("now", b.now + timedelta(microseconds=micros), micros)
    now = b.moment("now", b.now)
    return b.make_call(b.operator_spec("-", expr), [now, span], expr)


def _not(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    if len(expr.args) != 1:
        raise b.error("not() expects one argument", expr)
    arg = b.coerce(bind(b, expr.args[0], ctx), _T.BOOL, expr)
    return b.make_call(SCALARS["not"], [arg], expr)


def _dynamic_call(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    if len(expr.args) != 1:
        raise b.error("dynamic() expects one value", expr)
    value = bind(b, expr.args[0], ctx)
    if isinstance(value, BLiteral):
        return BLiteral(_T.DYNAMIC, value.value)
    return b.make_call(conv.TODYNAMIC, [value], expr)


def _typeof(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    """``typeof(long)`` names a type (an argument of extract(), to typeof()): its value is the name."""
    from watchkeeper.schema.types import parse_type_name

    if len(expr.args) != 1 or not isinstance(expr.args[0], ast.Name):
        raise b.error("typeof() expects a type name such as typeof(long)", expr)
    kql_type = parse_type_name(expr.args[0].name)
    if kql_type is None:
        raise b.error(f"unknown type '{expr.args[0].name}'", expr.args[0])
    return BLiteral(_T.STRING, kql_type.value)


def _bin_auto(b: Binder, expr: ast.Call, ctx: ExprContext) -> BExpr:
    """``bin_auto(x)`` bins by the query's ``set query_bin_auto_size`` (and ``query_bin_auto_at``)."""
    from watchkeeper.kql.literals import parse_datetime_text, parse_timespan_text

    if len(expr.args) != 1:
        raise b.error("bin_auto() expects one argument", expr)
    value = bind(b, expr.args[0], ctx)
    size = b.options.get("query_bin_auto_size")
    if size is None:
        raise b.error("bin_auto() needs 'set query_bin_auto_size=...;' before the query", expr)
    at = b.options.get("query_bin_auto_at")
    if value.type is _T.DATETIME:
        step = BLiteral(_T.TIMESPAN, parse_timespan_text(str(size)))
        anchor = BLiteral(
            _T.DATETIME, parse_datetime_text(str(at)) if at is not None else datetime(1, 1, 1, tzinfo=UTC)
        )
    else:
        step = BLiteral(_T.REAL if isinstance(size, float) else _T.LONG, size)
        anchor = BLiteral(step.type, at if at is not None else 0)
    return b.make_call(SCALARS["bin_at"], [value, step, anchor], expr)


SPECIAL_FORMS: dict[str, Callable[[Binder, ast.Call, ExprContext], BExpr]] = {
    "bin_auto": _bin_auto,
    "typeof": _typeof,
    "toscalar": _toscalar,
    "column_ifexists": _column_ifexists,
    "column_names_of": _column_names_of,
    "columnifexists": _column_ifexists,
    "pack_all": _pack_all,
    "now": _now,
    "ago": _ago,
    "not": _not,
    "dynamic": _dynamic_call,
}

_HANDLERS: dict[type, Callable[..., BExpr]] = {
    ast.Literal: _literal,
    ast.Name: _name,
    ast.Star: _star,
    ast.Member: _member,
    ast.Index: _index,
    ast.Unary: _unary,
    ast.Binary: _binary,
    ast.Between: _between,
    ast.InList: _in_list,
    ast.Call: _call,
}
