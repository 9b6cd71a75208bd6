"""``series_fill_forward``/``_backward``/``_const``/``_linear`` and the filters ``series_iir`` and
``series_fir``.

Fills copy the JSON elements they keep, so whole numbers stay whole; ``series_fill_linear`` keeps an
array of whole numbers whole by truncating what it interpolates, as Kusto does.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from watchkeeper.kql.functions.arrays import json_of
from watchkeeper.kql.functions.listsql import is_array
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.series import SeriesSql, not_null
from watchkeeper.kql.functions.sqlparts import add, div, lit, mul, num, sub
from watchkeeper.kql.plan import BCall, BLiteral
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_D = _T.DYNAMIC
_R = _T.REAL
Expr = exp.Expression


# ---------------------------------------------------------------------------- fill


def _missing(ctx: LowerContext, e: Expr, placeholder: Expr | None) -> Expr:
    """A JSON element that counts as missing: null, or equal to the placeholder value."""
    kind = exp.Coalesce(this=ctx.dialect.json_kind(e), expressions=[lit("null")])
    is_null = exp.EQ(this=kind, expression=lit("null"))
    if placeholder is None:
        return is_null
    return exp.Or(
        this=is_null, expression=exp.EQ(this=ctx.dialect.json_number(e.copy()), expression=placeholder.copy())
    )


def _placeholder(call: BCall, args: list[Expr], position: int) -> Expr | None:
    """The missing-value placeholder argument (a null placeholder means nulls only)."""
    if len(args) <= position or call.args[position].type is _T.UNKNOWN:
        return None
    if isinstance(call.args[position], BLiteral) and call.args[position].value is None:  # type: ignore[attr-defined]
        return None
    return args[position]


def _carry(ss: SeriesSql, items: Expr, missing: Callable[[Expr], Expr], reverse: bool) -> Expr:
    """Each missing element takes the closest earlier (``reverse``: later) present one."""
    d = ss.d
    order = ss.indexes(ss.length(items))
    if reverse:
        order = d.call("list_reverse", order)

    def step(acc: Expr, i: Expr) -> Expr:
        e = ss.at(items, i)
        carried = exp.If(this=missing(e.copy()), true=ss.last_json(acc.copy()), false=e)
        return d.call("list_append", acc, carried)

    filled = ss.fold(order, ss.empty_json_list(), step)
    return d.call("list_reverse", filled) if reverse else filled


def _register_carry(name: str, reverse: bool) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
        ss = SeriesSql(ctx, args)
        placeholder = _placeholder(call, args, 1)
        body = ss.let(ss.elements(args[0]), lambda items: ss.json_array(
            _carry(ss, items, lambda e: _missing(ctx, e, placeholder), reverse)))  # fmt: skip
        return exp.If(this=is_array(ctx.dialect, args[0].copy()), true=body, false=exp.Null())

    scalar(name, args=(1, 2), returns=_D, params=[_D, _R])(lower)


_register_carry("series_fill_forward", False)
_register_carry("series_fill_backward", True)


@scalar("series_fill_const", args=(2, 3), returns=_D, params=[_D, None, _R])
def _series_fill_const(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    ss = SeriesSql(ctx, args)
    placeholder = _placeholder(call, args, 2)
    constant = json_of(ctx, args[1], call.args[1].type)
    filled = ss.map(
        ss.elements(args[0]),
        lambda e: exp.If(this=_missing(ctx, e, placeholder), true=constant.copy(), false=e.copy()),
    )
    return exp.If(this=is_array(ctx.dialect, args[0].copy()), true=ss.json_array(filled), false=exp.Null())


@scalar("series_fill_linear", args=(1, 4), returns=_D, params=[_D, _R, _T.BOOL, _R])
def _series_fill_linear(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    """Missing elements on a line between their present neighbours; at the edges the nearest
    present value (``fill_edges``, default true) or left missing; all missing: ``constant_value``
    (default 0). An array of whole numbers stays whole (values truncated), as in Kusto."""
    ss = SeriesSql(ctx, args)
    placeholder = _placeholder(call, args, 1)
    edges = args[2] if len(args) > 2 else exp.true()
    constant = args[3] if len(args) > 3 else num(0.0)

    def body(lists: list[Expr]) -> Expr:
        items, present = lists
        values = ss.map(
            items,
            lambda e: exp.If(
                this=_missing(ctx, e, placeholder), true=exp.Null(), false=ss.d.json_number(e.copy())
            ),
        )
        fractional = ss.count_where(present.copy(), lambda i: exp.Not(this=ss.is_integral(ss.at(items, i))))
        whole = exp.And(this=exp.EQ(this=fractional, expression=num(0)),
                        expression=exp.GT(this=ss.length(present.copy()), expression=num(0)))  # fmt: skip
        return ss.let(values, lambda v: _linear(ss, v, present, edges, constant, whole))

    idx = ss.let(ss.elements(args[0]), lambda items: ss.let(
        ss.filter(ss.indexes(ss.length(items)), lambda i: exp.Not(this=exp.Paren(this=_missing(ctx, ss.at(items, i), placeholder)))),
        lambda present: body([items, present])))  # fmt: skip
    return exp.If(this=is_array(ctx.dialect, args[0].copy()), true=idx, false=exp.Null())


def _linear(ss: SeriesSql, values: Expr, present: Expr, edges: Expr, constant: Expr, whole: Expr) -> Expr:
    d = ss.d

    def element(i: Expr) -> Expr:
        before = ss.last(ss.filter(present.copy(), lambda j: exp.LTE(this=j, expression=i.copy())))
        after = ss.first_of(ss.filter(present.copy(), lambda j: exp.GTE(this=j, expression=i.copy())))
        return ss.let_all(
            [before, after], lambda ba: _interpolated(ss, values, present, i, ba, edges, constant)
        )

    def typed(filled: Expr) -> Expr:
        whole_numbers = ss.json_array(
            ss.to_json_values(ss.map(filled, lambda v: d.cast(d.call("trunc", v), _T.LONG)))
        )
        return exp.If(this=whole, true=whole_numbers, false=ss.reals_json(filled.copy()))

    return ss.let(ss.map(ss.indexes(ss.length(values)), element), typed)


def _interpolated(ss: SeriesSql, values: Expr, present: Expr, i: Expr, neighbours: list[Expr], edges: Expr,
                  constant: Expr) -> Expr:  # fmt: skip
    """Element ``i`` from its present neighbours (positions ``before``/``after``, NULL if none)."""
    d = ss.d
    before, after = neighbours
    vb, va = ss.at(values, before), ss.at(values, after)
    share = div(
        d.cast(sub(i.copy(), before.copy()), _R), d.call("nullif", sub(after.copy(), before.copy()), num(0))
    )
    between = exp.Coalesce(this=add(vb, mul(share, sub(va, vb.copy()))), expressions=[vb.copy()])
    edge = exp.If(
        this=edges.copy(), true=exp.Coalesce(this=vb.copy(), expressions=[va.copy()]), false=exp.Null()
    )
    both = exp.And(this=not_null(before.copy()), expression=not_null(after.copy()))
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=ss.length(present), expression=num(0)), true=constant.copy()),
                         exp.If(this=both, true=between)], default=edge)  # fmt: skip


# ---------------------------------------------------------------------------- filters


@scalar("series_iir", args=3, returns=_D, params=[_D, _D, _D])
def _series_iir(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    """``y[n] = (Σ b[i]·x[n-i] − Σ_{j≥1} a[j]·y[n-j]) / a[0]`` (values before the start are 0)."""
    d = ss_d = ctx.dialect
    ss = SeriesSql(ctx, args)

    def body(lists: list[Expr]) -> Expr:
        x, b, a = lists

        def step(acc: Expr, n: Expr) -> Expr:
            feed = ss.sum(
                ss.map(
                    ss.indexes(ss.length(b)),
                    lambda i: mul(ss.at(b, i), _before(ss, x, sub(n.copy(), i.copy()))),
                )
            )
            back = ss.sum(ss.map(ss.d.call("range", num(1), ss.length(a)),
                                 lambda j: mul(ss.at(a, j), _before(ss, acc.copy(), sub(n.copy(), j.copy())))))  # fmt: skip
            return d.call(
                "list_append", acc, div(sub(feed, back), d.call("nullif", ss.at(a.copy(), num(0)), num(0)))
            )

        empty = ss.map(ss.d.call("range", num(0)), lambda _i: ss_d.cast(num(0), _R))
        return ss.reals_json(ss.fold(ss.indexes(ss.length(x)), empty, step))

    return ss.let_all([ss.numbers(args[0]), ss.numbers(args[1]), ss.numbers(args[2])], body)


def _before(ss: SeriesSql, items: Expr, i: Expr) -> Expr:
    """Element ``i``, 0 before the start (and for missing elements)."""
    inside = exp.And(
        this=exp.GTE(this=i, expression=num(0)), expression=exp.LT(this=i.copy(), expression=ss.length(items))
    )
    return exp.Coalesce(
        this=exp.If(this=inside, true=ss.at(items, i.copy()), false=exp.Null()), expressions=[num(0.0)]
    )


@scalar("series_fir", args=(2, 4), returns=_D, params=[_D, _D, _T.BOOL, _T.BOOL])
def _series_fir(ctx: LowerContext, call: BCall, args: list[Expr]) -> Expr:
    """``y[n] = Σ f[i]·x[n-i]`` (``center``: the filter centred on n), divided by ``Σ f`` when
    ``normalize`` (default true); points outside the series count as 0."""
    ss = SeriesSql(ctx, args)
    normalize = args[2] if len(args) > 2 else exp.true()
    center = args[3] if len(args) > 3 else exp.false()

    def body(lists: list[Expr]) -> Expr:
        x, f = lists
        shift = exp.If(this=center, true=ss.d.int_div(sub(ss.length(f), num(1)), num(2)), false=num(0))
        total = exp.If(this=normalize, true=ss.d.call("nullif", ss.sum(f.copy()), num(0)), false=num(1.0))

        def element(n: Expr) -> Expr:
            taps = ss.map(
                ss.indexes(ss.length(f)),
                lambda i: mul(ss.at(f, i), _before(ss, x, sub(add(n.copy(), shift.copy()), i.copy()))),
            )
            return div(ss.sum(taps), total.copy())

        return ss.reals_json(ss.map(ss.indexes(ss.length(x)), element))

    return ss.let_all([ss.numbers(args[0]), ss.numbers(args[1])], body)
