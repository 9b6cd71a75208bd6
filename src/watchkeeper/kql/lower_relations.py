"""``_lower_<Relation>`` for the row-wise relations: scans, literal rows, filters, projections,
sort, limit, distinct, sample. Grouping, joins, unions and expansion are in
:mod:`lower_grouping` and :mod:`lower_joins`.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlglot import exp

from watchkeeper.kql import plan as p
from watchkeeper.kql.functions.registry import FunctionKind
from watchkeeper.kql.literals import ticks_from_datetime
from watchkeeper.kql.lower import _RELATIONS, Lowered, Lowerer, OrderKey, col, ident, is_simple, plain_column
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType


def _aliased(expr: exp.Expression, name: str) -> exp.Expression:
    return exp.Alias(this=expr, alias=ident(name))


# ---------------------------------------------------------------------------- sources


def _table_scan(lw: Lowerer, rel: p.TableScan) -> Lowered:
    table = exp.Table(this=ident(rel.table))
    if not rel.sources:
        return Lowered(exp.select(exp.Star()).from_(table, copy=False), [], {}, open=True)
    exprs = {column.sql: col(physical) for column, physical in rel.sources}
    if rel.schema.open:  # columns the catalog does not list pass through with '*'
        return Lowered(exp.select(exp.Star()).from_(table, copy=False), list(exprs), dict(exprs), open=True)
    select = exp.select(*[_aliased(e, n) for n, e in exprs.items()]).from_(table, copy=False)
    return Lowered(select, list(exprs), dict(exprs))


def _no_columns(expr: p.Column) -> exp.Expression:
    raise AssertionError("literal rows have no input columns")


def _values(lw: Lowerer, rel: p.Values) -> Lowered:
    names = [c.sql for c in rel.schema.columns]
    d = lw.dialect
    if not rel.rows:
        select = exp.select(*[_aliased(d.null(c.type), c.sql) for c in rel.schema.columns]).limit(
            0, copy=False
        )
        return Lowered(
            select, names, {n: d.null(c.type) for n, c in zip(names, rel.schema.columns, strict=True)}
        )
    rows = [[_cell(lw, value, column) for value, column in zip(row, rel.schema.columns, strict=True)]
            for row in rel.rows]  # fmt: skip
    if len(rows) == 1:
        only = exp.select(*[_aliased(cell, n) for cell, n in zip(rows[0], names, strict=True)])
        return Lowered(only, names, {e.alias: e.this for e in only.expressions})
    # A datatable's rows come in the order written (Kusto treats them as serialized): a row number
    # travels with them as their order, since no engine promises to keep VALUES/UNION ALL order.
    alias = lw.alias()
    order = "__wk_row"
    values = exp.Values(
        expressions=[exp.Tuple(expressions=[*row, exp.Literal.number(i)]) for i, row in enumerate(rows)],
        alias=exp.TableAlias(this=exp.to_identifier(alias), columns=[ident(n) for n in [*names, order]]),
    )
    outputs = [*names, order]
    select = exp.select(*[_aliased(col(n, alias), n) for n in outputs]).from_(values, copy=False)
    return Lowered(
        select, names, {n: col(n, alias) for n in outputs}, [OrderKey(order, False, False)], [order]
    )


def _cell(lw: Lowerer, value: p.BExpr, column: p.Column) -> exp.Expression:
    lowered = lw.expr(value, _no_columns)
    if isinstance(value, p.BLiteral) or column.type is _T.UNKNOWN or value.type is column.type:
        return lowered
    return lw.dialect.cast(lowered, column.type)


def _range(lw: Lowerer, rel: p.Range) -> Lowered:
    d = lw.dialect
    column = rel.schema.columns[0]
    count = _range_count(rel)
    count_expr: exp.Expression = exp.Literal.number(count) if count is not None else _range_count_sql(lw, rel)
    source, index = d.series(count_expr)
    start = lw.expr(rel.start, _no_columns)
    step = lw.expr(rel.step, _no_columns)
    if column.type is _T.DATETIME:
        micros = exp.Mul(this=index, expression=d.int_div(step, exp.Literal.number(10)))
        value: exp.Expression = d.add_micros(start, micros)
    else:
        value = exp.Add(this=start, expression=exp.Mul(this=index, expression=step))
        if column.type is _T.LONG:
            value = d.cast(value, _T.LONG)
    select = exp.select(_aliased(value, column.sql)).from_(source, copy=False)
    # range's rows are serialized (Kusto): scan, prev() and row_number() see them in value order
    descending = (
        isinstance(rel.step, p.BLiteral) and isinstance(rel.step.value, int | float) and rel.step.value < 0
    )
    return Lowered(select, [column.sql], {column.sql: value}, [OrderKey(column.sql, descending, False)])


def _range_count(rel: p.Range) -> int | None:
    values = [rel.start, rel.stop, rel.step]
    if not all(isinstance(v, p.BLiteral) and v.value is not None for v in values):
        return None
    start, stop, step = (v.value for v in values if isinstance(v, p.BLiteral))
    if isinstance(start, datetime) and isinstance(stop, datetime):
        start, stop = ticks_from_datetime(start), ticks_from_datetime(stop)
    span: float = (stop - start) / step
    return max(0, math.floor(span + 1e-9) + 1)


def _range_count_sql(lw: Lowerer, rel: p.Range) -> exp.Expression:
    d = lw.dialect
    start = lw.expr(rel.start, _no_columns)
    stop = lw.expr(rel.stop, _no_columns)
    step = lw.expr(rel.step, _no_columns)
    if rel.start.type is _T.DATETIME:
        span: exp.Expression = exp.Mul(
            this=exp.Paren(this=exp.Sub(this=d.epoch_micros(stop), expression=d.epoch_micros(start))),
            expression=exp.Literal.number(10),
        )
    else:
        span = exp.Sub(this=stop, expression=start)
    ratio = exp.Div(this=d.cast(span, _T.REAL), expression=step)
    count = exp.Add(this=exp.Floor(this=ratio), expression=exp.Literal.number(1))
    return d.cast(d.call("greatest", count, exp.Literal.number(0)), _T.LONG)


# ---------------------------------------------------------------------------- filter, projection


def _references(expr: p.BExpr) -> list[p.Column]:
    return p.columns_used(expr)


def _mergeable(low: Lowered, exprs: list[p.BExpr], *, allow_computed_once: bool) -> bool:
    if not is_simple(low):
        return False
    counts: dict[str, int] = {}
    for e in exprs:
        if any(c.fn.kind is FunctionKind.WINDOW for c in p.calls_in(e)):
            return False
        if any(not c.fn.deterministic for c in p.calls_in(e)):
            return False
        for column in _references(e):
            counts[column.sql] = counts.get(column.sql, 0) + 1
    for name, uses in counts.items():
        source = low.exprs.get(name)
        if source is None:
            return False
        computed = not (plain_column(source) or isinstance(source, exp.Literal))
        if computed and (not allow_computed_once or uses > 1 or source.find(exp.Subquery)):
            return False
    return True


def _filter(lw: Lowerer, rel: p.Filter) -> Lowered:
    low = lw.relation(rel.input)
    if _mergeable(low, [rel.predicate], allow_computed_once=False):
        pred = lw.expr(rel.predicate, lw.inline(low), predicate=True)
        select = low.select.where(pred, copy=False)  # low is consumed here: extend it in place
        return Lowered(select, low.columns, low.exprs, low.order, low.hidden)
    select, resolve, alias = lw.wrap(low)
    pred = lw.expr(rel.predicate, resolve, predicate=True)
    select = select.select(*_passthrough(low, alias), copy=False).where(pred, copy=False)
    exprs: dict[str, exp.Expression] = {n: col(n, alias) for n in low.outputs}
    return Lowered(select, low.columns, exprs, low.order, low.hidden, low.open)


def _projection(lw: Lowerer, rel: p.Projection) -> Lowered:
    low = lw.relation(rel.input)
    names = [c.sql for c in rel.schema.columns]
    has_window = any(c.fn.kind is FunctionKind.WINDOW for e in rel.items for c in p.calls_in(e))
    if not has_window and _mergeable(low, list(rel.items), allow_computed_once=True):
        resolve = lw.inline(low)
        select = low.select
        select.set("expressions", [])
        order_of = {n: low.exprs[n] for n in low.outputs if n in low.exprs}
    else:
        select, resolve, alias = lw.wrap(low)
        order_of = {n: col(n, alias) for n in low.outputs}
    window_order = [Lowerer._ordered(order_of[k.name].copy(), k) for k in low.order if k.name in order_of]
    exprs: dict[str, exp.Expression] = {}
    for name, item in zip(names, rel.items, strict=True):
        exprs[name] = lw.expr(item, resolve, window_order)
    order, hidden = _carry_order(low, rel, exprs, order_of)
    projections = [_aliased(e, n) for n, e in exprs.items()]
    if rel.schema.open and low.open:
        projections.insert(0, _open_passthrough(low, rel))
    select = select.select(*projections, copy=False)
    if has_window:
        select = _hoist_nested_windows(select, window_order)
    # hidden sort keys keep their expressions, so a projection merged on top still finds the order
    kept = {n: exprs[n] for n in exprs if n in names or n in hidden}
    return Lowered(select, names, kept, order, hidden, rel.schema.open)


def _innermost_nested_windows(select: exp.Select) -> list[exp.Window]:
    """Windows inside another window (``row_number(1, prev(x) != x)``) with none inside themselves."""
    found = []
    for window in select.find_all(exp.Window):
        inside_window = any(isinstance(a, exp.Window) for a in _ancestors(window, select))
        if inside_window and not any(w is not window for w in window.find_all(exp.Window)):
            found.append(window)
    return found


def _ancestors(node: exp.Expression, stop: exp.Expression) -> list[object]:
    out: list[object] = []
    parent = node.parent
    while parent is not None and parent is not stop:
        out.append(parent)
        parent = parent.parent
    return out


def _hoist_nested_windows(select: exp.Select, window_order: list[exp.Ordered]) -> exp.Select:
    """SQL forbids a window inside a window: compute the inner ones in a SELECT underneath, under
    the same alias, so every column reference of the outer SELECT stays valid.

    Rows that tie on the sort keys could come in another order in the next SELECT up, so the
    first inner SELECT also numbers the rows, and the windows above follow that number."""
    level = 0
    while inner_windows := _innermost_nested_windows(select):
        source = select.args["from_"].this
        alias = source.alias
        inner = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(alias))).from_(
            source, copy=False
        )
        numbered = level == 0 and bool(window_order)
        for window in inner_windows:
            level += 1
            name = f"__wk_w{level}"
            inner = inner.select(_aliased(window.copy(), name), copy=False)
            window.replace(col(name, alias))
        if numbered:
            _number_rows(select, inner, window_order, alias)
        select.set("from_", exp.From(this=inner.subquery(alias, copy=False)))
    return select


def _number_rows(select: exp.Select, inner: exp.Select, window_order: list[exp.Ordered], alias: str) -> None:
    """Number ``inner``'s rows in ``window_order``; the windows of ``select`` then order by it."""
    spec = exp.Order(expressions=[o.copy() for o in window_order]).sql()
    number = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[o.copy() for o in window_order]))
    inner.select(_aliased(number, "__wk_seq"), copy=False)
    for window in select.find_all(exp.Window):
        order = window.args.get("order")
        if order is not None and order.sql() == spec:
            window.set("order", exp.Order(expressions=[exp.Ordered(this=col("__wk_seq", alias))]))


