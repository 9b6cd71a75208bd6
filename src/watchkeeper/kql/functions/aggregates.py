"""Aggregate functions (``summarize``/``make-series``): counts, sums, extremes, sets and lists,
percentiles, spread, and the column pickers behind ``arg_max``/``arg_min``.

Kusto's ``dcount`` and ``percentile`` are estimates; watchkeeper computes them exactly
(``count(DISTINCT)``, nearest-rank ``quantile_disc``), which is what the estimates approximate.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.conversions import json_ready
from watchkeeper.kql.functions.registry import LowerContext, aggregate, first_arg
from watchkeeper.kql.functions.sqlparts import const, is_const, num
from watchkeeper.kql.plan import BCall, BExpr
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType


def _sum_type(args: Sequence[BExpr]) -> KqlType:
    t = args[0].type
    return _T.LONG if t in (_T.INT, _T.LONG, _T.BOOL) else t if t is not _T.UNKNOWN else _T.REAL


def _with_filter(d: Dialect, agg: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
    return d.agg_filter(agg, cond) if cond is not None else agg


# ------------------------------------------------------------------------- counting


@aggregate("count", args=(0, 1), returns=_T.LONG, column_name="count")
def _count(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    # count(expr) counts rows like count(): the reference's example counts a null value too
    return exp.Count(this=exp.Star())


@aggregate("countif", args=1, returns=_T.LONG, params=[_T.BOOL], column_name="countif")
def _countif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.count_if(args[0])


@aggregate(["dcount", "count_distinct"], args=(1, 2), returns=_T.LONG, column_name="dcount")
def _dcount(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.count_distinct(args[0])


@aggregate(["dcountif", "count_distinctif"], args=(2, 3), returns=_T.LONG, params=[None, _T.BOOL],
           column_name="dcountif")  # fmt: skip
def _dcountif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _with_filter(ctx.dialect, ctx.dialect.count_distinct(args[0]), args[1])


# ------------------------------------------------------------------------- sums and averages


def _sum_expr(ctx: LowerContext, call: BCall, value: exp.Expression) -> exp.Expression:
    d = ctx.dialect
    if call.args[0].type is _T.BOOL:
        value = d.cast(value, _T.LONG)
    # engines widen integer sums (DuckDB to HUGEINT); Kusto sums are long
    return exp.Sum(this=value)


def _typed(ctx: LowerContext, call: BCall, agg: exp.Expression) -> exp.Expression:
    if call.type in (_T.LONG, _T.REAL):
        return ctx.dialect.cast(agg, call.type)
    return agg


@aggregate("sum", args=1, returns=_sum_type)
def _sum(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _typed(ctx, call, _sum_expr(ctx, call, args[0]))


@aggregate("sumif", args=2, returns=_sum_type, params=[None, _T.BOOL])
def _sumif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _typed(ctx, call, _with_filter(ctx.dialect, _sum_expr(ctx, call, args[0]), args[1]))


@aggregate("avg", args=1, returns=_T.REAL)
def _avg(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Avg(this=args[0])


@aggregate("avgif", args=2, returns=_T.REAL, params=[None, _T.BOOL])
def _avgif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _with_filter(ctx.dialect, exp.Avg(this=args[0]), args[1])


# ------------------------------------------------------------------------- extremes and any


@aggregate("min", args=1, returns=first_arg)
def _min(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Min(this=args[0])


@aggregate("max", args=1, returns=first_arg)
def _max(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Max(this=args[0])


@aggregate("minif", args=2, returns=first_arg, params=[None, _T.BOOL])
def _minif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _with_filter(ctx.dialect, exp.Min(this=args[0]), args[1])


@aggregate("maxif", args=2, returns=first_arg, params=[None, _T.BOOL])
def _maxif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _with_filter(ctx.dialect, exp.Max(this=args[0]), args[1])


@aggregate(["take_any", "any"], args=(1, 64), returns=first_arg, column_name="any")
def _take_any(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("any_value", args[0])


@aggregate(["take_anyif", "anyif"], args=2, returns=first_arg, params=[None, _T.BOOL], column_name="any")
def _take_anyif(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _with_filter(ctx.dialect, ctx.dialect.call("any_value", args[0]), args[1])


@aggregate(["_arg_max_value", "_arg_min_value"], args=1, returns=first_arg)
def _arg_value(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Max(this=args[0]) if call.fn.name == "_arg_max_value" else exp.Min(this=args[0])


@aggregate(["_arg_max_pick", "_arg_min_pick"], args=2, returns=first_arg)
def _arg_pick(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    name = "arg_max" if call.fn.name == "_arg_max_pick" else "arg_min"
    return ctx.dialect.call(name, args[0], args[1])


# ------------------------------------------------------------------------- sets, lists, bags


def _elements(ctx: LowerContext, call: BCall, value: exp.Expression) -> exp.Expression:
    return json_ready(ctx.dialect, value, call.args[0].type)


def _limit(ctx: LowerContext, call: BCall, listed: exp.Expression, index: int) -> exp.Expression:
    if len(call.args) > index and is_const(call.args[index]):
        return ctx.dialect.call("list_slice", listed, num(1), num(int(const(call.args[index]))))
    return listed


def _set(ctx: LowerContext, call: BCall, value: exp.Expression, cond: exp.Expression | None, max_at: int) -> exp.Expression:
    d = ctx.dialect
    values = d.collect(_elements(ctx, call, value), cond, distinct=True, flatten=call.args[0].type is _T.DYNAMIC)
    return d.list_to_json(_limit(ctx, call, values, max_at))


def _list(ctx: LowerContext, call: BCall, value: exp.Expression, cond: exp.Expression | None, max_at: int) -> exp.Expression:
    d = ctx.dialect
    values = d.collect(_elements(ctx, call, value), cond, distinct=False, flatten=False)
    return d.list_to_json(_limit(ctx, call, values, max_at))


@aggregate(["make_set", "makeset"], args=(1, 2), returns=_T.DYNAMIC, column_name="set")
def _make_set(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _set(ctx, call, args[0], None, 1)


@aggregate(["make_set_if", "makeset_if"], args=(2, 3), returns=_T.DYNAMIC, params=[None, _T.BOOL, _T.LONG],
           column_name="set")  # fmt: skip
def _make_set_if(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _set(ctx, call, args[0], args[1], 2)


@aggregate(["make_list", "makelist", "make_list_with_nulls"], args=(1, 2), returns=_T.DYNAMIC, column_name="list")
def _make_list(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _list(ctx, call, args[0], None, 1)


@aggregate(["make_list_if", "makelist_if"], args=(2, 3), returns=_T.DYNAMIC, params=[None, _T.BOOL, _T.LONG],
           column_name="list")  # fmt: skip
def _make_list_if(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _list(ctx, call, args[0], args[1], 2)


@aggregate(["make_bag", "make_dictionary"], args=(1, 2), returns=_T.DYNAMIC, params=[_T.DYNAMIC],
           column_name="bag")  # fmt: skip
def _make_bag(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.merge_objects(args[0], None)


@aggregate("make_bag_if", args=(2, 3), returns=_T.DYNAMIC, params=[_T.DYNAMIC, _T.BOOL], column_name="bag")
def _make_bag_if(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.merge_objects(args[0], args[1])


# ------------------------------------------------------------------------- distribution


def _fraction(call: BCall, index: int) -> float:
    return float(const(call.args[index])) / 100.0


@aggregate("percentile", args=2, returns=first_arg, constant=[1])
def _percentile(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.quantile(args[0], [_fraction(call, 1)], single=True)


@aggregate("_percentiles_array", args=1, returns=_T.DYNAMIC)
def _percentiles_array(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    levels = [float(v) / 100.0 for v in call.options[0]]
    return ctx.dialect.list_to_json(ctx.dialect.quantile(args[0], levels, single=False))


@aggregate("percentilew", args=3, returns=first_arg, constant=[2])
def _percentilew(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.weighted_quantile(args[0], args[1], _fraction(call, 2))


def _spread(names: list[str], sql: str, column: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        value = ctx.dialect.cast(args[0], _T.REAL)
        agg = ctx.dialect.call(sql, value)
        return _with_filter(ctx.dialect, agg, args[1]) if len(args) > 1 else agg

    aggregate(names, args=1, returns=_T.REAL, column_name=column)(lower)
    aggregate([f"{n}if" for n in names], args=2, returns=_T.REAL, params=[None, _T.BOOL], column_name=f"{column}if")(
        lower
    )


_spread(["stdev"], "stddev_samp", "stdev")
_spread(["stdevp"], "stddev_pop", "stdevp")
_spread(["variance"], "var_samp", "variance")
_spread(["variancep"], "var_pop", "variancep")


@aggregate("binary_all_or", args=1, returns=_T.LONG)
def _binary_all_or(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("bit_or", args[0])


@aggregate("binary_all_and", args=1, returns=_T.LONG)
def _binary_all_and(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("bit_and", args[0])


@aggregate("binary_all_xor", args=1, returns=_T.LONG)
def _binary_all_xor(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("bit_xor", args[0])

