"""Binding of ``summarize``, ``count``, ``make-series``, ``top-nested`` and ``serialize``.

Output naming follows Kusto: keys first (``bin(T, 1h)`` keeps the name ``T``), then aggregates
named ``count_``, ``dcount_X``, ``arg_max`` spreading into its columns, ``percentiles`` into
``percentile_X_50``...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.bind_operators import passthrough, project_columns, row_context
from watchkeeper.kql.functions.registry import AGGREGATES, OPERATORS, SCALARS, FunctionKind
from watchkeeper.kql.naming import (
    SqlNames,
    aggregate_column_name,
    dedupe_name,
    expression_name,
    grouping_name,
)
from watchkeeper.kql.plan import (
    Aggregate,
    AggregateItem,
    BCall,
    BColumn,
    BExpr,
    BLiteral,
    Column,
    Filter,
    Join,
    MakeSeries,
    Relation,
    Schema,
    SortSpec,
)
from watchkeeper.kql.scope import ExprContext, Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["count", "make_series", "serialize", "summarize", "top_nested"]

_T = KqlType
_MULTI = frozenset(
    {"arg_max", "arg_min", "argmax", "argmin", "percentiles", "percentilesw", "percentiles_array",
     "percentilesw_array"}
)  # fmt: skip
_ANY = frozenset({"take_any", "any"})


def _keys(b: Binder, rel: Relation, by: tuple[ast.Assign, ...], scope: Scope) -> list[tuple[str, BExpr]]:
    ctx = row_context(rel, scope)
    keys: list[tuple[str, BExpr]] = []
    unnamed = 0
    for item in by:
        bound = b.scalar(item.expr, ctx)
        taken = [n for n, _ in keys]
        if item.names:
            name = item.names[0]
            if name in taken:
                raise b.error(f"summarize groups by the column '{name}' twice; name one of them", item)
        else:
            # a derived name that is already taken gets a number (`by T, bin(T, 1d)`: T, T1)
            name = grouping_name(item.expr) or ""
            if not name:
                unnamed += 1
                name = f"Column{unnamed}"
            name = dedupe_name(name, taken)
        keys.append((name, bound))
    return keys


def summarize(b: Binder, rel: Relation, op: ast.Summarize, scope: Scope) -> Relation:
    keys = _keys(b, rel, op.by, scope)
    taken = [n for n, _ in keys]
    aggs: list[tuple[str, BExpr]] = []
    for item in op.aggregates:
        for name, expr in _aggregate_items(b, rel, item, scope, [n for n, _ in keys]):
            name = dedupe_name(name, taken)
            taken.append(name)
            aggs.append((name, expr))
    return build_aggregate(rel, keys, aggs)


def build_aggregate(rel: Relation, keys: list[tuple[str, BExpr]], aggs: list[tuple[str, BExpr]]) -> Aggregate:
    names = SqlNames()
    key_columns = tuple(names.column(n, e.type) for n, e in keys)
    items = tuple(AggregateItem(_as_call(e), (names.column(n, e.type),)) for n, e in aggs)
    schema = Schema(key_columns + tuple(i.columns[0] for i in items))
    return Aggregate(schema, rel, tuple(e for _, e in keys), key_columns, items)


def _as_call(expr: BExpr) -> BCall:
    if isinstance(expr, BCall):
        return expr
    # a constant or column in an aggregate list: Kusto takes any value of it
    return BCall(expr.type, AGGREGATES["take_any"], (expr,))


def _aggregate_items(
    b: Binder, rel: Relation, item: ast.Assign, scope: Scope, key_names: list[str]
) -> list[tuple[str, BExpr]]:
    expr = item.expr
    ctx = row_context(rel, scope, aggregates=True)
    if isinstance(expr, ast.Name) and expr.name == "count" and rel.schema.find("count") is None:
        expr = ast.Call(expr.span, "count", (), expr.span)  # `summarize count by X` is count()
    if isinstance(expr, ast.Call) and expr.name in _MULTI:
        return _multi(b, rel, item, expr, ctx, key_names)
    if (
        isinstance(expr, ast.Call)
        and expr.name in _ANY
        and (len(expr.args) > 1 or any(isinstance(a, ast.Star) for a in expr.args))
    ):
        return _take_any_row(b, rel, item, expr, ctx, key_names)
    bound = b.scalar(expr, ctx)
    if not _has_aggregate(bound):
        raise b.error("summarize needs an aggregate function here (count(), sum(), make_set()...)", expr)
    if item.names:
        return [(item.names[0], bound)]
    named = _aggregate_call(expr)
    if named is not None:
        spec = AGGREGATES[named.name]
        prefix = spec.column_name or named.name
        arg = named.args[0] if named.args and named.name != "countif" else None
        more = named.args[1 : int(spec.extra.get("named_args", 1))]
        level = ""
        if named.name in ("percentile", "percentilew") and isinstance(named.args[-1], ast.Literal):
            level = _level_text(named.args[-1].value)  # percentile(x, 95) is percentile_x_95
        return [(aggregate_column_name(prefix, arg, level, *more), bound)]
    return [(f"Column{len(key_names) + 1}", bound)]


def _aggregate_call(expr: ast.Expr) -> ast.Call | None:
    """The aggregate an unnamed item is named after, looking through conversions
    (``tostring(make_set(x))`` is named ``set_x``)."""
    while isinstance(expr, ast.Call):
        if expr.name in AGGREGATES:
            return expr
        if expr.name not in _CONVERSIONS or not expr.args:
            return None
        expr = expr.args[0]
    return None


_CONVERSIONS = frozenset(
    {"tostring", "toint", "tolong", "toreal", "todouble", "todynamic", "tobool", "todatetime"}
)


def _has_aggregate(expr: BExpr) -> bool:
    if isinstance(expr, BCall):
        return expr.fn.kind is FunctionKind.AGGREGATE or any(_has_aggregate(a) for a in expr.args)
    return False


def _multi(
    b: Binder, rel: Relation, item: ast.Assign, call: ast.Call, ctx: ExprContext, key_names: list[str]
) -> list[tuple[str, BExpr]]:
    name = {"argmax": "arg_max", "argmin": "arg_min"}.get(call.name, call.name)
    if name in ("arg_max", "arg_min"):
        return _arg_extreme(b, rel, item, call, ctx, key_names, name)
    return _percentiles(b, item, call, ctx, weighted=name in ("percentilesw", "percentilesw_array"))


def _arg_extreme(
    b: Binder,
    rel: Relation,
    item: ast.Assign,
    call: ast.Call,
    ctx: ExprContext,
    key_names: list[str],
    name: str,
) -> list[tuple[str, BExpr]]:
    if not call.args:
        raise b.error(f"{name}() needs the expression to maximise", call)
    by = b.scalar(call.args[0], ctx)
    by_name = expression_name(call.args[0]) or f"{name}_"
    outputs: list[tuple[str, BExpr]] = [(by_name, b.make_call(AGGREGATES[f"_{name}_value"], [by], call))]
    pick = AGGREGATES[f"_{name}_pick"]
    for arg in call.args[1:]:
        if isinstance(arg, ast.Star):
            for col_name, col_expr in passthrough(rel):
                if col_name in key_names or col_name == by_name or any(n == col_name for n, _ in outputs):
                    continue
                outputs.append((col_name, b.make_call(pick, [col_expr, by], call)))
            continue
        value = b.scalar(arg, ctx)
        col_name = expression_name(arg) or f"{name}_{len(outputs)}"
        outputs.append((col_name, b.make_call(pick, [value, by], call)))
    if item.names:
        renamed = list(item.names) + [n for n, _ in outputs[len(item.names) :]]
        outputs = [(new, e) for new, (_, e) in zip(renamed, outputs, strict=False)]
    return outputs


def _take_any_row(
    b: Binder, rel: Relation, item: ast.Assign, call: ast.Call, ctx: ExprContext, key_names: list[str]
) -> list[tuple[str, BExpr]]:
    """``take_any(a, b)``/``take_any(*)``: the values of one row, each named after its expression
    (an ``arg_max`` over a constant: every row ties, one is kept whole)."""
    same_row = BLiteral(_T.LONG, 1)
    pick = AGGREGATES["_arg_max_pick"]
    outputs: list[tuple[str, BExpr]] = []
    for position, arg in enumerate(call.args):
        if isinstance(arg, ast.Star):
            outputs.extend((n, b.make_call(pick, [e, same_row], call)) for n, e in passthrough(rel)
                           if n not in key_names and all(n != o for o, _ in outputs))  # fmt: skip
            continue
        name = expression_name(arg) or f"any_{position}"
        outputs.append((name, b.make_call(pick, [b.scalar(arg, ctx), same_row], call)))
    if item.names:
        outputs = [(new, e) for new, (_, e) in zip(list(item.names) + [n for n, _ in outputs[len(item.names):]],
                                                    outputs, strict=False)]  # fmt: skip
    return outputs


def _percentiles(
    b: Binder, item: ast.Assign, call: ast.Call, ctx: ExprContext, weighted: bool
) -> list[tuple[str, BExpr]]:
    first = 2 if weighted else 1
    if len(call.args) < first + 1:
        raise b.error(f"{call.name}() needs a value and at least one percentage", call)
    value = b.scalar(call.args[0], ctx)
    weight = b.scalar(call.args[1], ctx) if weighted else None
    if call.name.endswith("_array"):
        return [_percentiles_array(b, item, call, ctx, value, weight)]
    outputs: list[tuple[str, BExpr]] = []
    for i, arg in enumerate(call.args[first:]):
        level = b.scalar(arg, ctx)
        if not isinstance(level, BLiteral):
            raise b.error("percentiles need constant percentages", arg)
        args = [value, level] if weight is None else [value, weight, level]
        spec = AGGREGATES["percentile" if weight is None else "percentilew"]
        text = _level_text(level.value)
        name = (
            item.names[i] if i < len(item.names) else aggregate_column_name("percentile", call.args[0], text)
        )
        outputs.append((name, b.make_call(spec, args, call)))
    return outputs


def _percentiles_array(
    b: Binder, item: ast.Assign, call: ast.Call, ctx: ExprContext, value: BExpr, weight: BExpr | None
) -> tuple[str, BExpr]:
    """``percentiles_array(x, 50, 95)`` (or a dynamic array of levels): one dynamic array."""
    first = 2 if weight is not None else 1
    levels: list[object] = []
    for arg in call.args[first:]:
        level = b.constant(arg, ctx, "a percentile")
        levels.extend(level if isinstance(level, list) else [level])
    spec = AGGREGATES["percentile" if weight is None else "percentilew"]
    parts = [b.make_call(spec, [value, BLiteral(_T.REAL, float(str(v)))] if weight is None else
                         [value, weight, BLiteral(_T.REAL, float(str(v)))], call) for v in levels]  # fmt: skip
    prefix = "percentiles" if weight is None else "percentilesw"
    name = item.names[0] if item.names else f"{prefix}_{expression_name(call.args[0]) or ''}"
    return name, b.make_call(SCALARS["pack_array"], parts, call)


def _level_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def count(b: Binder, rel: Relation, op: ast.Count, scope: Scope) -> Relation:
    call = BCall(_T.LONG, AGGREGATES["count"], ())
    return build_aggregate(rel, [], [(op.name, call)])


# ---------------------------------------------------------------------------- make-series


def make_series(b: Binder, rel: Relation, op: ast.MakeSeries, scope: Scope) -> Relation:
    ctx = row_context(rel, scope, aggregates=True)
    const_ctx = ExprContext(scope)
    keys = _keys(b, rel, op.by, scope)
    axis = b.scalar(op.on, row_context(rel, scope))
    axis_name = expression_name(op.on) or "Column1"
    step = b.scalar(op.step, const_ctx)
    start = b.scalar(op.start, const_ctx) if op.start is not None else None
    stop = b.scalar(op.stop, const_ctx) if op.stop is not None else None
    if not isinstance(step, BLiteral):
        raise b.error("the make-series step must be a constant", op.step)
    if op.in_range and stop is not None:
        stop = _inclusive_stop(b, stop, op)
    names = SqlNames()
    key_columns = tuple(names.column(n, e.type) for n, e in keys)
    aggregates: list[tuple[AggregateItem, BExpr]] = []
    taken = [n for n, _ in keys]
    for item, default in op.aggregates:
        for name, expr in _aggregate_items(b, rel, item, scope, taken):
            name = dedupe_name(name, taken)
            taken.append(name)
            fill = b.scalar(default, ctx) if default is not None else _default_fill(expr)
            column = names.column(name, _T.DYNAMIC)
            aggregates.append((AggregateItem(_as_call(expr), (column,)), fill))
    axis_column = names.column(dedupe_name(axis_name, taken), _T.DYNAMIC)
    schema = Schema(key_columns + tuple(a.columns[0] for a, _ in aggregates) + (axis_column,))
    node = MakeSeries(schema, rel, tuple(e for _, e in keys), key_columns, tuple(aggregates), axis, axis_column,
                      start, stop, step, op.kind == "nonempty")  # fmt: skip
    return node


def _inclusive_stop(b: Binder, stop: BExpr, op: ast.MakeSeries) -> BExpr:
    """``in range(start, stop, step)`` includes ``stop``: as an exclusive ``to``, stop plus the
    smallest step of its type (1 µs for datetimes, 1 for whole numbers)."""
    nudge: BLiteral
    if stop.type is _T.DATETIME:
        nudge = BLiteral(_T.TIMESPAN, 10)
    elif stop.type in (_T.REAL, _T.DECIMAL):
        nudge = BLiteral(_T.REAL, 1e-9)
    else:
        nudge = BLiteral(stop.type, 1)
    return b.make_call(b.operator_spec("+", op), [stop, nudge], op)


def _default_fill(expr: BExpr) -> BExpr:
    """Kusto fills empty bins with 0 for counts and sums, null otherwise."""
    if isinstance(expr, BCall) and expr.fn.name in ("count", "countif", "sum", "sumif", "dcount", "dcountif"):
        return BLiteral(expr.type, 0)
    return BLiteral(expr.type, None)


# ---------------------------------------------------------------------------- top-nested


def top_nested(b: Binder, rel: Relation, op: ast.TopNested, scope: Scope) -> Relation:
    """Each level keeps the top N values of its column by its aggregate, within the level above."""
    levels = op.levels
    keys: list[tuple[str, BExpr]] = []
    result: Relation | None = None
    for depth, level in enumerate(levels):
        ctx = row_context(rel, scope)
        of_expr = b.scalar(level.of.expr, ctx)
        of_name = (
            level.of.names[0] if level.of.names else expression_name(level.of.expr) or f"Column{depth + 1}"
        )
        keys.append((of_name, of_expr))
    aggs: list[tuple[str, BExpr]] = []
    for depth, level in enumerate(levels):
        ctx = row_context(rel, scope, aggregates=True)
        agg = b.scalar(level.by.expr, ctx)
        agg_name = level.by.names[0] if level.by.names else f"aggregated_{keys[depth][0]}"
        aggs.append((agg_name, agg))
    result = _top_nested_levels(b, rel, levels, keys, aggs, scope)
    return result


def _top_nested_levels(
    b: Binder,
    rel: Relation,
    levels: tuple[ast.TopNestedLevel, ...],
    keys: list[tuple[str, BExpr]],
    aggs: list[tuple[str, BExpr]],
    scope: Scope,
) -> Relation:
    current: Relation | None = None
    for depth in range(len(levels)):
        level_keys = keys[: depth + 1]
        agg_rel = build_aggregate(rel, level_keys, [aggs[depth]])
        limit = levels[depth].count
        if limit is not None:
            n = b.constant(limit, ExprContext(scope), "the top-nested count")
            partition = [BColumn(c.type, c) for c in agg_rel.key_columns[:depth]]
            agg_col = agg_rel.schema.columns[-1]
            order = SortSpec(BColumn(agg_col.type, agg_col), levels[depth].descending, False)
            rank = BCall(_T.LONG, SCALARS["_rank_in_partition"], tuple(partition), (order,))
            ranked = project_columns(agg_rel, [*passthrough(agg_rel), ("_wk_rank", rank)])
            rank_col = ranked.schema.columns[-1]
            le = BCall(_T.BOOL, OPERATORS["<="], (BColumn(_T.LONG, rank_col), BLiteral(_T.LONG, int(n))))
            kept: Relation = Filter(ranked.schema, ranked, le)
            kept = project_columns(kept, [(c.name, BColumn(c.type, c)) for c in agg_rel.schema.columns])
        else:
            kept = agg_rel
        if current is None:
            current = kept
            continue
        key_names = [name for name, _ in keys[:depth]]
        conditions = tuple((_column(current, n), _column(kept, n)) for n in key_names)
        prior = list(current.schema.columns)
        right_cols = tuple(c for c in kept.schema.columns[depth:])
        names = SqlNames()
        out = tuple(names.column(c.name, c.type) for c in prior + list(right_cols))
        current = Join(Schema(out), current, kept, "inner", conditions, right_cols)
    assert current is not None
    ordered = _reorder_top_nested(current, keys, aggs)
    return ordered


def _column(rel: Relation, name: str) -> Column:
    found = rel.schema.find(name)
    assert found is not None, f"top-nested level column {name} missing"
    return found


def _reorder_top_nested(
    rel: Relation, keys: list[tuple[str, BExpr]], aggs: list[tuple[str, BExpr]]
) -> Relation:
    """Kusto's column order: each level's value then its aggregate."""
    wanted: list[str] = []
    for (k, _), (a, _) in zip(keys, aggs, strict=True):
        wanted.extend([k, a])
    items: list[tuple[str, BExpr]] = []
    for name in wanted:
        col = rel.schema.find(name)
        if col is not None:
            items.append((name, BColumn(col.type, col)))
    return project_columns(rel, items)


# ---------------------------------------------------------------------------- serialize


def serialize(b: Binder, rel: Relation, op: ast.Serialize, scope: Scope) -> Relation:
    """``serialize [Name = row_number(), ...]``: rows keep their order; window functions are
    allowed anywhere in watchkeeper, so this is an ``extend`` (or nothing)."""
    if not op.items:
        return rel
    from watchkeeper.kql.bind_operators import operator_binders

    extend = operator_binders().get(ast.Extend)
    assert extend is not None
    return extend(b, rel, ast.Extend(op.span, op.items), scope)