def _open_passthrough(low: Lowered, rel: p.Projection) -> exp.Expression:
    """``*`` minus the known columns the projection drops or recomputes (open tables only)."""
    kept = {c.sql for c in rel.schema.columns}
    dropped = [ident(n) for n in low.columns if n not in kept] + [ident(n) for n in low.columns if n in kept]
    star = exp.Star(except_=[exp.Column(this=i) for i in dropped]) if dropped else exp.Star()
    return star


def _carry_order(
    low: Lowered, rel: p.Projection, exprs: dict[str, exp.Expression], order_of: dict[str, exp.Expression]
) -> tuple[list[OrderKey], list[str]]:
    """Keep the input's row order: a sort key the projection drops travels as a hidden column."""
    order: list[OrderKey] = []
    hidden: list[str] = []
    for i, key in enumerate(low.order):
        source = order_of.get(key.name)
        if source is None:
            continue
        same = exprs.get(key.name)
        if same is not None and same == source:
            order.append(key)
            continue
        name = f"__wk_o{i + 1}"
        while name in exprs:
            name += "_"
        exprs[name] = source.copy()
        hidden.append(name)
        order.append(OrderKey(name, key.descending, key.nulls_first))
    return order, hidden


# ---------------------------------------------------------------------------- order, limit, distinct


