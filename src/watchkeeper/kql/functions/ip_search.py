"""Searching text for IPv4 addresses: ``has_ipv4``, ``has_ipv4_prefix`` and their ``has_any_`` forms.

An address counts only as a whole term: the characters around it must not be letters or digits
(``05:04:54127.0.0.1`` does not contain ``127.0.0.1``), and an address or prefix that is not valid
IPv4 is never found. Constant addresses compile to one regular expression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.ip import fold_ipv4
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import (
    bind_value,
    const,
    is_const,
    lam,
    lit,
    num,
    or_empty,
    re2_escape,
)
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_S = _T.STRING
_B = _T.BOOL
Args = list[exp.Expression]
Sql = exp.Expression

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LEAD = "(?:^|[^0-9A-Za-z])"
_TRAIL = "(?:[^0-9A-Za-z]|$)"
_FULL = r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"
_PREFIX = r"^(?:\d{1,3}\.){1,3}$"


def _address_pattern(ip: Any) -> str | None:
    """The regex body finding ``ip`` (None when it is not an IPv4 address)."""
    if not isinstance(ip, str) or "/" in ip or fold_ipv4(ip) is None:
        return None
    return re2_escape(ip)


def _prefix_pattern(prefix: Any) -> str | None:
    """The regex body finding addresses starting with ``prefix``: a whole address or octets ending in '.'."""
    if not isinstance(prefix, str):
        return None
    if not prefix.endswith("."):
        return _address_pattern(prefix)
    octets = prefix[:-1].split(".")
    if not 1 <= len(octets) <= 3 or not all(o.isdigit() and len(o) <= 3 and int(o) <= 255 for o in octets):
        return None
    return re2_escape(prefix) + "\\.".join([_OCTET] * (4 - len(octets)))


def _fold_has(pattern_of: Callable[[Any], str | None]) -> Any:
    import re

    def fold(source: str, *wanted: Any) -> bool:
        flat = wanted[0] if len(wanted) == 1 and isinstance(wanted[0], list) else list(wanted)
        bodies = [b for b in (pattern_of(w) for w in flat) if b is not None]
        return bool(bodies) and re.search(f"{_LEAD}(?:{'|'.join(bodies)}){_TRAIL}", source) is not None

    return fold


def _search(ctx: LowerContext, source: Sql, bodies: list[str]) -> Sql:
    if not bodies:
        return exp.false()
    return ctx.dialect.regex_match(source, lit(f"{_LEAD}(?:{'|'.join(bodies)}){_TRAIL}"))


def _address_sql(ctx: LowerContext, ip: Sql) -> Sql:
    """The regex body of a run-time address ('' when not valid: the caller then answers false)."""
    d = ctx.dialect
    valid = d.regex_match(ip, lit(_FULL))
    octets_ok = _octets_ok(ctx, ip)
    escaped = d.call("replace", ip, lit("."), lit("\\."))
    return exp.If(this=exp.And(this=valid, expression=octets_ok), true=escaped, false=lit(""))


def _octets_ok(ctx: LowerContext, text: Sql) -> Sql:
    """Every dot-separated number of ``text`` is at most 255 (empty pieces are allowed)."""
    d = ctx.dialect
    piece = exp.column("_wk_o")
    too_big = exp.GT(this=d.try_cast(exp.Coalesce(this=d.call("nullif", piece, lit("")), expressions=[lit("0")]), _T.LONG),
                     expression=num(255))  # fmt: skip
    return exp.EQ(this=d.list_length(d.call("list_filter", d.split(text, lit(".")), lam(too_big, "_wk_o"))),
                  expression=num(0))  # fmt: skip


def _prefix_sql(ctx: LowerContext, prefix: Sql) -> Sql:
    d = ctx.dialect
    dots = exp.Sub(
        this=d.call("length", prefix),
        expression=d.call("length", d.call("replace", prefix, lit("."), lit(""))),
    )
    rests = [exp.If(this=exp.EQ(this=dots, expression=num(n)), true=lit("\\.".join([_OCTET] * (4 - n))))
             for n in (1, 2, 3)]  # fmt: skip
    escaped = d.call("replace", prefix, lit("."), lit("\\."))
    partial = exp.If(this=exp.And(this=d.regex_match(prefix, lit(_PREFIX)), expression=_octets_ok(ctx, prefix)),
                     true=exp.Concat(expressions=[escaped, exp.Case(ifs=rests, default=lit(""))]), false=lit(""))  # fmt: skip
    return exp.If(this=d.regex_match(prefix, lit(_FULL)), true=_address_sql(ctx, prefix), false=partial)


def _search_sql(ctx: LowerContext, source: Sql, body: Sql) -> Sql:
    d = ctx.dialect
    return bind_value(d, body, lambda b: exp.And(
        this=exp.NEQ(this=b, expression=lit("")),
        expression=d.regex_match(source, exp.Concat(expressions=[lit(_LEAD + "(?:"), b, lit(")" + _TRAIL)]))))  # fmt: skip


def _has_any(ctx: LowerContext, call: BCall, args: Args, pattern_of: Callable[[Any], str | None],
             body_sql: Callable[[LowerContext, Sql], Sql]) -> Sql:  # fmt: skip
    """The source contains one of the wanted addresses (string arguments or one dynamic array)."""
    d = ctx.dialect
    source = or_empty(args[0])
    wanted = call.args[1:]
    if all(is_const(w) for w in wanted):
        values = [const(w) for w in wanted]
        flat = values[0] if len(values) == 1 and isinstance(values[0], list) else values
        return _search(ctx, source, [b for b in (pattern_of(v) for v in flat) if b is not None])
    if len(wanted) == 1 and wanted[0].type in (_T.DYNAMIC, _T.UNKNOWN):
        element = d.json_text(exp.column("_wk_a"))
        hits = d.call("list_filter", d.json_elements(args[1]),
                      lam(exp.Coalesce(this=_search_sql(ctx, source, body_sql(ctx, element)),
                                       expressions=[exp.false()]), "_wk_a"))  # fmt: skip
        return exp.GT(this=d.list_length(hits), expression=num(0))
    tests = [exp.Coalesce(this=_search_sql(ctx, source, body_sql(ctx, or_empty(a))), expressions=[exp.false()])
             for a in args[1:]]  # fmt: skip
    result: Sql = tests[0]
    for test in tests[1:]:
        result = exp.Or(this=result, expression=test)
    return exp.Paren(this=result)


@scalar("has_ipv4", args=2, returns=_B, params=[_S, _S], fold=_fold_has(_address_pattern))
def _has_ipv4(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """``has_ipv4(source, ip)``: the valid IPv4 address ``ip`` appears in ``source`` as a term."""
    return _has_any(ctx, call, args, _address_pattern, _address_sql)


@scalar("has_any_ipv4", args=(2, None), returns=_B, params=[_S, None], fold=_fold_has(_address_pattern))
def _has_any_ipv4(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    return _has_any(ctx, call, args, _address_pattern, _address_sql)


@scalar("has_ipv4_prefix", args=2, returns=_B, params=[_S, _S], fold=_fold_has(_prefix_pattern))
def _has_ipv4_prefix(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    """A prefix is a whole address or 1-3 octets ending with '.' (``127.0.`` but not ``127.0``)."""
    return _has_any(ctx, call, args, _prefix_pattern, _prefix_sql)


@scalar("has_any_ipv4_prefix", args=(2, None), returns=_B, params=[_S, None], fold=_fold_has(_prefix_pattern))
def _has_any_ipv4_prefix(ctx: LowerContext, call: BCall, args: Args) -> Sql:
    return _has_any(ctx, call, args, _prefix_pattern, _prefix_sql)
