"""IP address functions, in plain SQL arithmetic so they run the same on DuckDB and ClickHouse.

An IPv4 text (``a.b.c.d`` with an optional ``/prefix``) becomes the SQL list ``[address, prefix]``
and an IPv6 text the list ``[g0, ..., g7, prefix]`` of its eight 16-bit groups; text that is not
an address becomes ``[]`` (ClickHouse arrays cannot be NULL). IPv4 addresses take part in IPv6
functions as IPv4-mapped addresses (``::ffff:a.b.c.d``) whose prefix counts from bit 96.
Comparisons with prefixes use the shortest of the prefixes involved (``ipv4_is_match`` of
``192.168.1.1/24`` and ``192.168.1.255`` compares the first 24 bits).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import (
    add,
    bind_value,
    const,
    is_const,
    lam,
    lit,
    mul,
    num,
    or_empty,
    sub,
)
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["fold_ipv4", "fold_ipv6"]

_T = KqlType
_S = _T.STRING
_L = _T.LONG
_B = _T.BOOL
Args = list[exp.Expression]
Sql = exp.Expression

_OCTET = r"(\d{1,3})"
_V4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/(\d{{1,2}}))?$"
_V6 = r"^([0-9A-Fa-f:.]+?)(?:/(\d{1,3}))?$"
_V6_DOTTED = r"^(.*:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$"


# ---------------------------------------------------------------------------- Python references


def fold_ipv4(text: str) -> tuple[int, int] | None:
    """``(address, prefix)`` of an IPv4 text, or None (the reference for the SQL parser)."""
    address, _, prefix = text.partition("/")
    parts = address.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        return None
    if prefix and not (prefix.isdigit() and len(prefix) <= 2 and int(prefix) <= 32):
        return None
    value = sum(int(p) << (24 - 8 * i) for i, p in enumerate(parts))
    return value, int(prefix) if prefix else 32


def fold_ipv6(text: str) -> tuple[int, int] | None:
    """``(address as a 128-bit number, prefix)`` of an IPv6 or IPv4 text, or None."""
    v4 = fold_ipv4(text)
    if v4 is not None:
        return (0xFFFF << 32) | v4[0], v4[1] + 96
    address, _, prefix = text.partition("/")
    if not address or not all(c in "0123456789abcdefABCDEF:." for c in address):
        return None
    try:
        parsed = ipaddress.IPv6Address(address)
    except ValueError:
        return None
    value, dotted = int(parsed), "." in address
    if dotted and value >> 32 == 0:
        value |= 0xFFFF << 32
    if prefix and not (prefix.isdigit() and int(prefix) <= (32 if dotted else 128)):
        return None
    bits = (int(prefix) + (96 if dotted else 0)) if prefix else 128
    return value, bits


def _mask(value: int, width: int, prefix: int) -> int:
    return value >> (width - prefix) << (width - prefix)


def _text_v4(value: int) -> str:
    return ".".join(str(value >> s & 255) for s in (24, 16, 8, 0))


def _text_v6(value: int) -> str:
    return ":".join(f"{value >> s & 0xFFFF:04x}" for s in range(112, -1, -16))


# ---------------------------------------------------------------------------- SQL building blocks


def _at(ctx: LowerContext, items: Sql, index: int | Sql) -> Sql:
    return ctx.dialect.call("list_extract", items, num(index) if isinstance(index, int) else index)


def _is_parsed(ctx: LowerContext, items: Sql) -> Sql:
    return exp.GT(this=ctx.dialect.list_length(items), expression=num(0))


def _pow2(ctx: LowerContext, bits: Sql) -> Sql:
    return ctx.dialect.cast(ctx.dialect.call("pow", num(2), bits), _L)


def _masked(ctx: LowerContext, value: Sql, width: int, prefix: Sql) -> Sql:
    """``value`` with the bits after ``prefix`` (of ``width``) cleared."""
    return bind_value(ctx.dialect, _pow2(ctx, sub(num(width), prefix)), lambda p: sub(value, exp.Mod(
        this=exp.Paren(this=value), expression=p)))  # fmt: skip


def _ipv4(ctx: LowerContext, text: Sql) -> Sql:
    """The SQL list ``[address, prefix]`` of an IPv4 text, ``[]`` when it is not one."""
    d = ctx.dialect

    def parts(groups: Sql) -> Sql:
        octets = [d.try_cast(_at(ctx, groups, i), _L) for i in range(1, 5)]
        given = _at(ctx, groups, 5)
        prefix = exp.If(this=exp.EQ(this=given, expression=lit("")), true=d.cast(num(32), _L),
                        false=d.try_cast(given, _L))  # fmt: skip
        valid: Sql = exp.LTE(this=prefix, expression=num(32))
        for octet in octets:
            valid = exp.And(this=valid, expression=exp.LTE(this=octet, expression=num(255)))
        address = add(add(mul(octets[0], num(1 << 24)), mul(octets[1], num(1 << 16))),
                      add(mul(octets[2], num(256)), octets[3]))  # fmt: skip
        return exp.Case(ifs=[exp.If(this=valid, true=exp.Array(expressions=[address, prefix]))],
                        default=exp.Array(expressions=[]))  # fmt: skip

    return bind_value(d, or_empty(text), lambda t: bind_value(d, d.regex_groups(t, lit(_V4), 5), parts))


def _ipv4_arg(ctx: LowerContext, call: BCall, args: Args, index: int) -> Sql:
    """Argument ``index`` as ``[address, prefix]``: a text, or a number (``format_ipv4(3232236031)``)."""
    d = ctx.dialect
    if call.args[index].type in (_L, _T.INT, _T.REAL, _T.DECIMAL):
        value = d.try_cast(args[index], _L)
        in_range = exp.And(this=exp.GTE(this=value, expression=num(0)),
                           expression=exp.LTE(this=value, expression=num((1 << 32) - 1)))  # fmt: skip
        return bind_value(d, value, lambda v: exp.Case(
            ifs=[exp.If(this=in_range.transform(lambda n: v if n == value else n),
                        true=exp.Array(expressions=[v, d.cast(num(32), _L)]))],
            default=exp.Array(expressions=[])))  # fmt: skip
    return _ipv4(ctx, args[index])


def _effective(ctx: LowerContext, prefixes: list[Sql]) -> Sql:
    return prefixes[0] if len(prefixes) == 1 else ctx.dialect.call("least", *prefixes)


def _all_parsed(ctx: LowerContext, parsed: list[Sql]) -> Sql:
    cond = _is_parsed(ctx, parsed[0])
    for extra in parsed[1:]:
        cond = exp.And(this=cond, expression=_is_parsed(ctx, extra))
    return cond


def _with_v4(ctx: LowerContext, call: BCall, args: Args, indexes: list[int], body: Callable[..., Sql]) -> Sql:
    """``body(*parsed)`` with each argument parsed once; null when one is not an address."""
    d = ctx.dialect

    def step(done: list[Sql], left: list[int]) -> Sql:
        if not left:
            return exp.Case(ifs=[exp.If(this=_all_parsed(ctx, done), true=body(*done))], default=exp.Null())
        return bind_value(d, _ipv4_arg(ctx, call, args, left[0]), lambda p: step([*done, p], left[1:]))

    return step([], indexes)


def _valid_prefix(prefix: Sql, width: int) -> Sql:
    return exp.And(
        this=exp.GTE(this=prefix, expression=num(0)), expression=exp.LTE(this=prefix, expression=num(width))
    )


def _dotted(ctx: LowerContext, value: Sql) -> Sql:
    d = ctx.dialect

    def octet(shift: int) -> Sql:
        return d.cast(
            exp.Mod(this=exp.Paren(this=d.int_div(value, num(1 << shift))), expression=num(256)), _S
        )

    return exp.Concat(expressions=[octet(24), lit("."), octet(16), lit("."), octet(8), lit("."), octet(0)])


# ---------------------------------------------------------------------------- IPv4


@scalar("parse_ipv4", args=1, returns=_L, params=[_S], fold=lambda t: _fold_v4_masked(t, 32))
def _parse_ipv4(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """``parse_ipv4("192.168.1.1/24")`` is 3232235776: the address with its prefix applied."""
    return _with_v4(ctx, call, args, [0], lambda p: _masked(ctx, _at(ctx, p, 1), 32, _at(ctx, p, 2)))


def _fold_v4_masked(text: str, prefix: int) -> int | None:
    parsed = fold_ipv4(text)
    if parsed is None or not 0 <= prefix <= 32:
        return None
    return _mask(parsed[0], 32, min(parsed[1], prefix))


@scalar("parse_ipv4_mask", args=2, returns=_L, params=[_S, _L], fold=_fold_v4_masked)
def _parse_ipv4_mask(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    def body(p: Sql) -> Sql:
        masked = _masked(ctx, _at(ctx, p, 1), 32, ctx.dialect.call("least", _at(ctx, p, 2), args[1]))
        return exp.If(this=_valid_prefix(args[1], 32), true=masked, false=exp.Null())

    return _with_v4(ctx, call, args, [0], body)


def _format_v4(ctx: LowerContext, call: BCall, args: Args, with_mask: bool) -> Sql:
    d = ctx.dialect
    prefix = args[1] if len(args) > 1 else d.cast(num(32), _L)

    def body(p: Sql) -> Sql:
        def shown(bits: Sql) -> Sql:
            text = _dotted(ctx, _masked(ctx, _at(ctx, p, 1), 32, bits))
            return exp.Concat(expressions=[text, lit("/"), d.cast(bits, _S)]) if with_mask else text

        effective = bind_value(d, d.call("least", _at(ctx, p, 2), prefix), shown)
        return exp.If(this=_valid_prefix(prefix, 32), true=effective, false=exp.Null())

    return or_empty(_with_v4(ctx, call, args, [0], body))


def _fold_format_v4(with_mask: bool) -> Any:
    def fold(ip: Any, prefix: int = 32) -> str:
        parsed = fold_ipv4(ip) if isinstance(ip, str) else ((int(ip), 32) if 0 <= int(ip) < 1 << 32 else None)
        if parsed is None or not 0 <= prefix <= 32:
            return ""
        bits = min(parsed[1], prefix)
        text = _text_v4(_mask(parsed[0], 32, bits))
        return f"{text}/{bits}" if with_mask else text

    return fold


@scalar("format_ipv4", args=(1, 2), returns=_S, params=[None, _L], fold=_fold_format_v4(False))
def _format_ipv4(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """``format_ipv4(ip [, prefix])``: dotted text of the masked address; ip may be a number."""
    return _format_v4(ctx, call, args, False)


@scalar("format_ipv4_mask", args=(1, 2), returns=_S, params=[None, _L], fold=_fold_format_v4(True))
def _format_ipv4_mask(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    return _format_v4(ctx, call, args, True)


@scalar("ipv4_netmask_suffix", args=1, returns=_L, params=[_S],
        fold=lambda t: p[1] if (p := fold_ipv4(t)) is not None else None)  # fmt: skip
def _ipv4_netmask_suffix(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    return _with_v4(ctx, call, args, [0], lambda p: _at(ctx, p, 2))


def _compare_v4(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """-1, 0 or 1 comparing two IPv4 texts over their shortest prefix (and the optional third)."""
    d = ctx.dialect

    def body(a: Sql, b: Sql) -> Sql:
        prefixes = [_at(ctx, a, 2), _at(ctx, b, 2)] + ([args[2]] if len(args) > 2 else [])

        def diff(bits: Sql) -> Sql:
            return d.call(
                "sign", sub(_masked(ctx, _at(ctx, a, 1), 32, bits), _masked(ctx, _at(ctx, b, 1), 32, bits))
            )

        compared = bind_value(d, _effective(ctx, prefixes), diff)
        return (
            compared
            if len(args) < 3
            else exp.If(this=_valid_prefix(args[2], 32), true=compared, false=exp.Null())
        )

    return _with_v4(ctx, call, args, [0, 1], body)


def _fold_compare_v4(a: str, b: str, prefix: int = 32) -> int | None:
    pa, pb = fold_ipv4(a), fold_ipv4(b)
    if pa is None or pb is None or not 0 <= prefix <= 32:
        return None
    bits = min(pa[1], pb[1], prefix)
    x, y = _mask(pa[0], 32, bits), _mask(pb[0], 32, bits)
    return (x > y) - (x < y)


@scalar("ipv4_compare", args=(2, 3), returns=_L, params=[_S, _S, _L], fold=_fold_compare_v4)
def _ipv4_compare(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    return _compare_v4(ctx, call, args)


def _fold_match_v4(a: str, b: str, prefix: int = 32) -> bool | None:
    result = _fold_compare_v4(a, b, prefix)
    return None if result is None else result == 0


@scalar(
    ["ipv4_is_match", "ipv4_is_in_range"], args=(2, 3), returns=_B, params=[_S, _S, _L], fold=_fold_match_v4
)
def _ipv4_is_match(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """``ipv4_is_in_range(ip, range)`` is ``ipv4_is_match``: equal over the shorter prefix."""
    if call.fn.name == "ipv4_is_in_range" and len(args) > 2:
        raise ValueError("ipv4_is_in_range() expects 2 arguments")
    return exp.EQ(this=_compare_v4(ctx, call, args), expression=num(0))


_PRIVATE_V4 = ((10 << 24, 8), ((172 << 24) | (16 << 16), 12), ((192 << 24) | (168 << 16), 16))


def _fold_private(text: str) -> bool | None:
    parsed = fold_ipv4(text)
    if parsed is None:
        return None
    value = _mask(parsed[0], 32, parsed[1])
    return any(_mask(value, 32, bits) == base and parsed[1] >= bits for base, bits in _PRIVATE_V4)


@scalar("ipv4_is_private", args=1, returns=_B, params=[_S], fold=_fold_private)
def _ipv4_is_private(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16 (RFC 1918)."""

    def body(p: Sql) -> Sql:
        value = _masked(ctx, _at(ctx, p, 1), 32, _at(ctx, p, 2))
        tests = [exp.And(this=exp.EQ(this=_masked(ctx, value, 32, num(bits)), expression=num(base)),
                         expression=exp.GTE(this=_at(ctx, p, 2), expression=num(bits)))
                 for base, bits in _PRIVATE_V4]  # fmt: skip
        return exp.Paren(this=exp.Or(this=exp.Or(this=tests[0], expression=tests[1]), expression=tests[2]))

    return _with_v4(ctx, call, args, [0], body)


