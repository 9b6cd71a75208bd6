"""Distribution aggregates: percentiles (plain, weighted, arrays), variance and standard deviation,
covariance, bitwise folds, and the ``hll``/``tdigest`` sketches.

Kusto's percentiles and distinct counts are estimates (T-Digest, HyperLogLog); watchkeeper computes
exactly what they estimate. Percentiles use Kusto's nearest-rank definition: the value at 1-based
rank ceil(p/100 * n) of the sorted values (with weights, each value counts ``weight`` times). An
``hll`` or ``tdigest`` "sketch" is therefore exact too: a dynamic array of the distinct values
(``hll``) or of all values (``tdigest``), which ``dcount_hll``/``percentile_tdigest`` read back.
"""

from __future__ import annotations

import math
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.conversions import json_ready
from watchkeeper.kql.functions.listsql import ListSql
from watchkeeper.kql.functions.registry import LowerContext, aggregate, first_arg, scalar
from watchkeeper.kql.functions.sqlparts import add, const, div, mul, num
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_R = _T.REAL


def _filter(d: Dialect, agg: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
    return d.agg_filter(agg, cond) if cond is not None else agg


def _present(value: exp.Expression, cond: exp.Expression | None) -> exp.Expression:
    present: exp.Expression = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
    return exp.And(this=exp.Paren(this=cond.copy()), expression=present) if cond is not None else present


# ------------------------------------------------------------------------- percentiles


def _fraction(value: Any) -> float:
    return float(value) / 100.0


@aggregate("percentile", args=2, returns=first_arg, constant=[1])
def _percentile(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.quantile(args[0], [_fraction(const(call.args[1]))], single=True)


def _levels(options: tuple[Any, ...]) -> list[float]:
    flat: list[float] = []
    for level in options[0]:
        flat.extend(_fraction(v) for v in (level if isinstance(level, list) else [level]))
    return flat


@aggregate("_percentiles_array", args=1, returns=_T.DYNAMIC)
def _percentiles_array(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.list_to_json(ctx.dialect.quantile(args[0], _levels(call.options), single=False))


def weighted_pick(ls: ListSql, ordered: exp.Expression, fraction: exp.Expression) -> exp.Expression:
    """The nearest-rank value of sorted (value, weight) rows: the first value whose running weight
    reaches ceil(fraction * total weight). One pass (a fold); NULL for no rows."""
    d = ls.d
    weights = ls.map(ordered, lambda p: d.cast(d.row_field(p, 2), _R))
    rank = d.call("greatest", num(1.0), exp.Ceil(this=mul(fraction, ls.sum(weights.copy()))))
    # the accumulator is [weight so far, 1-based position of the answer or 0]
    start = exp.Array(expressions=[d.cast(num(0.0), _R), d.cast(num(0.0), _R)])

    def step(acc: exp.Expression, i: exp.Expression) -> exp.Expression:
        so_far = add(ls.at(acc, num(0)), d.cast(ls.at(weights.copy(), add(i, num(-1))), _R))
        found = ls.at(acc.copy(), num(1))
        reached = exp.And(
            this=exp.EQ(this=found, expression=num(0)),
            expression=exp.GTE(this=so_far, expression=rank.copy()),
        )
        position = exp.If(this=reached, true=d.cast(i.copy(), _R), false=found.copy())
        return exp.Array(expressions=[so_far.copy(), position])

    walked = ls.fold(d.call("range", num(1), add(ls.length(ordered.copy()), num(1))), start, step)
    position = d.cast(ls.at(walked, num(1)), _T.LONG)
    picked = d.row_field(ls.at(ordered.copy(), add(position, num(-1))), 1)
    return exp.If(this=exp.GT(this=position.copy(), expression=num(0)), true=picked, false=exp.Null())


def _usable(ls: ListSql, rows: exp.Expression) -> exp.Expression:
    """Rows with a value and a positive weight."""
    d = ls.d
    return ls.filter(rows, lambda p: exp.And(
        this=exp.Not(this=exp.Is(this=d.row_field(p, 1), expression=exp.Null())),
        expression=exp.GT(this=d.row_field(p.copy(), 2), expression=num(0))))  # fmt: skip


@aggregate("percentilew", args=3, returns=first_arg, constant=[2])
def _percentilew(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Nearest rank over the values counted ``weight`` times each."""
    d = ctx.dialect
    ls = ListSql(ctx, args)
    rows = d.call("list", d.row(args[0], d.cast(args[1], _T.LONG)))
    fraction = num(_fraction(const(call.args[2])))
    return ls.let(
        d.call("list_sort", _usable(ls, rows)), lambda ordered: weighted_pick(ls, ordered, fraction)
    )


# ------------------------------------------------------------------------- spread


def _spread(names: list[str], sql: str, arity: int) -> None:
    """Sample statistics of one value are 0 (not NaN/null); of no values, null."""

    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        d = ctx.dialect
        values = [d.cast(a, _R) for a in args[:arity]]
        cond = args[arity] if len(args) > arity else None
        stat = _filter(d, d.call(sql, *values), cond)
        present = values[0] if arity == 1 else exp.And(this=exp.Not(this=exp.Is(this=values[0], expression=exp.Null())),
                                                        expression=exp.Not(this=exp.Is(this=values[1], expression=exp.Null())))  # fmt: skip
        count = d.count_if(_present(values[0], cond) if arity == 1 else _and(present, cond))
        single = num(0.0) if sql.endswith("samp") else stat.copy()
        return exp.Case(ifs=[exp.If(this=exp.EQ(this=count, expression=num(0)), true=d.null(_R)),
                             exp.If(this=exp.EQ(this=count.copy(), expression=num(1)), true=single)],
                        default=stat)  # fmt: skip

    params = [None] * arity
    # covariance(x, y) is named covariance_x_y: its column name uses both value arguments
    aggregate(names, args=arity, returns=_R, params=params, named_args=arity)(lower)
    aggregate(
        [f"{n}if" for n in names], args=arity + 1, returns=_R, params=[*params, _T.BOOL], named_args=arity
    )(lower)


def _and(left: exp.Expression, right: exp.Expression | None) -> exp.Expression:
    return (
        exp.And(this=exp.Paren(this=left), expression=exp.Paren(this=right.copy()))
        if right is not None
        else left
    )


_spread(["stdev"], "stddev_samp", 1)
_spread(["stdevp"], "stddev_pop", 1)
_spread(["variance"], "var_samp", 1)
_spread(["variancep"], "var_pop", 1)
_spread(["covariance"], "covar_samp", 2)
_spread(["covariancep"], "covar_pop", 2)


# ------------------------------------------------------------------------- bitwise folds


def _bits(name: str, sql: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return ctx.dialect.call(sql, ctx.dialect.cast(args[0], _T.LONG))

    aggregate(name, args=1, returns=_T.LONG, params=[_T.LONG])(lower)


_bits("binary_all_and", "bit_and")
_bits("binary_all_or", "bit_or")
_bits("binary_all_xor", "bit_xor")


# ------------------------------------------------------------------------- exact sketches


def _hll(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """``hll``: the distinct values, as a dynamic array."""
    d = ctx.dialect
    cond = args[1] if call.fn.name == "hll_if" else None
    values = d.collect(json_ready(d, args[0], call.args[0].type), cond, distinct=True, flatten=False)
    return d.list_to_json(values)


aggregate("hll", args=(1, 2), returns=_T.DYNAMIC, constant=[1])(_hll)
aggregate("hll_if", args=(2, 3), returns=_T.DYNAMIC, params=[None, _T.BOOL], constant=[2])(_hll)


@aggregate("hll_merge", args=1, returns=_T.DYNAMIC, params=[_T.DYNAMIC])
def _hll_merge(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    return d.json_from_elements(d.collect(args[0], None, distinct=True, flatten=True))


def _sketch_length(value: Any) -> Any:
    return len(value) if isinstance(value, list) else None


@scalar("dcount_hll", args=1, returns=_T.LONG, params=[_T.DYNAMIC], fold=_sketch_length)
def _dcount_hll(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.cast(ctx.dialect.json_array_length(args[0]), _T.LONG)


@aggregate("tdigest", args=(1, 2), returns=_T.DYNAMIC, params=[_R, _T.LONG])
def _tdigest(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """``tdigest``: every value with its weight, as a dynamic array of ``[value, weight]``."""
    d = ctx.dialect
    weight = d.cast(args[1], _T.LONG) if len(args) > 1 else num(1)
    present = exp.And(this=exp.Not(this=exp.Is(this=args[0], expression=exp.Null())),
                      expression=exp.Not(this=exp.Is(this=weight, expression=exp.Null())))  # fmt: skip
    pair = exp.If(
        this=present, true=d.json_array([d.cast(args[0].copy(), _R), weight.copy()]), false=exp.Null()
    )
    return d.json_from_elements(d.collect(pair, None, distinct=False, flatten=False))


@aggregate(["tdigest_merge", "merge_tdigest"], args=1, returns=_T.DYNAMIC, params=[_T.DYNAMIC])
def _tdigest_merge(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    return d.json_from_elements(d.collect(args[0], None, distinct=False, flatten=True))


def _digest_pairs(value: Any) -> list[tuple[float, int]]:
    pairs = value if isinstance(value, list) else []
    return sorted((float(p[0]), int(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2)


def _fold_percentile_tdigest(sketch: Any, level: Any, *_: Any) -> Any:
    pairs = _digest_pairs(sketch)
    if not pairs or level is None:
        return None
    rank = max(1, math.ceil(float(level) / 100.0 * sum(w for _, w in pairs)))
    seen = 0
    for value, weight in pairs:
        seen += weight
        if seen >= rank:
            return value
    return pairs[-1][0]


def _digest_rows(ls: ListSql, digest: exp.Expression) -> exp.Expression:
    d = ls.d

    def row(pair: exp.Expression) -> exp.Expression:
        value = d.json_number(d.json_get(pair, "$[0]"))
        return d.row(value, d.cast(d.json_number(d.json_get(pair.copy(), "$[1]")), _T.LONG))

    return _usable(ls, ls.map(ls.elements(digest), row))


@scalar("percentile_tdigest", args=(2, 3), returns=_R, params=[_T.DYNAMIC, _R], fold=_fold_percentile_tdigest)
def _percentile_tdigest(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The nearest-rank percentile of a :func:`tdigest` sketch."""
    ls = ListSql(ctx, args)
    fraction = div(args[1], num(100.0))
    sorted_rows = ctx.dialect.call("list_sort", _digest_rows(ls, args[0]))
    return ls.let(sorted_rows, lambda ordered: weighted_pick(ls, ordered, fraction))


def _fold_rank_tdigest(sketch: Any, value: Any) -> Any:
    if sketch is None or value is None:
        return None
    return sum(w for v, w in _digest_pairs(sketch) if v <= value)


@scalar("rank_tdigest", args=2, returns=_T.LONG, params=[_T.DYNAMIC, _R], fold=_fold_rank_tdigest)
def _rank_tdigest(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The total weight of the sketch's values that are at most ``value``."""
    d = ctx.dialect
    ls = ListSql(ctx, args)
    below = ls.filter(
        _digest_rows(ls, args[0]), lambda r: exp.LTE(this=d.row_field(r, 1), expression=args[1].copy())
    )
    weights = ls.map(below, lambda r: d.cast(d.row_field(r, 2), _R))
    return d.cast(ls.sum(weights), _T.LONG)
