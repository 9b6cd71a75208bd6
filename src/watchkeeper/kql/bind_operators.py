"""Binding of row-wise tabular operators: where, project*, extend, parse, take, sort, mv-expand...

``summarize``, ``make-series``, ``join`` and friends live in :mod:`bind_aggregates` and
:mod:`bind_joins`; the dispatch table :func:`operator_binders` covers them all.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from watchkeeper.kql import ast
from watchkeeper.kql.functions.conversions import CONVERT_TO
from watchkeeper.kql.functions.dynamic import DYNAMIC_GET
from watchkeeper.kql.functions.parsing import parse_columns
from watchkeeper.kql.naming import SqlNames, expression_name
from watchkeeper.kql.plan import (
    BCall,
    BColumn,
    BExpr,
    BLiteral,
    Column,
    Distinct,
    Filter,
    Limit,
    MvExpand,
    Projection,
    Relation,
    Sample,
    Schema,
    Sort,
    SortSpec,
    Values,
)
from watchkeeper.kql.scope import ExprContext, Scope
from watchkeeper.schema.types import KqlType

if TYPE_CHECKING:
    from watchkeeper.kql.binder import Binder

__all__ = ["bind_assign", "bind_operator", "operator_binders", "passthrough", "project_columns"]

_T = KqlType


def bind_operator(b: Binder, rel: Relation, op: ast.Operator, scope: Scope) -> Relation:
    handler = operator_binders().get(type(op))
    if handler is None:
        raise b.unsupported(f"operator '{type(op).__name__.lower()}'", op)
    return handler(b, rel, op, scope)


def row_context(rel: Relation, scope: Scope, *, aggregates: bool = False) -> ExprContext:
    return ExprContext(scope, rel.schema, aggregates=aggregates, window=True)


def bind_assign(
    b: Binder, item: ast.Assign, ctx: ExprContext, default_name: str | None
) -> list[tuple[str, BExpr]]:
    """One ``name = expr`` item; an unnamed one gets Kusto's inferred name or ``default_name``.

    A function with several outputs (``series_stats``, ``series_fit_line``...) spreads into one
    column per output: ``(a, b) = f(x)`` names them, unnamed they are ``f_x_<output>``.
    """
    bound = b.scalar(item.expr, ctx)
    outputs = _outputs(bound)
    if outputs and len(item.names) != 1:
        return _spread(b, item, bound, outputs)
    sorted_arrays = _sorted_arrays(item)
    if len(sorted_arrays) > 1 and len(item.names) != 1:
        return _spread_sorted(b, item, bound, sorted_arrays)
    if item.names:
        if len(item.names) != 1:
            raise b.error("several names need a function with several outputs, e.g. series_fit_line()", item)
        return [(item.names[0], bound)]
    name = expression_name(item.expr) or default_name
    if name is None:
        raise b.error("this expression needs a name: write Name = expression", item)
    return [(name, bound)]


def _outputs(bound: BExpr) -> tuple[str, ...]:
    if isinstance(bound, BCall):
        return tuple(bound.fn.extra.get("outputs") or ())
    return ()


def _spread(b: Binder, item: ast.Assign, bound: BExpr, outputs: tuple[str, ...]) -> list[tuple[str, BExpr]]:
    assert isinstance(bound, BCall)
    first = item.expr.args[0] if isinstance(item.expr, ast.Call) and item.expr.args else None
    base = f"{bound.fn.name}_{expression_name(first) if first is not None else ''}"
    if len(item.names) > len(outputs):
        raise b.error(f"{bound.fn.name}() has {len(outputs)} outputs, not {len(item.names)}", item)
    names = list(item.names) or [f"{base}_{key}" for key in outputs]
    types = tuple(bound.fn.extra.get("output_types") or ())
    spread: list[tuple[str, BExpr]] = []
    for i, (name, key) in enumerate(zip(names, outputs, strict=False)):
        value: BExpr = b.make_call(DYNAMIC_GET, [bound], item, options=((key,),))
        if i < len(types) and types[i] not in (None, KqlType.DYNAMIC):
            value = b.make_call(CONVERT_TO[types[i]], [value], item)
        spread.append((name, value))
    return spread


_SORTS = ("array_sort_asc", "array_sort_desc")


def _sorted_arrays(item: ast.Assign) -> list[ast.Expr]:
    """The arrays an ``array_sort_asc/desc`` call sorts together (a trailing ``nulls_last`` flag is
    not one of them); empty for any other expression."""
    call = item.expr
    if not (isinstance(call, ast.Call) and call.name in _SORTS):
        return []
    arrays = list(call.args)
    if len(arrays) > 1 and isinstance(arrays[-1], ast.Literal) and isinstance(arrays[-1].value, bool):
        arrays = arrays[:-1]
    return arrays


def sorts_several_arrays(item: ast.Assign) -> bool:
    """Whether ``item`` sorts several arrays together (one output column per array)."""
    return len(_sorted_arrays(item)) > 1


def _spread_sorted(
    b: Binder, item: ast.Assign, bound: BExpr, arrays: list[ast.Expr]
) -> list[tuple[str, BExpr]]:
    """Several arrays sorted together give one column each: ``(a, b) = array_sort_asc(x, y)`` names
    them, unnamed they are ``x_sorted``, ``y_sorted`` (``array{i}_sorted`` for an unnamed array)."""
    if item.names and len(item.names) != len(arrays):
        raise b.error(f"{len(arrays)} arrays are sorted, so {len(arrays)} names are needed", item)
    names = list(item.names) or [
        f"{expression_name(array) or f'array{i + 1}'}_sorted" for i, array in enumerate(arrays)
    ]
    return [(name, b.make_call(DYNAMIC_GET, [bound], item, options=((i,),))) for i, name in enumerate(names)]


def passthrough(rel: Relation) -> list[tuple[str, BExpr]]:
    """Every column of ``rel`` as (name, reference)."""
    return [(c.name, BColumn(c.type, c)) for c in rel.schema.columns]


def project_columns(
    rel: Relation, items: list[tuple[str, BExpr]], *, open_schema: bool = False
) -> Projection:
    names = SqlNames()
    columns = tuple(names.column(name, expr.type) for name, expr in items)
    return Projection(Schema(columns, open_schema), rel, tuple(expr for _, expr in items))


# ---------------------------------------------------------------------------- where, project, extend


def _where(b: Binder, rel: Relation, op: ast.Where, scope: Scope) -> Relation:
    pred = b.scalar(op.predicate, row_context(rel, scope))
    if pred.type not in (_T.BOOL, _T.UNKNOWN):
        pred = b.coerce(pred, _T.BOOL, op.predicate)
        if pred.type is not _T.BOOL:
            raise b.error(f"where needs a boolean condition, not a {pred.type}", op.predicate)
    if isinstance(pred, BLiteral) and pred.value is True:
        return rel
    return Filter(rel.schema, rel, pred)


def _project(b: Binder, rel: Relation, op: ast.Project, scope: Scope) -> Relation:
    ctx = row_context(rel, scope)
    items: list[tuple[str, BExpr]] = []
    unnamed = 0
    for item in op.items:
        if not item.names and isinstance(item.expr, ast.Star):
            items.extend(passthrough(rel))
            continue
        default = None
        if not item.names and expression_name(item.expr) is None:
            unnamed += 1
            default = f"Column{unnamed}"
        for name, bound in bind_assign(b, item, ctx, default):
            if any(n == name for n, _ in items):
                raise b.error(f"project produces the column '{name}' twice", item)
            items.append((name, bound))
    return project_columns(rel, items)


def _extend(b: Binder, rel: Relation, op: ast.Extend, scope: Scope) -> Relation:
    current = rel
    items = passthrough(rel)
    made: set[str] = set()  # names this extend has set but not yet materialised
    unnamed = 0
    for item in op.items:
        default = None
        if not item.names and expression_name(item.expr) is None:
            unnamed += 1
            default = f"Column{unnamed}"
            while any(n == default for n, _ in items):
                unnamed += 1
                default = f"Column{unnamed}"
        session = isinstance(item.expr, ast.Call) and item.expr.name == "row_window_session"
        if made & names_in(item.expr) or (session and made):
            # the item reads a column set earlier in this extend: project what we have first
            current = project_columns(current, items, open_schema=rel.schema.open)
            items, made = passthrough(current), set()
        if session:  # a scan over the serialized rows (bind_scan), not a per-row expression
            from watchkeeper.kql.bind_scan import window_session

            name = item.names[0] if len(item.names) == 1 else default or "row_window_session"
            current = window_session(b, current, name, item.expr, scope)  # type: ignore[arg-type]
            items = passthrough(current)
            continue
        for name, bound in bind_assign(b, item, row_context(current, scope), default):
            items = _replace_or_append(items, name, bound)
            made.add(name)
    if not made and current is not rel:
        return current  # the last item was a session column: nothing left to project
    return project_columns(current, items, open_schema=rel.schema.open)


def names_in(expr: ast.Node) -> set[str]:
    """Every bare name an expression mentions (candidates for column references)."""
    found: set[str] = set()
    stack: list[object] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            found.add(node.name)
        elif isinstance(node, ast.Node):
            stack.extend(getattr(node, f) for f in node.__dataclass_fields__ if f != "span")
        elif isinstance(node, tuple):
            stack.extend(node)
    return found


def _replace_or_append(items: list[tuple[str, BExpr]], name: str, expr: BExpr) -> list[tuple[str, BExpr]]:
    for i, (existing, _) in enumerate(items):
        if existing == name:
            return [*items[:i], (name, expr), *items[i + 1 :]]
    return [*items, (name, expr)]


def _natural(name: str) -> list[tuple[int, int | str]]:
    """ "Granny" order: digit runs compare as numbers (a2 before a10)."""
    import re

    return [(0, int(part)) if part.isdigit() else (1, part.lower()) for part in re.findall(r"\d+|\D+", name)]


def _match(patterns: tuple[str, ...], name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _require_patterns(b: Binder, rel: Relation, patterns: tuple[str, ...], op: ast.Operator) -> None:
    if rel.schema.open:
        return
    for p in patterns:
        if "*" not in p and rel.schema.find(p) is None:
            raise b.unknown_name(p, row_context(rel, Scope()), op)


def _project_away(b: Binder, rel: Relation, op: ast.ProjectAway, scope: Scope) -> Relation:
    _require_patterns(b, rel, op.patterns, op)
    items = [(n, e) for n, e in passthrough(rel) if not _match(op.patterns, n)]
    return project_columns(rel, items, open_schema=rel.schema.open)


def _project_keep(b: Binder, rel: Relation, op: ast.ProjectKeep, scope: Scope) -> Relation:
    _require_patterns(b, rel, op.patterns, op)
    items = [(n, e) for n, e in passthrough(rel) if _match(op.patterns, n)]
    return project_columns(rel, items)


def _project_by_names(b: Binder, rel: Relation, op: ast.ProjectByNames, scope: Scope) -> Relation:
    """The columns named, in the order named; a pattern with ``*`` adds its matches in table order."""
    names: list[str] = []
    for expr in op.names:
        names += _names_given(b, expr, row_context(rel, scope))
    items: list[tuple[str, BExpr]] = []
    columns = passthrough(rel)
    for name in names:
        matched = [(n, e) for n, e in columns if fnmatch.fnmatchcase(n, name)] if "*" in name else [
            (n, e) for n, e in columns if n == name]  # fmt: skip
        if not matched and "*" not in name and not rel.schema.open:
            raise b.unknown_name(name, row_context(rel, scope), op)
        items += [item for item in matched if item[0] not in {n for n, _ in items}]
    return project_columns(rel, items)


def _names_given(b: Binder, expr: ast.Expr, ctx: ExprContext) -> list[str]:
    bound = b.scalar(expr, ctx)
    if not isinstance(bound, BLiteral):
        raise b.error(
            "project-by-names needs names known when the query starts: strings or dynamic arrays", expr
        )
    values = bound.value if isinstance(bound.value, list) else [bound.value]
    if not all(isinstance(v, str) for v in values):
        raise b.error("project-by-names takes column names (strings)", expr)
    return [str(v) for v in values]


def _project_rename(b: Binder, rel: Relation, op: ast.ProjectRename, scope: Scope) -> Relation:
    renames = {old: new for new, old in op.pairs}
    for old in renames:
        if rel.schema.find(old) is None and not rel.schema.open:
            raise b.unknown_name(old, row_context(rel, scope), op)
    items = [(renames.get(n, n), e) for n, e in passthrough(rel)]
    for old, new in renames.items():
        if rel.schema.find(old) is None:
            items.append((new, BColumn(_T.UNKNOWN, Column(old, _T.UNKNOWN, old))))
    return project_columns(rel, items, open_schema=rel.schema.open)


def _project_reorder(b: Binder, rel: Relation, op: ast.ProjectReorder, scope: Scope) -> Relation:
    remaining = passthrough(rel)
    ordered: list[tuple[str, BExpr]] = []
    for pattern, order in op.patterns:
        matched = [(n, e) for n, e in remaining if fnmatch.fnmatchcase(n, pattern)]
        if order in ("asc", "granny-asc"):
            matched.sort(key=lambda item: _natural(item[0]) if order == "granny-asc" else item[0])
        elif order in ("desc", "granny-desc"):
            matched.sort(
                key=lambda item: _natural(item[0]) if order == "granny-desc" else item[0], reverse=True
            )
        ordered.extend(matched)
        remaining = [item for item in remaining if item not in matched]
    return project_columns(rel, ordered + remaining, open_schema=rel.schema.open)


# ---------------------------------------------------------------------------- parse


def _parse(b: Binder, rel: Relation, op: ast.Parse, scope: Scope) -> Relation:
    ctx = row_context(rel, scope)
    source = b.scalar(op.source, ctx)
    if source.type is not _T.STRING:
        source = b.coerce(source, _T.STRING, op.source)
    try:
        captured, matched = parse_columns(b, source, op)
    except ValueError as exc:
        raise b.error(str(exc), op) from None
    items = passthrough(rel)
    for name, expr in captured:
        items = _replace_or_append(items, name, expr)
    if op.where:
        rel = Filter(rel.schema, rel, matched)
    return project_columns(rel, items, open_schema=rel.schema.open)


# ---------------------------------------------------------------------------- take, sort, distinct


def _take(b: Binder, rel: Relation, op: ast.Take, scope: Scope) -> Relation:
    count = b.scalar(op.count, ExprContext(scope))
    if not isinstance(count, BLiteral) or not isinstance(count.value, int):
        raise b.error("take needs a constant whole number of rows", op.count)
    return Limit(rel.schema, rel, count)


def sort_keys(b: Binder, rel: Relation, keys: tuple[ast.SortKey, ...], scope: Scope) -> tuple[SortSpec, ...]:
    ctx = row_context(rel, scope)
    specs = []
    for key in keys:
        expr = b.scalar(key.expr, ctx)
        nulls_first = key.nulls_first if key.nulls_first is not None else not key.descending
        specs.append(SortSpec(expr, key.descending, nulls_first))
    return tuple(specs)


def _sort(b: Binder, rel: Relation, op: ast.Sort, scope: Scope) -> Relation:
    return Sort(rel.schema, rel, sort_keys(b, rel, op.keys, scope))


def _top(b: Binder, rel: Relation, op: ast.Top, scope: Scope) -> Relation:
    count = b.scalar(op.count, ExprContext(scope))
    if not isinstance(count, BLiteral) or not isinstance(count.value, int):
        raise b.error("top needs a constant whole number of rows", op.count)
    ordered = Sort(rel.schema, rel, sort_keys(b, rel, op.keys, scope))
    return Limit(rel.schema, ordered, count)


def _top_hitters(b: Binder, rel: Relation, op: ast.TopHitters, scope: Scope) -> Relation:
    """The ``count`` values of ``value`` seen most often, with ``approximate_count_<value>`` (or,
    with ``by``, the largest sums, ``approximate_sum_<value>``). Kusto estimates; this counts exactly."""
    name = expression_name(op.value) or "Column1"
    if op.summed is None:
        total = f"approximate_count_{name}"
        aggregate: ast.Expr = ast.Call(op.span, "count", ())
    else:
        total = f"approximate_sum_{name}"
        aggregate = ast.Call(op.span, "sum", (op.summed,))
    from watchkeeper.kql import bind_aggregates

    grouped = ast.Summarize(
        op.span, (ast.Assign(op.span, (total,), aggregate),), (ast.Assign(op.span, (name,), op.value),)
    )
    counted = bind_aggregates.summarize(b, rel, grouped, scope)  # the value's column, then the total
    key = ast.SortKey(op.span, ast.Name(op.span, total), True, None)
    return _top(b, counted, ast.Top(op.span, op.count, (key,)), scope)


def _distinct(b: Binder, rel: Relation, op: ast.Distinct, scope: Scope) -> Relation:
    if op.items:
        ctx = row_context(rel, scope)
        items: list[tuple[str, BExpr]] = []
        for i, item in enumerate(op.items):
            items.extend(bind_assign(b, item, ctx, f"Column{i + 1}"))
        rel = project_columns(rel, items)
    return Distinct(rel.schema, rel)


def _sample(b: Binder, rel: Relation, op: ast.Sample, scope: Scope) -> Relation:
    count = b.scalar(op.count, ExprContext(scope))
    if not isinstance(count, BLiteral) or not isinstance(count.value, int):
        raise b.error("sample needs a constant whole number of rows", op.count)
    return Sample(rel.schema, rel, count)


# ---------------------------------------------------------------------------- mv-expand


def _mv_expand(b: Binder, rel: Relation, op: ast.MvExpand, scope: Scope) -> Relation:
    ctx = row_context(rel, scope)
    names = SqlNames()
    expanded: list[tuple[str, BExpr, KqlType | None]] = []
    for item in op.items:
        expr = b.scalar(item.expr, ctx)
        name = item.name or expression_name(item.expr)
        if name is None:
            raise b.error("mv-expand needs a name for this expression: write Name = expression", item)
        expanded.append((name, expr, item.to_type))
    limit = None
    if op.limit is not None:
        value = b.constant(op.limit, ExprContext(scope), "the mv-expand limit")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise b.error("the mv-expand limit must be a whole number of rows", op.limit)
        limit = value
    items = passthrough(rel)
    for name, _expr, to_type in expanded:
        items = _replace_or_append(items, name, BLiteral(to_type or _T.DYNAMIC, None))
    columns = [names.column(n, e.type) for n, e in items]
    by_name = {c.name: c for c in columns}
    item_index = names.column(op.item_index, _T.LONG) if op.item_index else None
    if item_index is not None:
        columns.append(item_index)
    out = tuple((by_name[n], e, t) for n, e, t in expanded)
    schema = Schema(tuple(columns), rel.schema.open)
    return MvExpand(schema, rel, out, op.bag_expansion, item_index, limit)


# ---------------------------------------------------------------------------- small ones


def _sample_distinct(b: Binder, rel: Relation, op: ast.SampleDistinct, scope: Scope) -> Relation:
    """``sample-distinct N of Col``: up to N distinct values of one column."""
    count = b.scalar(op.count, ExprContext(scope))
    if not isinstance(count, BLiteral) or not isinstance(count.value, int):
        raise b.error("sample-distinct needs a constant whole number of values", op.count)
    value = b.scalar(op.column, row_context(rel, scope))
    name = expression_name(op.column) or "Column1"
    values = project_columns(rel, [(name, value)])
    distinct = Distinct(values.schema, values)
    return Limit(distinct.schema, distinct, count)


def _getschema(b: Binder, rel: Relation, op: ast.GetSchema, scope: Scope) -> Relation:
    columns = SqlNames.columns([("ColumnName", _T.STRING), ("ColumnOrdinal", _T.INT), ("DataType", _T.STRING),
                                ("ColumnType", _T.STRING)])  # fmt: skip
    rows = []
    for i, col in enumerate(rel.schema.columns):
        rows.append((BLiteral(_T.STRING, col.name), BLiteral(_T.INT, i), BLiteral(_T.STRING, _CLR_TYPES[col.type]),
                     BLiteral(_T.STRING, col.type.value)))  # fmt: skip
    return Values(Schema(columns), tuple(rows))


_CLR_TYPES = {
    _T.BOOL: "System.Boolean", _T.INT: "System.Int32", _T.LONG: "System.Int64", _T.REAL: "System.Double",
    _T.DECIMAL: "System.Data.SqlTypes.SqlDecimal", _T.STRING: "System.String", _T.DATETIME: "System.DateTime",
    _T.TIMESPAN: "System.TimeSpan", _T.GUID: "System.Guid", _T.DYNAMIC: "System.Object",
    _T.UNKNOWN: "System.Object",
}  # fmt: skip


def _as(b: Binder, rel: Relation, op: ast.As, scope: Scope) -> Relation:
    b.root.define(op.name, rel)
    return rel


def _render(b: Binder, rel: Relation, op: ast.Render, scope: Scope) -> Relation:
    return rel


def _union_op(b: Binder, rel: Relation, op: ast.UnionOp, scope: Scope) -> Relation:
    from watchkeeper.kql.bind_sources import _union_legs, union_relations

    legs = [("union_arg0", rel), *_union_legs(b, op.union.sources, scope, op.union.isfuzzy)]
    return union_relations(b, legs, op.union)


def _invoke(b: Binder, rel: Relation, op: ast.Invoke, scope: Scope) -> Relation:
    from watchkeeper.kql.bind_sources import expand_user_function
    from watchkeeper.kql.scope import UserFunction

    found = scope.lookup(op.call.name)
    if not isinstance(found, UserFunction):
        raise b.unsupported(f"invoke of '{op.call.name}' (only let functions can be invoked)", op.call)
    inner = scope.child()
    inner.define("$invoke_input", rel)
    call = ast.Call(
        op.call.span, op.call.name, (ast.Name(op.span, "$invoke_input"), *op.call.args), op.call.name_span
    )
    result = expand_user_function(b, found, call, inner)
    if not isinstance(result, Relation):
        raise b.error(f"{op.call.name}() does not return a table", op.call)
    return result


def _operator_table() -> dict[type, Callable[..., Relation]]:
    from watchkeeper.kql import bind_aggregates, bind_joins, bind_partition, bind_plugins, bind_scan
    from watchkeeper.kql.bind_graph import make_graph
    from watchkeeper.kql.parse_graph import MakeGraph
    from watchkeeper.kql.parse_scan import Scan

    return {
        ast.Where: _where,
        ast.Project: _project,
        ast.Extend: _extend,
        ast.ProjectAway: _project_away,
        ast.ProjectKeep: _project_keep,
        ast.ProjectByNames: _project_by_names,
        ast.ProjectRename: _project_rename,
        ast.ProjectReorder: _project_reorder,
        ast.Parse: _parse,
        ast.Take: _take,
        ast.Top: _top,
        ast.TopHitters: _top_hitters,
        ast.Sort: _sort,
        ast.Distinct: _distinct,
        ast.Sample: _sample,
        ast.SampleDistinct: _sample_distinct,
        ast.MvExpand: _mv_expand,
        ast.GetSchema: _getschema,
        ast.As: _as,
        ast.Render: _render,
        ast.UnionOp: _union_op,
        ast.Invoke: _invoke,
        ast.Summarize: bind_aggregates.summarize,
        ast.Count: bind_aggregates.count,
        ast.MakeSeries: bind_aggregates.make_series,
        ast.TopNested: bind_aggregates.top_nested,
        ast.Serialize: bind_aggregates.serialize,
        ast.Join: bind_joins.join,
        ast.Lookup: bind_joins.lookup,
        ast.Evaluate: bind_plugins.evaluate,
        ast.MvApply: bind_plugins.mv_apply,
        ast.ParseKv: bind_plugins.parse_kv,
        ast.Partition: bind_partition.partition,
        Scan: bind_scan.scan,
        MakeGraph: make_graph,
    }


@cache
def operator_binders() -> dict[type, Callable[..., Relation]]:
    """The dispatch table from operator node type to binder (built on first use: the modules it
    names import this one)."""
    return _operator_table()
