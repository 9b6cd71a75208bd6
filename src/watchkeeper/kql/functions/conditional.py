"""Conditional and null functions: ``iff``, ``case``, ``coalesce``, ``isempty``, ``isnull``,
``max_of``/``min_of``, ``not``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.conversions import json_ready
from watchkeeper.kql.functions.operators import unify
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import lit
from watchkeeper.kql.plan import BCall, BExpr, BLiteral
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType


def _branches(args: Sequence[BExpr]) -> KqlType:
    return unify([a.type for a in args[1::2]] + [args[-1].type])


@scalar(["iff", "iif"], args=3, returns=lambda a: unify([a[1].type, a[2].type]), params=[_T.BOOL, None, None])
def _iff(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    result_type = call.type
    then, other = (_cast_branch(ctx, a, b, result_type) for a, b in zip(call.args[1:], args[1:], strict=True))
    return exp.If(this=args[0], true=then, false=other)


def _cast_branch(ctx: LowerContext, arg: BExpr, lowered: exp.Expression, target: KqlType) -> exp.Expression:
    if arg.type is target or target is _T.UNKNOWN or arg.type is _T.UNKNOWN:
        return lowered
    if target is _T.REAL and arg.type.is_numeric:
        return ctx.dialect.cast(lowered, _T.REAL)
    if target is _T.DYNAMIC:  # a typed branch of a dynamic result becomes a JSON value
        return ctx.dialect.to_json(json_ready(ctx.dialect, lowered, arg.type))
    return lowered


def _check_case(binder: Any, args: list[BExpr], node: Any) -> None:
    if len(args) % 2 == 0:
        raise binder.error("case() takes condition/value pairs and a final else value", node)


@scalar("case", args=(3, None), returns=_branches, check=_check_case)
def _case(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    target = call.type
    ifs = [
        exp.If(this=cond, true=_cast_branch(ctx, call.args[i + 1], args[i + 1], target))
        for i, cond in zip(range(0, len(args) - 1, 2), args[:-1:2], strict=True)
    ]
    return exp.Case(ifs=ifs, default=_cast_branch(ctx, call.args[-1], args[-1], target))


def _fold_coalesce(args: list[BLiteral]) -> Any:
    for arg in args:
        if arg.value is not None and not (arg.type is _T.STRING and arg.value == ""):
            return arg.value
    return "" if any(a.type is _T.STRING for a in args) else None


@scalar("coalesce", args=(1, 64), returns=lambda a: unify([x.type for x in a]), fold_args=_fold_coalesce)
def _coalesce(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The first value that is not null; Kusto skips empty strings too (and JSON nulls)."""
    d = ctx.dialect
    if call.type is _T.STRING:
        return exp.Coalesce(this=d.call("nullif", args[0], lit("")),
                            expressions=[d.call("nullif", a, lit("")) for a in args[1:]] + [lit("")])  # fmt: skip
    values = [_present(d, a, arg.type) for a, arg in zip(args, call.args, strict=True)]
    values = [_cast_branch(ctx, arg, v, call.type) for arg, v in zip(call.args, values, strict=True)]
    return exp.Coalesce(this=values[0], expressions=values[1:]) if len(values) > 1 else values[0]


def _present(d: Dialect, value: exp.Expression, kql_type: KqlType) -> exp.Expression:
    if kql_type is not _T.DYNAMIC:
        return value
    is_null = exp.EQ(this=d.json_type(value), expression=lit("NULL"))
    return exp.If(this=is_null, true=exp.Null(), false=value.copy())


@scalar("isempty", args=1, returns=_T.BOOL, fold=lambda v: v is None or v == "")
def _isempty(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if call.args[0].type is _T.STRING:
        return exp.EQ(this=exp.Coalesce(this=args[0], expressions=[lit("")]), expression=lit(""))
    if call.args[0].type in (_T.DYNAMIC, _T.UNKNOWN):
        text = ctx.dialect.cast(args[0], _T.STRING)
        return exp.Or(this=exp.Is(this=args[0], expression=exp.Null()),
                      expression=exp.In(this=text, expressions=[lit(""), lit('""'), lit("null")]))  # fmt: skip
    return exp.Is(this=args[0], expression=exp.Null())


@scalar(["isnotempty", "notempty"], args=1, returns=_T.BOOL, fold=lambda v: not (v is None or v == ""))
def _isnotempty(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if call.args[0].type is _T.STRING:
        return exp.NEQ(this=exp.Coalesce(this=args[0], expressions=[lit("")]), expression=lit(""))
    return exp.Not(this=exp.Paren(this=_isempty(ctx, call, args)))


@scalar("isnull", args=1, returns=_T.BOOL, fold=lambda v: v is None)
def _isnull(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if call.args[0].type is _T.STRING:
        return exp.false()  # Kusto strings are never null
    if call.args[0].type is _T.DYNAMIC:
        return exp.Or(this=exp.Is(this=args[0], expression=exp.Null()),
                      expression=exp.EQ(this=ctx.dialect.cast(args[0], _T.STRING), expression=lit("null")))  # fmt: skip
    return exp.Is(this=args[0], expression=exp.Null())


@scalar(["isnotnull", "notnull"], args=1, returns=_T.BOOL, fold=lambda v: v is not None)
def _isnotnull(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Not(this=exp.Paren(this=_isnull(ctx, call, args)))


def _fold_extreme(pick: Any) -> Any:
    def fold(*values: Any) -> Any:
        present = [v for v in values if v is not None]
        return pick(present) if present else None

    return fold


def _extreme(name: str, sql: str, pick: Any) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        # Kusto ignores nulls (null only when all are); greatest/least do so on both engines
        values = [_cast_branch(ctx, arg, a, call.type) for arg, a in zip(call.args, args, strict=True)]
        return ctx.dialect.call(sql, *values)

    scalar(name, args=(2, 64), returns=lambda a: unify([x.type for x in a]), fold=_fold_extreme(pick))(lower)


_extreme("max_of", "greatest", max)
_extreme("min_of", "least", min)


@scalar("not", args=1, returns=_T.BOOL, params=[_T.BOOL], fold=lambda v: None if v is None else not v)
def _not(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Not(this=exp.Paren(this=args[0]))