# ---------------------------------------------------------------------------- any range


def _any_range(ctx: LowerContext, call: BCall, args: Args, match: Callable[[Args], Sql]) -> Sql:
    """``ip`` in any of the ranges: string arguments, or one dynamic array of strings."""
    d = ctx.dialect
    ranges = call.args[1:]
    if len(ranges) == 1 and ranges[0].type in (_T.DYNAMIC, _T.UNKNOWN):
        if is_const(ranges[0]):
            values = const(ranges[0]) if isinstance(const(ranges[0]), list) else []
            texts = [lit(v) for v in values if isinstance(v, str)]
            return _any_of(ctx, [match([args[0], t]) for t in texts])
        element = d.json_text(exp.column("_wk_r"))
        hits = d.call("list_filter", d.json_elements(args[1]), lam(exp.EQ(this=match([args[0], element]),
                                                                        expression=exp.true()), "_wk_r"))  # fmt: skip
        return exp.GT(this=d.list_length(hits), expression=num(0))
    return _any_of(ctx, [match([args[0], r]) for r in args[1:]])


def _any_of(ctx: LowerContext, tests: list[Sql]) -> Sql:
    if not tests:
        return exp.false()
    result: Sql = exp.Coalesce(this=tests[0], expressions=[exp.false()])
    for test in tests[1:]:
        result = exp.Or(this=result, expression=exp.Coalesce(this=test, expressions=[exp.false()]))
    return exp.Paren(this=result)