def _sort(lw: Lowerer, rel: p.Sort) -> Lowered:
    low = lw.relation(rel.input)
    if not rel.keys:
        return low
    by_name = {n: n for n in low.outputs}
    plain = [k for k in rel.keys if isinstance(k.expr, p.BColumn) and k.expr.column.sql in by_name]
    if len(plain) == len(rel.keys):
        keys = [OrderKey(k.expr.column.sql, k.descending, k.nulls_first) for k in plain]  # type: ignore[attr-defined]
        ties = _ties(low, keys)
        return Lowered(low.select, low.columns, low.exprs, keys + ties, _kept_hidden(low, ties), low.open)
    select, resolve, alias = lw.wrap(low)
    outputs: dict[str, exp.Expression] = {n: col(n, alias) for n in low.outputs}
    order: list[OrderKey] = []
    hidden: list[str] = []
    for i, key in enumerate(rel.keys):
        if isinstance(key.expr, p.BColumn) and key.expr.column.sql in outputs:
            order.append(OrderKey(key.expr.column.sql, key.descending, key.nulls_first))
            continue
        name = f"__wk_s{i + 1}"
        outputs[name] = lw.expr(key.expr, resolve)
        hidden.append(name)
        order.append(OrderKey(name, key.descending, key.nulls_first))
    ties = _ties(low, order)
    hidden = _kept_hidden(low, ties) + hidden
    select = select.select(*[_aliased(e, n) for n, e in outputs.items()], copy=False)
    # a computed key is an expression over the FROM, not a column of it (a later project reads it)
    exprs = {n: col(n, alias) if n in low.outputs else e.copy() for n, e in outputs.items()}
    return Lowered(select, low.columns, exprs, order + ties, hidden, low.open)


