"""Aggregate functions (``summarize``/``make-series``): counts, sums and averages, extremes, the
column pickers behind ``arg_max``/``arg_min``, sets, lists and bags. Distribution statistics
(percentiles, variance, hll...) live in :mod:`aggstats`.

Kusto's ``dcount`` is an estimate; watchkeeper computes it exactly (what the estimate approximates).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions import aggstats  # noqa: F401  (registers percentiles, variance, hll...)
from watchkeeper.kql.functions.conversions import json_ready
from watchkeeper.kql.functions.registry import LowerContext, aggregate, first_arg
from watchkeeper.kql.functions.sqlparts import const, is_const, num
from watchkeeper.kql.plan import BCall, BExpr
from watchkeeper.schema.types import KqlType

__all__ = ["with_filter"]

_T = KqlType


def _sum_type(args: Sequence[BExpr]) -> KqlType:
    t = args[0].type
    if t in (_T.INT, _T.LONG, _T.BOOL):
        return _T.LONG
    return t if t in (_T.REAL, _T.DECIMAL, _T.TIMESPAN) else _T.REAL


def _avg_type(args: Sequence[BExpr]) -> KqlType:
    return args[0].type if args[0].type in (_T.TIMESPAN, _T.DATETIME, _T.DECIMAL) else _T.REAL


def with_filter(d: Dialect, agg: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
    """``agg`` over the rows where ``cond`` holds (all rows when there is no condition)."""
    return d.agg_filter(agg, cond) if cond is not None else agg


# ------------------------------------------------------------------------- counting


@aggregate("count", args=(0, 1), returns=_T.LONG, column_name="count")
def _count(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    # count(expr) counts rows like count(): the reference's example counts a null value too
    return exp.Count(this=exp.Star())


@aggregate("countif", args=1, returns=_T.LONG, params=[_T.BOOL], column_name="countif")
def _countif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Rows where the predicate is true (a null predicate does not count)."""
    return ctx.dialect.count_if(args[0])


