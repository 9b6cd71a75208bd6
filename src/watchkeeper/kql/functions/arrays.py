"""Dynamic arrays: ``array_*`` functions, ``range()``, ``repeat``, ``zip``, ``strcat_array``.

Kusto's rules, applied throughout: a function given something that is not an array returns null;
indexes are 0-based and a negative index counts from the end of the array.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.functions.conversions import json_ready
from watchkeeper.kql.functions.listsql import ListSql, is_array
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, const, is_const, lit, mod, num, or_empty, sub
from watchkeeper.kql.plan import BCall, BExpr
from watchkeeper.schema.types import KqlType

__all__ = ["all_arrays", "json_of"]

_T = KqlType
_D = _T.DYNAMIC
# Kusto caps range() and repeat() results
_MAX_ELEMENTS = 1_048_576


def all_arrays(ctx: LowerContext, values: Sequence[exp.Expression], result: exp.Expression) -> exp.Expression:
    """``result`` when every value is a dynamic array, else null."""
    cond: exp.Expression | None = None
    for value in values:
        test = is_array(ctx.dialect, value.copy())
        cond = test if cond is None else exp.And(this=cond, expression=test)
    return result if cond is None else exp.If(this=cond, true=result, false=exp.Null())


def json_of(ctx: LowerContext, value: exp.Expression, kql_type: KqlType) -> exp.Expression:
    """A typed value as a JSON element (dynamic values are already JSON)."""
    if kql_type in (_D, _T.UNKNOWN):
        return ctx.dialect.json_value(value)
    # the cast keeps the value's type plain: text must be quoted even when it came out of JSON
    ready = _T.STRING if kql_type in (_T.DATETIME, _T.TIMESPAN, _T.GUID) else kql_type
    return ctx.dialect.to_json(ctx.dialect.cast(json_ready(ctx.dialect, value, kql_type), ready))


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


# ---------------------------------------------------------------------------- length, concat, slice


@scalar(["array_length", "arraylength"], args=1, returns=_T.LONG, params=[_D],
        fold=lambda v: len(v) if _is_list(v) else None)  # fmt: skip
def _array_length(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return all_arrays(ctx, args, ctx.dialect.cast(ctx.dialect.json_array_length(args[0]), _T.LONG))


@scalar("array_concat", args=(1, None), returns=_D, params=[_D],
        fold=lambda *a: [x for arr in a for x in arr] if all(_is_list(x) for x in a) else None)  # fmt: skip
def _array_concat(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    ls = ListSql(ctx, args)
    joined = ctx.dialect.call("flatten", exp.Array(expressions=[ls.elements(a.copy()) for a in args]))
    return all_arrays(ctx, args, ls.json_array(joined))


def _from_end(index: exp.Expression, length: exp.Expression) -> exp.Expression:
    """A negative index counts from the end."""
    negative = exp.LT(this=index, expression=num(0))
    return exp.If(this=negative, true=add(index.copy(), length.copy()), false=index.copy())


def _fold_slice(arr: Any, start: int, end: int | None = None) -> Any:
    if not _is_list(arr) or start is None:
        return None
    n = len(arr)
    s = start + n if start < 0 else start
    e = (end + n if end < 0 else end) if end is not None else n - 1
    return arr[max(s, 0) : max(e + 1, 0)]


@scalar("array_slice", args=(2, 3), returns=_D, params=[_D, _T.LONG, _T.LONG], fold=_fold_slice)
def _array_slice(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    ls = ListSql(ctx, args)

    def body(items: exp.Expression) -> exp.Expression:
        n = ls.length(items)
        start = d.call("greatest", _from_end(args[1], n), num(0))
        end = (
            d.call("greatest", d.call("least", add(_from_end(args[2], n), num(1)), n.copy()), num(0))
            if len(args) > 2
            else n.copy()
        )
        return ls.json_array(ls.slice(items, start, end))

    return all_arrays(ctx, args[:1], ls.let(ls.elements(args[0]), body))


# ---------------------------------------------------------------------------- search


@scalar("array_index_of", args=(2, 5), returns=_T.LONG, params=[_D, None, _T.LONG, _T.LONG, _T.LONG])
def _array_index_of(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Position of the ``occurrence``-th match within ``length`` elements from ``start``; -1 if none."""
    d = ctx.dialect
    ls = ListSql(ctx, args)
    needle = d.cast(json_of(ctx, args[1], call.args[1].type), _T.STRING)
    length = args[3] if len(args) > 3 else num(-1)
    occurrence = args[4] if len(args) > 4 else num(1)

    def body(texts: exp.Expression) -> exp.Expression:
        n = ls.length(texts)
        start = d.call("greatest", _from_end(args[2], n) if len(args) > 2 else num(0), num(0))
        unlimited = exp.EQ(this=length.copy(), expression=num(-1))
        stop = exp.If(
            this=unlimited, true=n.copy(), false=d.call("least", add(start.copy(), length.copy()), n.copy())
        )
        hits = ls.filter(ls.indexes(stop), lambda i: exp.And(
            this=exp.GTE(this=i, expression=start.copy()), expression=exp.EQ(this=ls.at(texts, i), expression=needle)))  # fmt: skip
        exists = exp.And(this=exp.GTE(this=occurrence.copy(), expression=num(1)),
                         expression=exp.LTE(this=occurrence.copy(), expression=ls.length(hits)))  # fmt: skip
        found = exp.If(this=exists, true=ls.at(hits, sub(occurrence.copy(), num(1))), false=num(-1))
        invalid = exp.Or(this=exp.LT(this=occurrence.copy(), expression=num(0)),
                         expression=exp.LT(this=length.copy(), expression=num(-1)))  # fmt: skip
        return exp.If(this=invalid, true=exp.Null(), false=found)

    return all_arrays(ctx, args[:1], ls.let(ls.texts(ls.elements(args[0])), body))


