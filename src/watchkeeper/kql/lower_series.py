"""Lowering of ``make-series`` (:class:`~watchkeeper.kql.plan.MakeSeries`).

Three SELECTs: the input's rows are grouped by key and bin (one aggregate per bin), the bins of
each key are gathered into a map bin -> value, and the outer SELECT reads the map for every bin
``0 .. n-1`` (an empty bin takes the ``default``) and builds the axis ``start + i * step``.

Bounds: ``from``/``to`` (``to`` exclusive; the binder turns ``in range(start, stop, step)``, whose
stop is inclusive, into this form). A missing ``from`` is the bin of the smallest axis value and a
missing ``to`` the end of the bin of the largest: both come from the whole input (window
aggregates), so every series of the result shares one axis, as in Kusto.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql import plan as p
from watchkeeper.kql.dialects import NATIVE_LIST, Dialect
from watchkeeper.kql.functions.conversions import json_ready
from watchkeeper.kql.functions.registry import SCALARS
from watchkeeper.kql.functions.sqlparts import add, div, mul, num, sub
from watchkeeper.kql.literals import ticks_from_datetime
from watchkeeper.kql.lower import Lowered, Lowerer, Resolver, col, ident
from watchkeeper.schema.types import KqlType

__all__ = ["make_series"]

_T = KqlType
_LO, _N = "__wk_lo", "__wk_n"


def _aliased(expr: exp.Expression, name: str) -> exp.Expression:
    return exp.Alias(this=expr, alias=ident(name))


@dataclass
class _Bounds:
    """The first bin and the number of bins, as SQL over the grouped rows (``carried``: computed
    per row by window aggregates and carried through the grouping as columns)."""

    lo: exp.Expression
    count: exp.Expression
    carried: bool


def make_series(lw: Lowerer, rel: p.MakeSeries) -> Lowered:
    if not isinstance(rel.step, p.BLiteral) or not rel.step.value:
        raise UnsupportedError("make-series with a step that is not a non-zero constant")
    low = lw.relation(rel.input)
    if isinstance(rel.start, p.BLiteral) and isinstance(rel.stop, p.BLiteral):
        select, resolve, _ = lw.wrap(low)
        bounds = _Bounds(lw.expr(rel.start, resolve), num(_bin_count(rel)), carried=False)
    else:
        select, resolve, bounds = _data_bounds(lw, rel, low)
    axis = lw.expr(rel.axis, resolve)
    index = _bin_index(lw, rel, axis, bounds.lo.copy())
    inside = exp.And(this=exp.GTE(this=axis.copy(), expression=bounds.lo.copy()),
                     expression=exp.LT(this=index.copy(), expression=bounds.count.copy()))  # fmt: skip
    if rel.stop is not None:  # ``to`` is exclusive even inside the last bin
        inside = exp.And(
            this=inside, expression=exp.LT(this=axis.copy(), expression=lw.expr(rel.stop, resolve))
        )
    keys = [lw.expr(k, resolve) for k in rel.keys]
    outputs = [_aliased(k, c.sql) for k, c in zip(keys, rel.key_columns, strict=True)]
    outputs.append(_aliased(index, "__wk_bin"))
    outputs += [
        _aliased(lw.expr(item.call, resolve), f"__wk_v{i}") for i, (item, _) in enumerate(rel.aggregates)
    ]
    group = [k.copy() for k in keys] + [index.copy()]
    if bounds.carried:
        outputs += [_aliased(bounds.lo.copy(), _LO), _aliased(bounds.count.copy(), _N)]
        group += [bounds.lo.copy(), bounds.count.copy()]
    inner = select.select(*outputs, copy=False).where(inside, copy=False).group_by(*group, copy=False)
    return _series_outer(lw, rel, inner, bounds)


def _bin_count(rel: p.MakeSeries) -> int:
    """Bins of a constant ``from .. to`` (``to`` exclusive)."""
    assert isinstance(rel.start, p.BLiteral)
    assert isinstance(rel.stop, p.BLiteral)
    assert isinstance(rel.step, p.BLiteral)
    start, stop = rel.start.value, rel.stop.value
    if rel.axis.type is _T.DATETIME:
        start, stop = ticks_from_datetime(start), ticks_from_datetime(stop)
    step = rel.step.value
    span = stop - start
    if isinstance(step, int) and isinstance(span, int):
        return max(0, -(-span // step))
    return max(0, int(-(-span // step)))


def _units(lw: Lowerer, rel: p.MakeSeries, value: exp.Expression, lo: exp.Expression) -> exp.Expression:
    """``(value - lo) / step`` as a real number of bins."""
    d = lw.dialect
    step = rel.step.value  # type: ignore[attr-defined]
    if rel.axis.type is _T.DATETIME:
        offset = sub(d.epoch_micros(value), d.epoch_micros(lo))
        return div(d.cast(offset, _T.REAL), num(max(1, int(step) // 10)))
    return div(d.cast(sub(value, lo), _T.REAL), num(step))


def _data_bounds(lw: Lowerer, rel: p.MakeSeries, low: Lowered) -> tuple[exp.Select, Resolver, _Bounds]:
    """A SELECT of the input's rows plus the bounds, computed over all of them when not given."""
    d = lw.dialect
    source, resolve, _ = lw.source(low)
    if rel.start is not None:
        lo = lw.expr(rel.start, resolve)
    else:
        binned = p.BCall(rel.axis.type, SCALARS["bin"], (rel.axis, rel.step))
        lo = exp.Window(this=exp.Min(this=lw.expr(binned, resolve)))
    count: exp.Expression
    if rel.stop is not None:
        count = exp.Ceil(this=_units(lw, rel, lw.expr(rel.stop, resolve), lo.copy()))
    else:
        last = exp.Window(this=exp.Max(this=lw.expr(rel.axis, resolve)))
        count = add(exp.Floor(this=_units(lw, rel, last, lo.copy())), num(1))
    widened = exp.select(exp.Star(), _aliased(lo, _LO), _aliased(d.cast(count, _T.LONG), _N)).from_(source)
    alias = lw.alias()

    def resolve_outer(column: p.Column) -> exp.Expression:
        return col(column.sql, alias)

    select = exp.select().from_(widened.subquery(alias))
    return select, resolve_outer, _Bounds(col(_LO, alias), col(_N, alias), carried=True)