def _fold_any(match: Callable[[str, str], bool | None]) -> Any:
    def fold(ip: str, *ranges: Any) -> bool | None:
        flat = ranges[0] if len(ranges) == 1 and isinstance(ranges[0], list) else list(ranges)
        return any(match(ip, r) for r in flat if isinstance(r, str))

    return fold


@scalar("ipv4_is_in_any_range", args=(2, None), returns=_B, params=[_S, None],
        fold=_fold_any(_fold_match_v4))  # fmt: skip
def _ipv4_is_in_any_range(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    def match(pair: Args) -> Sql:
        fake = BCall(_B, call.fn, (call.args[0], _string_arg()))
        return exp.EQ(this=_compare_v4(ctx, fake, pair), expression=num(0))

    return _any_range(ctx, call, args, match)


def _string_arg() -> Any:
    from watchkeeper.kql.plan import BExpr

    return BExpr(_S)


# ---------------------------------------------------------------------------- ranges as CIDR blocks


def _fold_cidr_list(start: str, end: str) -> list[str] | None:
    """The fewest CIDR blocks covering the addresses from ``start`` to ``end``."""
    first, last = fold_ipv4(start), fold_ipv4(end)
    if first is None or last is None:
        return None
    current, stop, blocks = first[0], last[0], []
    while current <= stop:
        bits = max(k for k in range(33) if current % (1 << k) == 0 and current + (1 << k) - 1 <= stop)
        blocks.append(f"{_text_v4(current)}/{32 - bits}")
        current += 1 << bits
    return blocks


@scalar("ipv4_range_to_cidr_list", args=2, returns=_T.DYNAMIC, params=[_S, _S], fold=_fold_cidr_list)
def _ipv4_range_to_cidr_list(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """``ipv4_range_to_cidr_list("10.0.0.0", "10.0.0.13")`` is ``["10.0.0.0/29", "10.0.0.8/30", "10.0.0.12/31"]``:
    a ``list_reduce`` of at most 64 steps, each taking the largest aligned block that fits."""
    d = ctx.dialect

    def body(first: Sql, last: Sql) -> Sql:
        stop = _at(ctx, last, 1)
        state, k = exp.column("_wk_s"), exp.column("_wk_k")
        current, blocks = d.call("struct_extract", state, num(1)), d.call("struct_extract", state, num(2))
        fits = exp.And(this=exp.EQ(this=exp.Mod(this=exp.Paren(this=current), expression=_pow2(ctx, k)), expression=num(0)),
                       expression=exp.LTE(this=sub(add(current, _pow2(ctx, k)), num(1)), expression=stop))  # fmt: skip
        bits = d.call("list_max", d.call("list_filter", d.call("range", num(33)), lam(fits, "_wk_k")))

        def advance(b: Sql) -> Sql:
            block = or_empty(
                exp.Concat(expressions=[_dotted(ctx, current), lit("/"), d.cast(sub(num(32), b), _S)])
            )
            return d.call(
                "row", d.cast(add(current, _pow2(ctx, b)), _L), d.call("list_append", blocks, block)
            )

        step = exp.If(
            this=exp.GT(this=current, expression=stop), true=state, false=bind_value(d, bits, advance)
        )
        initial = d.call("row", d.cast(_at(ctx, first, 1), _L), d.call("empty_strings"))
        final = d.call("list_reduce", d.call("range", num(64)), lam(step, "_wk_s", "_wk_i"), initial)
        return d.list_to_json(d.call("struct_extract", final, num(2)))

    return _with_v4(ctx, call, args, [0, 1], body)
