"""``_lower_<Relation>`` for ``summarize`` (:class:`Aggregate`), ``make-series`` and ``mv-expand``.

Two rewrites keep compiled queries as fast as hand-written SQL: a ``summarize`` made only of
``arg_max``/``arg_min`` over one expression becomes ``QUALIFY row_number() ... = 1`` (one sort per
group instead of one aggregate per column), and several ``percentile``s of one value share one
``quantile`` list.
"""

from __future__ import annotations

from sqlglot import exp

from watchkeeper.kql import plan as p
from watchkeeper.kql.functions.conversions import CONVERT_TO
from watchkeeper.kql.lower import _RELATIONS, Lowered, Lowerer, Resolver, col, ident
from watchkeeper.kql.lower_relations import _mergeable
from watchkeeper.kql.lower_series import make_series
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType


def _aliased(expr: exp.Expression, name: str) -> exp.Expression:
    return exp.Alias(this=expr, alias=ident(name))


def _input(lw: Lowerer, low: Lowered, exprs: list[p.BExpr]) -> tuple[exp.Select, Resolver]:
    """The SELECT to aggregate in: ``low`` itself when nothing stops it, else a new one over it."""
    if _mergeable(low, exprs, allow_computed_once=False):
        select = low.select
        select.set("expressions", [])
        return select, lw.inline(low)
    select, resolve, _ = lw.wrap(low)
    return select, resolve


def _aggregate(lw: Lowerer, rel: p.Aggregate) -> Lowered:
    low = lw.relation(rel.input)
    calls = [item.call for item in rel.aggregates]
    fast = _arg_extreme_form(rel)
    if fast is not None and rel.keys:
        return _aggregate_by_row(lw, rel, low, fast)
    select, resolve = _input(lw, low, list(rel.keys) + list(calls))
    keys = [lw.expr(k, resolve) for k in rel.keys]
    outputs: dict[str, exp.Expression] = {}
    for column, key in zip(rel.key_columns, keys, strict=True):
        outputs[column.sql] = key
    shared = _shared_quantiles(lw, rel, resolve)
    for item in rel.aggregates:
        name = item.columns[0].sql
        outputs[name] = shared.get(name) or lw.expr(item.call, resolve)
    select = select.select(*[_aliased(e, n) for n, e in outputs.items()], copy=False)
    if keys:
        select = select.group_by(*[k.copy() for k in keys], copy=False)
    names = [c.sql for c in rel.schema.columns]
    return Lowered(select, names, {n: col(n) for n in names}, aggregated=True)


def _arg_extreme_form(rel: p.Aggregate) -> tuple[str, p.BExpr] | None:
    """('max'|'min', by-expression) when every aggregate is part of one arg_max/arg_min."""
    kind: str | None = None
    by: p.BExpr | None = None
    for item in rel.aggregates:
        call = item.call
        name = call.fn.name
        if name not in ("_arg_max_value", "_arg_max_pick", "_arg_min_value", "_arg_min_pick"):
            return None
        this_kind = "max" if "max" in name else "min"
        this_by = call.args[0] if name.endswith("_value") else call.args[1]
        if kind is None:
            kind, by = this_kind, this_by
        elif kind != this_kind or this_by != by:
            return None
    if kind is None or by is None:
        return None
    return kind, by


def _aggregate_by_row(lw: Lowerer, rel: p.Aggregate, low: Lowered, form: tuple[str, p.BExpr]) -> Lowered:
    kind, by = form
    select, resolve, _ = lw.wrap(low)
    keys = [lw.expr(k, resolve) for k in rel.keys]
    outputs: dict[str, exp.Expression] = {}
    for column, key in zip(rel.key_columns, keys, strict=True):
        outputs[column.sql] = key
    for item in rel.aggregates:
        value = item.call.args[0]
        outputs[item.columns[0].sql] = lw.expr(value, resolve)
    order = exp.Ordered(this=lw.expr(by, resolve), desc=kind == "max", nulls_first=False)
    rank = exp.Window(
        this=exp.RowNumber(), partition_by=[k.copy() for k in keys], order=exp.Order(expressions=[order])
    )
    select = select.select(*[_aliased(e, n) for n, e in outputs.items()], copy=False)
    select = select.qualify(exp.EQ(this=rank, expression=exp.Literal.number(1)), copy=False)
    names = [c.sql for c in rel.schema.columns]
    return Lowered(select, names, {n: col(n) for n in names}, aggregated=True)


def _shared_quantiles(lw: Lowerer, rel: p.Aggregate, resolve: Resolver) -> dict[str, exp.Expression]:
    """Several percentile() of one value: one quantile list, each output picks its element."""
    groups: dict[p.BExpr, list[p.AggregateItem]] = {}
    for item in rel.aggregates:
        if item.call.fn.name == "percentile":
            groups.setdefault(item.call.args[0], []).append(item)
    out: dict[str, exp.Expression] = {}
    for value, items in groups.items():
        if len(items) < 2:
            continue
        fractions = [float(i.call.args[1].value) / 100.0 for i in items]  # type: ignore[attr-defined]
        quantiles = lw.dialect.quantile(lw.expr(value, resolve), fractions, single=False)
        for position, item in enumerate(items, start=1):
            picked = lw.dialect.call("list_extract", quantiles.copy(), exp.Literal.number(position))
            out[item.columns[0].sql] = picked
    return out


