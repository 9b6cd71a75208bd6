"""IPv6 functions: ``parse_ipv6``, ``parse_ipv6_mask``, ``ipv6_compare``, ``ipv6_is_match``,
``ipv6_is_in_range``, ``ipv6_is_in_any_range``.

A text becomes the SQL list ``[g0, ..., g7, prefix]`` (``[]`` when it is not an address) with
string operations only: ``::`` is expanded in the text, a dotted IPv4 tail is rewritten as two hex
groups, and the eight groups are read as numbers. IPv4 text is the IPv4-mapped ``::ffff:a.b.c.d``
whose prefix counts from bit 96 (so is ``::a.b.c.d``, as Kusto reads it). Masked addresses compare
as their canonical text (8 groups of 4 lower-case hex digits), which orders like the numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from watchkeeper.kql.functions.ip import (
    _all_parsed,
    _any_range,
    _at,
    _effective,
    _fold_any,
    _ipv4,
    _is_parsed,
    _mask,
    _pow2,
    _text_v6,
    _valid_prefix,
    fold_ipv6,
)
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, bind_value, lam, lit, mul, num, or_empty, sub
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_S = _T.STRING
_L = _T.LONG
_B = _T.BOOL
Args = list[exp.Expression]
Sql = exp.Expression

_V6 = r"^([0-9A-Fa-f:.]+?)(?:/(\d{1,3}))?$"
_V6_DOTTED = r"^(.*:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$"
_HEX_DIGITS = "0123456789abcdef"


def _colons(ctx: LowerContext, text: Sql) -> Sql:
    d = ctx.dialect
    return sub(d.call("length", text), d.call("length", d.call("replace", text, lit(":"), lit(""))))


def _expanded(ctx: LowerContext, text: Sql) -> Sql:
    """The address with ``::`` written out as zero groups (text that fails the later checks when
    ``::`` appears twice or stands for no group)."""
    d = ctx.dialect

    def groups(part: Sql) -> Sql:
        return exp.If(
            this=exp.EQ(this=part, expression=lit("")), true=num(0), false=add(_colons(ctx, part), num(1))
        )

    def fill(left: Sql, right: Sql) -> Sql:
        missing = sub(sub(num(8), groups(left)), groups(right))
        zeros = exp.Concat(
            expressions=[
                d.call("repeat", lit("0:"), d.call("greatest", sub(missing, num(1)), num(0))),
                lit("0"),
            ]
        )
        joined = exp.Concat(expressions=[left, exp.If(this=exp.EQ(this=left, expression=lit("")), true=lit(""), false=lit(":")),
                                         zeros, exp.If(this=exp.EQ(this=right, expression=lit("")), true=lit(""), false=lit(":")),
                                         right])  # fmt: skip
        bad = exp.Or(this=exp.LT(this=missing, expression=num(1)),
                     expression=exp.GT(this=d.call("strpos", right, lit("::")), expression=num(0)))  # fmt: skip
        return exp.If(this=bad, true=lit("x"), false=joined)

    def halves(h: Sql) -> Sql:
        return bind_value(d, _at(ctx, h, 1), lambda left: bind_value(d, d.call(
            "array_to_string", d.call("list_slice", h, num(2), d.list_length(h)), lit("::")), lambda right: fill(left, right)))  # fmt: skip

    compressed = bind_value(d, d.split(text, lit("::")), halves)
    return exp.If(
        this=exp.GT(this=d.call("strpos", text, lit("::")), expression=num(0)), true=compressed, false=text
    )


def _hex16(ctx: LowerContext, value: Sql) -> Sql:
    """Four lower-case hex digits of a 16-bit value (the same text on both engines)."""
    d = ctx.dialect

    def digits(v: Sql) -> Sql:
        def digit(shift: int) -> Sql:
            nibble = exp.Mod(this=exp.Paren(this=d.int_div(v, num(1 << shift))), expression=num(16))
            return d.call("substring", lit(_HEX_DIGITS), add(nibble, num(1)), num(1))

        return exp.Concat(expressions=[digit(12), digit(8), digit(4), digit(0)])

    return bind_value(d, value, digits)


def _numbers(ctx: LowerContext, hex_text: Sql, given: Sql, dotted: Sql) -> Sql:
    """``[g0, ..., g7, prefix]`` of a hexadecimal address text, or ``[]``."""
    d = ctx.dialect
    limit = exp.If(this=dotted, true=num(32), false=num(128))
    prefix = exp.If(this=exp.EQ(this=given, expression=lit("")), true=d.cast(num(128), _L),
                    false=add(d.try_cast(given, _L), exp.If(this=dotted, true=num(96), false=num(0))))  # fmt: skip
    prefix_ok = exp.Paren(this=exp.Or(this=exp.EQ(this=given, expression=lit("")),
                                      expression=exp.LTE(this=d.try_cast(given, _L), expression=limit)))  # fmt: skip

    def from_groups(groups: Sql) -> Sql:
        good = d.regex_match(exp.column("_wk_g"), lit("^[0-9A-Fa-f]{1,4}$"))
        bad = d.list_length(d.call("list_filter", groups, lam(exp.Not(this=good), "_wk_g")))
        values = d.call(
            "list_transform", groups, lam(d.cast(d.call("hex_to_int", exp.column("_wk_g")), _L), "_wk_g")
        )
        mapped = bind_value(d, values, lambda v: exp.If(this=dotted, true=_mapped(ctx, v), false=v))
        ok = exp.And(this=exp.And(this=exp.EQ(this=d.list_length(groups), expression=num(8)),
                                  expression=exp.EQ(this=bad, expression=num(0))), expression=prefix_ok)  # fmt: skip
        return exp.If(this=ok, true=d.call("list_concat", mapped, exp.Array(expressions=[prefix])),
                      false=exp.Array(expressions=[]))  # fmt: skip

    return bind_value(d, d.split(hex_text, lit(":")), from_groups)


def _mapped(ctx: LowerContext, values: Sql) -> Sql:
    """``::a.b.c.d`` is read as the IPv4-mapped ``::ffff:a.b.c.d``."""
    d = ctx.dialect
    total: Sql = num(0)
    for i in range(1, 7):
        total = add(total, _at(ctx, values, i))
    items = [_at(ctx, values, i) for i in range(1, 9)]
    items[5] = exp.If(
        this=exp.EQ(this=total, expression=num(0)), true=d.cast(num(0xFFFF), _L), false=items[5]
    )
    return exp.Array(expressions=items)


def _v6_parts(ctx: LowerContext, address: Sql, given: Sql) -> Sql:
    """Groups and prefix of an address, rewriting a dotted IPv4 tail (``::ffff:1.2.3.4``) as hex."""
    d = ctx.dialect

    def with_tail(tail: Sql) -> Sql:
        dotted = exp.NEQ(this=_at(ctx, tail, 2), expression=lit(""))

        def tail_hex(v4: Sql) -> Sql:
            value = _at(ctx, v4, 1)
            as_hex = exp.Concat(
                expressions=[
                    _at(ctx, tail, 1),
                    _hex16(ctx, d.int_div(value, num(65536))),
                    lit(":"),
                    _hex16(ctx, exp.Mod(this=exp.Paren(this=value), expression=num(65536))),
                ]
            )
            return exp.If(this=_is_parsed(ctx, v4), true=as_hex, false=lit("x"))

        hex_text = exp.If(
            this=dotted, true=bind_value(d, _ipv4(ctx, _at(ctx, tail, 2)), tail_hex), false=address
        )
        return bind_value(d, _expanded(ctx, hex_text), lambda h: _numbers(ctx, h, given, dotted))

    return bind_value(d, d.regex_groups(address, lit(_V6_DOTTED), 2), with_tail)


def _ipv6(ctx: LowerContext, text: Sql) -> Sql:
    """The SQL list ``[g0, ..., g7, prefix]`` of an IPv6 (or IPv4) text, ``[]`` when it is not one."""
    d = ctx.dialect

    def from_v4(v4: Sql) -> Sql:
        address = _at(ctx, v4, 1)
        hi, lo = d.int_div(address, num(65536)), exp.Mod(this=exp.Paren(this=address), expression=num(65536))
        zeros = [d.cast(num(0), _L)] * 5
        return exp.Array(expressions=[*zeros, d.cast(num(0xFFFF), _L), hi, lo, add(_at(ctx, v4, 2), num(96))])

    def split(t: Sql) -> Sql:
        return bind_value(d, d.regex_groups(t, lit(_V6), 2), lambda g: exp.If(
            this=d.regex_match(t, lit(_V6)), true=_v6_parts(ctx, _at(ctx, g, 1), _at(ctx, g, 2)),
            false=exp.Array(expressions=[])))  # fmt: skip

    return bind_value(d, or_empty(text), lambda t: bind_value(d, _ipv4(ctx, t), lambda v4: exp.If(
        this=_is_parsed(ctx, v4), true=from_v4(v4), false=split(t))))  # fmt: skip


def _v6_text(ctx: LowerContext, parts: Sql, prefix: Sql) -> Sql:
    """The canonical text (8 groups of 4 hex digits) of the address masked to ``prefix`` bits."""
    d = ctx.dialect
    k = exp.column("_wk_k")
    bits = d.call("least", d.call("greatest", sub(prefix, mul(k, num(16))), num(0)), num(16))
    group = _at(ctx, parts, add(k, num(1)))
    masked = sub(group, exp.Mod(this=exp.Paren(this=group), expression=_pow2(ctx, sub(num(16), bits))))
    values = d.call("list_transform", d.call("range", num(8)), lam(masked, "_wk_k"))
    texts = d.call("list_transform", values, lam(_hex16(ctx, exp.column("_wk_h")), "_wk_h"))
    return d.call("array_to_string", texts, lit(":"))


def _with_v6(ctx: LowerContext, args: Args, indexes: list[int], body: Callable[..., Sql]) -> Sql:
    """``body(*parsed)`` with each argument parsed once; null when one is not an address."""
    d = ctx.dialect

    def step(done: list[Sql], left: list[int]) -> Sql:
        if not left:
            return exp.Case(ifs=[exp.If(this=_all_parsed(ctx, done), true=body(*done))], default=exp.Null())
        return bind_value(d, _ipv6(ctx, args[left[0]]), lambda p: step([*done, p], left[1:]))

    return step([], indexes)


def _fold_parse_v6(text: str, prefix: int = 128) -> str:
    parsed = fold_ipv6(text)
    if parsed is None or not 0 <= prefix <= 128:
        return ""
    return _text_v6(_mask(parsed[0], 128, min(parsed[1], prefix)))


@scalar("parse_ipv6", args=1, returns=_S, params=[_S], fold=_fold_parse_v6)
def _parse_ipv6(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """Canonical text: ``fe80:0000:0000:0000:085d:e82c:9446:7994``; IPv4 becomes ``...:ffff:c0a8:0101``."""
    return or_empty(_with_v6(ctx, args, [0], lambda p: _v6_text(ctx, p, _at(ctx, p, 9))))


@scalar("parse_ipv6_mask", args=2, returns=_S, params=[_S, _L], fold=_fold_parse_v6)
def _parse_ipv6_mask(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    d = ctx.dialect

    def body(p: Sql) -> Sql:
        text = bind_value(d, d.call("least", _at(ctx, p, 9), args[1]), lambda bits: _v6_text(ctx, p, bits))
        return exp.If(this=_valid_prefix(args[1], 128), true=text, false=exp.Null())

    return or_empty(_with_v6(ctx, args, [0], body))


def _compare_v6(ctx: LowerContext, args: Args) -> Sql:
    d = ctx.dialect

    def body(a: Sql, b: Sql) -> Sql:
        prefixes = [_at(ctx, a, 9), _at(ctx, b, 9)] + ([args[2]] if len(args) > 2 else [])

        def order(bits: Sql) -> Sql:
            return bind_value(d, _v6_text(ctx, a, bits), lambda x: bind_value(d, _v6_text(ctx, b, bits), lambda y: exp.Case(
                ifs=[exp.If(this=exp.LT(this=x, expression=y), true=num(-1)),
                     exp.If(this=exp.GT(this=x, expression=y), true=num(1))], default=num(0))))  # fmt: skip

        compared = bind_value(d, _effective(ctx, prefixes), order)
        return (
            compared
            if len(args) < 3
            else exp.If(this=_valid_prefix(args[2], 128), true=compared, false=exp.Null())
        )

    return _with_v6(ctx, args, [0, 1], body)


def _fold_compare_v6(a: str, b: str, prefix: int = 128) -> int | None:
    pa, pb = fold_ipv6(a), fold_ipv6(b)
    if pa is None or pb is None or not 0 <= prefix <= 128:
        return None
    bits = min(pa[1], pb[1], prefix)
    x, y = _mask(pa[0], 128, bits), _mask(pb[0], 128, bits)
    return (x > y) - (x < y)


def _fold_match_v6(a: str, b: str, prefix: int = 128) -> bool | None:
    result = _fold_compare_v6(a, b, prefix)
    return None if result is None else result == 0


@scalar("ipv6_compare", args=(2, 3), returns=_L, params=[_S, _S, _L], fold=_fold_compare_v6)
def _ipv6_compare(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """-1, 0 or 1 comparing two addresses over their shortest prefix (and the optional third)."""
    return _compare_v6(ctx, args)


@scalar(
    ["ipv6_is_match", "ipv6_is_in_range"], args=(2, 3), returns=_B, params=[_S, _S, _L], fold=_fold_match_v6
)
def _ipv6_is_match(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    if call.fn.name == "ipv6_is_in_range" and len(args) > 2:
        raise ValueError("ipv6_is_in_range() expects 2 arguments")
    return exp.EQ(this=_compare_v6(ctx, args), expression=num(0))


@scalar("ipv6_is_in_any_range", args=(2, None), returns=_B, params=[_S, None], fold=_fold_any(_fold_match_v6))
def _ipv6_is_in_any_range(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    return _any_range(ctx, call, args, lambda pair: exp.EQ(this=_compare_v6(ctx, pair), expression=num(0)))