def _bin_index(lw: Lowerer, rel: p.MakeSeries, axis: exp.Expression, lo: exp.Expression) -> exp.Expression:
    d = lw.dialect
    step = rel.step.value  # type: ignore[attr-defined]
    if rel.axis.type is _T.DATETIME:
        offset = sub(d.epoch_micros(axis), d.epoch_micros(lo))
        return d.int_div(offset, num(max(1, int(step) // 10)))
    return d.cast(exp.Floor(this=div(sub(axis, lo), num(step))), _T.LONG)


def _series_outer(lw: Lowerer, rel: p.MakeSeries, inner: exp.Select, bounds: _Bounds) -> Lowered:
    d = lw.dialect
    alias = lw.alias()
    keys = [col(c.sql, alias) for c in rel.key_columns]
    gathered = [_aliased(k, c.sql) for k, c in zip(keys, rel.key_columns, strict=True)]
    for i in range(len(rel.aggregates)):
        bins, values = d.call("list", col("__wk_bin", alias)), d.call("list", col(f"__wk_v{i}", alias))
        gathered.append(_aliased(d.call("map", bins, values), f"__wk_m{i}"))
    if bounds.carried:
        gathered += [_aliased(exp.Max(this=col(_LO, alias)), _LO), _aliased(exp.Max(this=col(_N, alias)), _N)]
    grouped = exp.select(*gathered).from_(inner.subquery(alias))
    if keys:
        grouped = grouped.group_by(*[k.copy() for k in keys], copy=False)
    elif not rel.nonempty:
        grouped = grouped.having(exp.GT(this=exp.Count(this=exp.Star()), expression=num(0)), copy=False)
    outer = lw.alias()
    lo = col(_LO, outer) if bounds.carried else bounds.lo
    count = col(_N, outer) if bounds.carried else bounds.count
    x = exp.column("_x")
    outputs: list[exp.Expression] = [_aliased(col(c.sql, outer), c.sql) for c in rel.key_columns]
    for i, (item, default) in enumerate(rel.aggregates):
        fill = lw.expr(default, _no_columns)
        value = exp.Coalesce(
            this=exp.Bracket(this=col(f"__wk_m{i}", outer), expressions=[x.copy()]), expressions=[fill]
        )
        outputs.append(_aliased(_series(d, _over_bins(lw, count, value)), item.columns[0].sql))
    axis = _series(d, _over_bins(lw, count, _axis_point(lw, rel, lo, x)), _native_axis(lw, rel, lo, count))
    outputs.append(_aliased(axis, rel.axis_column.sql))
    select = exp.select(*outputs).from_(grouped.subquery(outer))
    names = [c.sql for c in rel.schema.columns]
    # the expressions themselves: an operator merging into this SELECT must not read its aliases
    return Lowered(select, names, {o.alias: o.this for o in outputs if isinstance(o, exp.Alias)})


def _series(d: Dialect, values: exp.Expression, native: exp.Expression | None = None) -> exp.Expression:
    """A series as a dynamic array, remembering the SQL list it encodes (``native``: the same
    series with native datetimes instead of their text), so a series that goes straight to the
    result can skip the encoding (:meth:`~watchkeeper.kql.dialects.Dialect.result_list`)."""
    encoded = d.list_to_json(values)
    encoded.meta[NATIVE_LIST] = values if native is None else native
    return encoded


def _native_axis(
    lw: Lowerer, rel: p.MakeSeries, lo: exp.Expression, count: exp.Expression
) -> exp.Expression | None:
    """A datetime axis as a list of the engine's own datetimes, in the form the engine hands over
    fastest (:meth:`~watchkeeper.kql.dialects.Dialect.result_datetime`): building Kusto's text
    for every bin of every row costs more than the query, so the result layer writes it
    (:mod:`watchkeeper.store.result`); None for other axes (numbers, timespans: as their JSON)."""
    if rel.axis.type is not _T.DATETIME:
        return None
    d, x = lw.dialect, exp.column("_x")
    step = int(rel.step.value) // 10  # type: ignore[attr-defined]
    return _over_bins(lw, count, d.add_micros(d.result_datetime(lo.copy()), mul(x, num(step))))


def _over_bins(lw: Lowerer, count: exp.Expression, body: exp.Expression) -> exp.Expression:
    """``[body for _x in 0 .. count-1]``."""
    bins = lw.dialect.generate_series(count.copy())
    return lw.dialect.call(
        "list_transform", bins, exp.Lambda(this=body, expressions=[exp.to_identifier("_x")])
    )


def _axis_point(lw: Lowerer, rel: p.MakeSeries, lo: exp.Expression, x: exp.Expression) -> exp.Expression:
    """The axis value of bin ``x``, as the JSON element Kusto shows (datetimes and timespans as text)."""
    d = lw.dialect
    step = rel.step.value  # type: ignore[attr-defined]
    if rel.axis.type is _T.DATETIME:
        point = d.add_micros(lo.copy(), mul(x.copy(), num(int(step) // 10)))
        return json_ready(d, point, _T.DATETIME)
    return json_ready(d, add(lo.copy(), mul(x.copy(), num(step))), rel.axis.type)


def _no_columns(column: p.Column) -> exp.Expression:
    raise AssertionError("constant expected")