# ---------------------------------------------------------------------------- make-series

_make_series = make_series  # lowered in lower_series.py


# ---------------------------------------------------------------------------- mv-expand


def _expansion_lists(lw: Lowerer, rel: p.MvExpand, low: Lowered) -> tuple[Lowered, dict[str, str]]:
    """``low`` plus one column per expanded value holding the SQL list of its elements.

    The value is computed in a SELECT of its own first: the list expression reads it several times,
    and repeating a large expression there would make the SQL grow with every nested mv-expand.
    """
    d = lw.dialect
    select, resolve, alias = lw.wrap(low)
    values = {f"__wk_v{i}": lw.expr(expr, resolve) for i, (_, expr, _) in enumerate(rel.expanded)}
    passthrough = [_aliased(col(n, alias), n) for n in low.outputs]
    first = select.select(*passthrough, *[_aliased(v, n) for n, v in values.items()], copy=False)
    first_low = Lowered(first, low.columns, {n: col(n) for n in low.outputs}, low.order, low.hidden)
    select, _, alias = lw.wrap(first_low)
    lists: dict[str, str] = {}
    outputs = [_aliased(col(n, alias), n) for n in low.outputs]
    for i, (column, expr, _) in enumerate(rel.expanded):
        elements = d.mv_elements(col(f"__wk_v{i}", alias), expr.type, rel.bag_expansion)
        if rel.limit is not None:
            elements = d.call("list_slice", elements, exp.Literal.number(1), exp.Literal.number(rel.limit))
        outputs.append(_aliased(elements, f"__wk_l{i}"))
        lists[column.sql] = f"__wk_l{i}"
    second = select.select(*outputs, copy=False)
    return Lowered(second, low.columns, {n: col(n) for n in low.outputs}, low.order, low.hidden), lists


def _mv_expand(lw: Lowerer, rel: p.MvExpand) -> Lowered:
    d = lw.dialect
    low, lists = _expansion_lists(lw, rel, lw.relation(rel.input))
    select, _, alias = lw.wrap(low)
    outputs: dict[str, exp.Expression] = {}
    element_lists = []
    for column in rel.schema.columns:
        if column.sql in lists:
            elements = col(lists[column.sql], alias)
            element_lists.append(elements)
            outputs[column.sql] = d.unnest(elements)
        elif rel.item_index is not None and column.sql == rel.item_index.sql:
            continue
        else:
            outputs[column.sql] = col(column.sql, alias)
    if rel.item_index is not None:
        longest = d.call("greatest", *[d.list_length(e.copy()) for e in element_lists]) if len(element_lists) > 1 else (
            d.list_length(element_lists[0].copy()))  # fmt: skip
        outputs[rel.item_index.sql] = d.unnest(d.generate_series(longest))
    kept_order = [k for k in low.order if k.name in outputs and k.name not in lists]
    for key in low.order:
        if key.name not in outputs:
            outputs[key.name] = col(key.name, alias)
    select = select.select(*[_aliased(e, n) for n, e in outputs.items()], copy=False)
    names = [c.sql for c in rel.schema.columns]
    low_out = Lowered(select, names, {n: col(n) for n in outputs}, kept_order,
                      [k.name for k in kept_order if k.name not in names])  # fmt: skip
    return _convert_expanded(lw, rel, low_out)


def _resolver(alias: str) -> Resolver:
    def resolve(column: p.Column) -> exp.Expression:
        return col(column.sql, alias)

    return resolve


def _convert_expanded(lw: Lowerer, rel: p.MvExpand, low: Lowered) -> Lowered:
    """Apply ``to typeof(T)``: elements that are not of type T become null."""
    typed = [(column, to_type) for column, _, to_type in rel.expanded if to_type not in (None, _T.DYNAMIC)]
    if not typed:
        return low
    select, _, alias = lw.wrap(low)
    outputs: dict[str, exp.Expression] = {n: col(n, alias) for n in low.outputs}
    for column, to_type in typed:
        assert to_type is not None
        spec = CONVERT_TO[to_type]
        call = p.BCall(to_type, spec, (p.BColumn(_T.DYNAMIC, column),))
        outputs[column.sql] = lw.expr(call, _resolver(alias))
    select = select.select(*[_aliased(e, n) for n, e in outputs.items()], copy=False)
    # the converted expressions, so an operator merging into this SELECT reads the converted values
    return Lowered(select, low.columns, outputs, low.order, low.hidden)


_RELATIONS.update({p.Aggregate: _aggregate, p.MakeSeries: _make_series, p.MvExpand: _mv_expand})