@aggregate(["dcount", "count_distinct"], args=(1, 2), returns=_T.LONG, constant=[1], column_name="dcount")
def _dcount(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Distinct non-null values, exactly (the accuracy level is accepted and not needed)."""
    return ctx.dialect.count_distinct(args[0])


@aggregate(["dcountif", "count_distinctif"], args=(2, 3), returns=_T.LONG, params=[None, _T.BOOL],
           constant=[2], column_name="dcountif")  # fmt: skip
def _dcountif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return with_filter(ctx.dialect, ctx.dialect.count_distinct(args[0]), args[1])


# ------------------------------------------------------------------------- sums and averages


def _summable(d: Dialect, call: BCall, value: exp.Expression) -> exp.Expression:
    source = call.args[0].type
    if source is _T.BOOL:
        return d.cast(value, _T.LONG)
    if source in (_T.STRING, _T.DYNAMIC, _T.UNKNOWN):
        return d.try_cast(d.json_text(value) if source is _T.DYNAMIC else value, _T.REAL)
    return value


def _sum(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    summed = with_filter(d, exp.Sum(this=_summable(d, call, args[0])), args[1] if len(args) > 1 else None)
    # engines widen integer sums (DuckDB to HUGEINT); Kusto's are long
    return d.cast(summed, call.type) if call.type in (_T.LONG, _T.REAL, _T.TIMESPAN) else summed


aggregate("sum", args=1, returns=_sum_type)(_sum)
aggregate("sumif", args=2, returns=_sum_type, params=[None, _T.BOOL])(_sum)


def _avg(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The mean; of timespans a timespan, of datetimes a datetime (through their ticks)."""
    d = ctx.dialect
    cond = args[1] if len(args) > 1 else None
    source = call.args[0].type
    if source is _T.DATETIME:
        mean = with_filter(d, exp.Avg(this=d.epoch_micros(args[0])), cond)
        return d.from_epoch_micros(d.cast(exp.Round(this=mean), _T.LONG))
    mean = with_filter(d, exp.Avg(this=_summable(d, call, args[0])), cond)
    if source is _T.TIMESPAN:
        return d.cast(exp.Round(this=mean), _T.LONG)
    return mean if source is _T.DECIMAL else d.cast(mean, _T.REAL)


aggregate("avg", args=1, returns=_avg_type)(_avg)
aggregate("avgif", args=2, returns=_avg_type, params=[None, _T.BOOL])(_avg)


# ------------------------------------------------------------------------- extremes and any


def _extreme(kind: type[exp.Expression]) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return with_filter(ctx.dialect, kind(this=args[0]), args[1] if len(args) > 1 else None)

    name = "min" if kind is exp.Min else "max"
    aggregate(name, args=1, returns=first_arg)(lower)
    aggregate(f"{name}if", args=2, returns=first_arg, params=[None, _T.BOOL])(lower)


_extreme(exp.Min)
_extreme(exp.Max)


@aggregate(["take_any", "any"], args=(1, 64), returns=first_arg, column_name="any")
def _take_any(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Some non-null value of the group (null only when all are)."""
    return ctx.dialect.call("any_value", args[0])


@aggregate(["take_anyif", "anyif"], args=2, returns=first_arg, params=[None, _T.BOOL], column_name="any")
def _take_anyif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return with_filter(ctx.dialect, ctx.dialect.call("any_value", args[0]), args[1])


@aggregate(["_arg_max_value", "_arg_min_value"], args=1, returns=first_arg)
def _arg_value(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Max(this=args[0]) if call.fn.name == "_arg_max_value" else exp.Min(this=args[0])


@aggregate(["_arg_max_pick", "_arg_min_pick"], args=2, returns=first_arg)
def _arg_pick(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The value on the row where ``by`` is largest (smallest), even when that value is null; when
    ``by`` is null on every row, the value of some row (Kusto still returns one)."""
    d = ctx.dialect
    value, by = args
    name = "arg_max_null" if call.fn.name == "_arg_max_pick" else "arg_min_null"
    none_ranked = exp.Is(this=exp.Max(this=by.copy()), expression=exp.Null())
    return exp.If(this=none_ranked, true=d.call("first", value.copy()), false=d.call(name, value, by))


# ------------------------------------------------------------------------- sets, lists, bags


def _elements(ctx: LowerContext, call: BCall, value: exp.Expression) -> exp.Expression:
    return json_ready(ctx.dialect, value, call.args[0].type)


def _to_dynamic(ctx: LowerContext, call: BCall, listed: exp.Expression) -> exp.Expression:
    """A SQL list as a dynamic array: JSON elements stay JSON, other values become JSON."""
    if call.args[0].type is _T.DYNAMIC:
        return ctx.dialect.json_from_elements(listed)
    return ctx.dialect.list_to_json(listed)


def _limit(ctx: LowerContext, call: BCall, listed: exp.Expression, index: int) -> exp.Expression:
    if len(call.args) > index and is_const(call.args[index]) and const(call.args[index]) is not None:
        return ctx.dialect.call("list_slice", listed, num(1), num(int(const(call.args[index]))))
    return listed


def _set(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Distinct non-null values (array elements spread), sorted; at most ``maxSize`` of them."""
    d = ctx.dialect
    cond = args[1] if call.fn.name.endswith("_if") else None
    flatten = call.args[0].type is _T.DYNAMIC
    values = d.collect(_elements(ctx, call, args[0]), cond, distinct=True, flatten=flatten)
    return _to_dynamic(ctx, call, _limit(ctx, call, values, 2 if cond is not None else 1))


def _list(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The non-null values in input order; at most ``maxSize`` of them. An array value adds its
    elements, as in Kusto (``make_list(pack_array(X, Y))`` is ``[x1, y1, x2, y2]``, which is why
    the documentation wraps polygon coordinates in ``pack_array`` to build a MultiPolygon)."""
    d = ctx.dialect
    cond = args[1] if call.fn.name.endswith("_if") else None
    flatten = call.args[0].type is _T.DYNAMIC
    values = d.collect(_elements(ctx, call, args[0]), cond, distinct=False, flatten=flatten)
    return _to_dynamic(ctx, call, _limit(ctx, call, values, 2 if cond is not None else 1))


aggregate(["make_set", "makeset"], args=(1, 2), returns=_T.DYNAMIC, constant=[1], column_name="set")(_set)
aggregate(["make_set_if", "makeset_if"], args=(2, 3), returns=_T.DYNAMIC, params=[None, _T.BOOL, _T.LONG],
          constant=[2], column_name="set")(_set)  # fmt: skip
aggregate(["make_list", "makelist"], args=(1, 2), returns=_T.DYNAMIC, constant=[1], column_name="list")(_list)
aggregate(["make_list_if", "makelist_if"], args=(2, 3), returns=_T.DYNAMIC, params=[None, _T.BOOL, _T.LONG],
          constant=[2], column_name="list")(_list)  # fmt: skip


@aggregate("make_list_with_nulls", args=(1, 2), returns=_T.DYNAMIC, constant=[1], column_name="list")
def _make_list_with_nulls(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Every value, nulls included (as JSON null)."""
    d = ctx.dialect
    values = d.call("list", _elements(ctx, call, args[0]))
    return _to_dynamic(ctx, call, _limit(ctx, call, values, 1))


def _bag(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The property bags of the group merged into one (non-bag values are ignored)."""
    cond = args[1] if call.fn.name == "make_bag_if" else None
    return ctx.dialect.merge_objects(args[0], cond)


aggregate(["make_bag", "make_dictionary"], args=(1, 2), returns=_T.DYNAMIC, params=[_T.DYNAMIC, _T.LONG],
          column_name="bag")(_bag)  # fmt: skip
aggregate("make_bag_if", args=(2, 3), returns=_T.DYNAMIC, params=[_T.DYNAMIC, _T.BOOL, _T.LONG],
          column_name="bag")(_bag)  # fmt: skip