# ---------------------------------------------------------------------------- reorder


@scalar("array_reverse", args=1, returns=_D, params=[_D], fold=lambda a: a[::-1] if _is_list(a) else None)
def _array_reverse(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    ls = ListSql(ctx, args)
    return all_arrays(ctx, args, ls.json_array(ctx.dialect.call("list_reverse", ls.elements(args[0].copy()))))


def _rotated(ctx: LowerContext, args: list[exp.Expression], sign: int) -> exp.Expression:
    d = ctx.dialect
    ls = ListSql(ctx, args)
    shift = args[1] if sign > 0 else exp.Neg(this=exp.Paren(this=args[1]))

    def body(items: exp.Expression) -> exp.Expression:
        n = ls.length(items)
        size = d.call("greatest", n, num(1))  # ClickHouse fails on modulo by zero
        r = mod(add(mod(shift.copy(), size), size.copy()), size.copy())
        moved = d.call(
            "flatten",
            exp.Array(expressions=[ls.slice(items, r, n.copy()), ls.slice(items, num(0), r.copy())]),
        )
        return ls.json_array(moved)

    return all_arrays(ctx, args[:1], ls.let(ls.elements(args[0]), body))


@scalar("array_rotate_left", args=2, returns=_D, params=[_D, _T.LONG])
def _array_rotate_left(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _rotated(ctx, args, 1)


@scalar("array_rotate_right", args=2, returns=_D, params=[_D, _T.LONG])
def _array_rotate_right(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _rotated(ctx, args, -1)


def _shifted(ctx: LowerContext, call: BCall, args: list[exp.Expression], sign: int) -> exp.Expression:
    """Elements move ``shift`` places; vacated places take ``fill`` (null by default)."""
    ls = ListSql(ctx, args)
    shift = args[1] if sign > 0 else exp.Neg(this=exp.Paren(this=args[1]))
    fill = json_of(ctx, args[2], call.args[2].type) if len(args) > 2 else exp.Null()

    def body(items: exp.Expression) -> exp.Expression:
        n = ls.length(items)

        def moved(i: exp.Expression) -> exp.Expression:
            source = add(i, shift.copy())
            inside = exp.And(
                this=exp.GTE(this=source, expression=num(0)),
                expression=exp.LT(this=source.copy(), expression=n.copy()),
            )
            return exp.If(this=inside, true=ls.at(items, source.copy()), false=fill.copy())

        return ls.json_array(ls.map(ls.indexes(n), moved))

    return all_arrays(ctx, args[:1], ls.let(ls.elements(args[0]), body))


@scalar("array_shift_left", args=(2, 3), returns=_D, params=[_D, _T.LONG, None])
def _array_shift_left(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _shifted(ctx, call, args, 1)


@scalar("array_shift_right", args=(2, 3), returns=_D, params=[_D, _T.LONG, None])
def _array_shift_right(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _shifted(ctx, call, args, -1)


# ---------------------------------------------------------------------------- sort


def _sort_typer(args: Sequence[BExpr]) -> KqlType:
    return _D


def _sort_key(ls: ListSql, e: exp.Expression, i: exp.Expression, null_flag: int) -> exp.Expression:
    """Kusto sorts numbers first, then strings, then everything else; nulls go by ``null_flag``."""
    d = ls.d

    def key(kind: exp.Expression) -> exp.Expression:
        is_null = exp.EQ(this=kind, expression=lit("null"))
        flag = exp.If(this=is_null, true=num(null_flag), false=num(1 - null_flag))
        rank = exp.Case(ifs=[exp.If(this=exp.EQ(this=kind.copy(), expression=lit("number")), true=num(0)),
                             exp.If(this=exp.EQ(this=kind.copy(), expression=lit("string")), true=num(1))],
                        default=num(2))  # fmt: skip
        value = exp.Coalesce(this=d.json_number(e.copy()), expressions=[num(0)])
        return d.row(flag, rank, value, or_empty(d.json_text(e.copy())), i.copy())

    return ls.let(exp.Coalesce(this=d.json_kind(e), expressions=[lit("null")]), key)


def sort_permutation(
    ls: ListSql, items: exp.Expression, descending: bool, nulls_last: bool
) -> exp.Expression:
    """The 0-based positions of ``items`` (JSON elements) in Kusto's sorted order.

    One sort of (null flag, type rank, number, text, position) records; descending reverses it,
    so the null flag is chosen to leave nulls where ``nulls_last`` wants them afterwards."""
    d = ls.d
    null_flag = 1 if nulls_last != descending else 0
    keyed = ls.map(ls.indexes(ls.length(items)), lambda i: _sort_key(ls, ls.at(items, i), i, null_flag))
    ordered = ls.map(d.call("list_sort", keyed), lambda r: d.row_field(r, 5))
    return d.call("list_reverse", ordered) if descending else ordered


def _sort(ctx: LowerContext, call: BCall, args: list[exp.Expression], descending: bool) -> exp.Expression:
    nulls_last = True
    bound = list(call.args)
    if len(bound) > 1 and bound[-1].type is _T.BOOL:
        if not is_const(bound[-1]):
            raise UnsupportedError(f"{call.fn.name}() with a nulls_last argument that is not a constant")
        nulls_last = bool(const(bound[-1]))
        bound = bound[:-1]
    arrays = [json_of(ctx, a, b.type) for a, b in zip(args, bound, strict=False)]
    ls = ListSql(ctx, args)

    def body(lists: list[exp.Expression]) -> exp.Expression:
        order = sort_permutation(ls, lists[0], descending, nulls_last)
        return ls.let(order, lambda o: _reordered(ls, lists, o))

    return all_arrays(ctx, arrays, ls.let_all([ls.elements(a.copy()) for a in arrays], body))


def _reordered(ls: ListSql, lists: list[exp.Expression], order: exp.Expression) -> exp.Expression:
    def picked(items: exp.Expression) -> exp.Expression:
        return ls.json_array(ls.map(order.copy(), lambda i: ls.at(items, i)))

    sorted_arrays = [picked(items) for items in lists]
    if len(lists) == 1:
        return sorted_arrays[0]
    cond: exp.Expression = exp.true()
    for items in lists[1:]:
        cond = exp.And(this=cond, expression=exp.EQ(this=ls.length(items), expression=ls.length(order)))
    # several arrays: one result per array (the binder names them array1_sorted, ...)
    return exp.If(this=cond, true=ls.json_array(exp.Array(expressions=sorted_arrays)), false=exp.Null())


@scalar("array_sort_asc", args=(1, None), returns=_sort_typer)
def _array_sort_asc(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _sort(ctx, call, args, False)


@scalar("array_sort_desc", args=(1, None), returns=_sort_typer)
def _array_sort_desc(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _sort(ctx, call, args, True)


# ---------------------------------------------------------------------------- split, sum, iff


@scalar("array_split", args=2, returns=_D, params=[_D, None])
def _array_split(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Sub-arrays cut at the given indexes (negative ones count from the end)."""
    d = ctx.dialect
    ls = ListSql(ctx, args)
    if call.args[1].type in (_D, _T.UNKNOWN):
        points = ls.map(ls.numbers(args[1]), lambda p: d.cast(p, _T.LONG))
    else:
        points = exp.Array(expressions=[d.cast(args[1], _T.LONG)])

    def body(items: exp.Expression) -> exp.Expression:
        n = ls.length(items)
        cuts = ls.map(
            points, lambda p: d.call("least", d.call("greatest", _from_end(p, n), num(0)), n.copy())
        )
        bounds = d.call("flatten", exp.Array(expressions=[exp.Array(expressions=[num(0)]), d.call("list_sort", cuts),
                                                          exp.Array(expressions=[n.copy()])]))  # fmt: skip

        def pieces(b: exp.Expression) -> exp.Expression:
            def piece(k: exp.Expression) -> exp.Expression:
                start, stop = ls.at(b, k), ls.at(b, add(k.copy(), num(1)))
                return ls.json_array(ls.slice(items, start, d.call("greatest", stop, start.copy())))

            return ls.json_array(ls.map(ls.indexes(sub(ls.length(b), num(1))), piece))

        return ls.let(bounds, pieces)

    return all_arrays(ctx, args[:1], ls.let(ls.elements(args[0]), body))


@scalar("array_sum", args=1, returns=_T.REAL, params=[_D])
def _array_sum(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The sum of the elements; null when one of them is not a number."""
    ls = ListSql(ctx, args)

    def body(values: exp.Expression) -> exp.Expression:
        bad = ls.count_where(values, lambda v: exp.Is(this=v, expression=exp.Null()))
        total = ls.sum(values.copy())
        return exp.If(
            this=exp.GT(this=bad, expression=num(0)), true=exp.Null(), false=ctx.dialect.cast(total, _T.REAL)
        )

    return all_arrays(ctx, args, ls.let(ls.numbers(args[0].copy()), body))


def _truth(ctx: LowerContext, e: exp.Expression) -> exp.Expression:
    """A condition element: a bool, or a number (non-zero is true); null otherwise."""
    d = ctx.dialect
    kind = d.json_kind(e.copy())
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=kind, expression=lit("bool")),
                                true=exp.EQ(this=d.json_text(e.copy()), expression=lit("true"))),
                         exp.If(this=exp.EQ(this=kind.copy(), expression=lit("number")),
                                true=exp.NEQ(this=d.json_number(e.copy()), expression=num(0)))])  # fmt: skip


def _branch(
    ctx: LowerContext, ls: ListSql, value: exp.Expression, items: exp.Expression | None
) -> Callable[[exp.Expression], exp.Expression]:
    """Element ``i`` of an array argument (its elements are ``items``), or a scalar argument itself."""
    if items is None:
        return lambda i: value.copy()
    return lambda i: exp.If(this=is_array(ctx.dialect, value.copy()), true=_at_or_null(ls, items, i),
                            false=value.copy())  # fmt: skip


def _at_or_null(ls: ListSql, items: exp.Expression, i: exp.Expression) -> exp.Expression:
    """Element ``i``, NULL past the end (ClickHouse would give a default value)."""
    inside = exp.LT(this=i, expression=ls.length(items))
    return exp.If(this=inside, true=ls.at(items, i.copy()), false=exp.Null())


@scalar(["array_iff", "array_iif"], args=3, returns=_D, params=[_D, None, None])
def _array_iff(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    ls = ListSql(ctx, args)
    values = [json_of(ctx, a, b.type) for a, b in zip(args[1:], call.args[1:], strict=True)]
    dynamic = [b.type in (_D, _T.UNKNOWN) for b in call.args[1:]]
    bound = [ls.elements(args[0])] + [
        ls.elements(v.copy()) for v, dyn in zip(values, dynamic, strict=True) if dyn
    ]

    def body(lists: list[exp.Expression]) -> exp.Expression:
        conds, rest = lists[0], iter(lists[1:])
        when_true, when_false = (
            _branch(ctx, ls, v, next(rest) if dyn else None) for v, dyn in zip(values, dynamic, strict=True)
        )

        def pick(i: exp.Expression) -> exp.Expression:
            truth = _truth(ctx, ls.at(conds, i))
            return exp.Case(ifs=[exp.If(this=truth, true=when_true(i)),
                                 exp.If(this=exp.Not(this=exp.Paren(this=truth.copy())), true=when_false(i))])  # fmt: skip

        return ls.json_array(ls.map(ls.indexes(ls.length(conds)), pick))

    return all_arrays(ctx, args[:1], ls.let_all(bound, body))


# ---------------------------------------------------------------------------- build arrays


def _range_typer(args: Sequence[BExpr]) -> KqlType:
    return _D


@scalar("range", args=(2, 3), returns=_range_typer)
def _range(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """``start, start+step, ...`` up to ``stop`` inclusive: numbers, datetimes (timespan step) or timespans."""
    d = ctx.dialect
    ls = ListSql(ctx, args)
    kind = call.args[0].type
    start, stop = args[0], args[1]
    step = args[2] if len(args) > 2 else num(1)
    if kind is _T.DATETIME:
        start, stop = d.epoch_micros(start), d.epoch_micros(stop)
        step = d.int_div(step, num(10))
    real = _T.REAL in (kind, call.args[1].type) or (len(args) > 2 and call.args[2].type is _T.REAL)
    span = d.cast(sub(stop, start), _T.REAL)
    count = add(
        exp.Floor(this=exp.Div(this=exp.Paren(this=span), expression=exp.Paren(this=d.cast(step, _T.REAL)))),
        num(1),
    )
    count = d.call("least", d.call("greatest", d.cast(count, _T.LONG), num(0)), num(_MAX_ELEMENTS))
    step_zero = exp.EQ(this=step.copy(), expression=num(0))

    def element(i: exp.Expression) -> exp.Expression:
        offset = exp.Mul(this=d.cast(i, _T.REAL if real else _T.LONG), expression=exp.Paren(this=step.copy()))
        if kind is _T.DATETIME:
            return json_ready(d, d.from_epoch_micros(add(start.copy(), offset)), _T.DATETIME)
        value = add(start.copy(), offset)
        return json_ready(d, value, _T.TIMESPAN) if kind is _T.TIMESPAN else value

    values = d.list_to_json(ls.map(ls.indexes(count), element))
    return exp.If(this=step_zero, true=exp.Null(), false=values)


@scalar("repeat", args=2, returns=_D, params=[None, _T.LONG])
def _repeat(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    ls = ListSql(ctx, args)
    value = json_of(ctx, args[0], call.args[0].type)
    count = ctx.dialect.call("least", args[1], num(_MAX_ELEMENTS))
    repeated = ls.json_array(ls.map(ls.indexes(count), lambda _i: value.copy()))
    return exp.If(this=exp.Is(this=args[1].copy(), expression=exp.Null()), true=exp.Null(), false=repeated)


@scalar("zip", args=(2, None), returns=_D, params=[_D])
def _zip(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """``[[a[0], b[0]], [a[1], b[1]], ...]``; a shorter array contributes nulls."""
    ls = ListSql(ctx, args)
    lists = [ls.elements(a.copy()) for a in args]
    longest = ctx.dialect.call("greatest", *[ls.length(items) for items in lists])

    def row(i: exp.Expression) -> exp.Expression:
        return ls.json_array(exp.Array(expressions=[_at_or_null(ls, items, i.copy()) for items in lists]))

    return all_arrays(ctx, args, ls.json_array(ls.map(ls.indexes(longest), row)))


@scalar("strcat_array", args=2, returns=_T.STRING, params=[_D, _T.STRING])
def _strcat_array(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    ls = ListSql(ctx, args)
    texts = ls.map(ls.elements(args[0]), lambda e: or_empty(d.json_text(e)))
    return or_empty(d.call("array_to_string", texts, args[1]))