def _ties(low: Lowered, keys: list[OrderKey]) -> list[OrderKey]:
    """The input's own order, breaking ties between equal sort keys: sorting is stable, so rows
    that tie keep their earlier order (and every window over the result sees one order)."""
    named = {k.name for k in keys}
    return [k for k in low.order if k.name not in named and k.name in low.outputs]


def _kept_hidden(low: Lowered, ties: list[OrderKey]) -> list[str]:
    used = {k.name for k in ties}
    return [h for h in low.hidden if h in used]


def _limit(lw: Lowerer, rel: p.Limit) -> Lowered:
    low = lw.relation(rel.input)
    assert isinstance(rel.count, p.BLiteral)
    count = exp.Literal.number(max(0, int(rel.count.value)))
    if low.select.args.get("limit") or low.select.args.get("order"):
        select, _, alias = lw.wrap(low)
        select = select.select(*_passthrough(low, alias), copy=False)
        exprs: dict[str, exp.Expression] = {n: col(n, alias) for n in low.outputs}
    else:
        select, exprs = low.select, low.exprs
    if low.order:
        # ORDER BY names the SELECT's own outputs (aliases win over FROM columns in both engines)
        select = select.order_by(*[Lowerer._ordered(col(k.name), k) for k in low.order], copy=False)
    select = select.limit(count, copy=False)
    return Lowered(select, low.columns, exprs, low.order, low.hidden, low.open)


def _passthrough(low: Lowered, alias: str) -> list[exp.Expression]:
    if low.open:
        return [exp.Star()]
    return [_aliased(col(n, alias), n) for n in low.outputs]


def _distinct(lw: Lowerer, rel: p.Distinct) -> Lowered:
    low = lw.relation(rel.input)
    select, _, alias = lw.wrap(low)
    select = select.select(*[col(n, alias) for n in low.columns], copy=False).distinct(copy=False)
    return Lowered(select, low.columns, {n: col(n, alias) for n in low.columns})


def _sample(lw: Lowerer, rel: p.Sample) -> Lowered:
    low = lw.relation(rel.input)
    assert isinstance(rel.count, p.BLiteral)
    select, _, alias = lw.wrap(low)
    select = select.select(*_passthrough(low, alias), copy=False)
    select = select.order_by(lw.dialect.call("random"), copy=False).limit(int(rel.count.value), copy=False)
    return Lowered(select, low.columns, {n: col(n, alias) for n in low.outputs}, open=low.open)


def _external_data(lw: Lowerer, rel: p.ExternalData) -> Lowered:
    d = lw.dialect
    legs = []
    typed = {c.sql: d.cast(col(c.sql), c.type) for c in rel.schema.columns}
    for uri in rel.uris:
        source = d.read_external(
            uri, rel.format, [(c.sql, c.type) for c in rel.schema.columns], rel.skip_first
        )
        legs.append(exp.select(*[_aliased(e.copy(), n) for n, e in typed.items()]).from_(source, copy=False))
    union: exp.Expression = legs[0]
    for leg in legs[1:]:
        union = exp.union(union, leg, distinct=False, copy=False)
    names = [c.sql for c in rel.schema.columns]
    if len(legs) == 1:
        return Lowered(legs[0], names, typed)
    alias = lw.alias()
    select = exp.select(*[col(n, alias) for n in names]).from_(
        exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(alias))), copy=False
    )
    return Lowered(select, names, {n: col(n, alias) for n in names})


_RELATIONS.update(
    {
        p.ExternalData: _external_data,
        p.TableScan: _table_scan,
        p.Values: _values,
        p.Range: _range,
        p.Filter: _filter,
        p.Projection: _projection,
        p.Sort: _sort,
        p.Limit: _limit,
        p.Distinct: _distinct,
        p.Sample: _sample,
    }
)

from watchkeeper.kql import lower_graph as _lower_graph  # noqa: E402, F401  (registers graph-mark-components)
from watchkeeper.kql import lower_scan as _lower_scan  # noqa: E402, F401  (registers the scan lowering)
