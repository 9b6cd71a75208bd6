"""Conditional and null functions: ``iff``, ``case``, ``coalesce``, ``isempty``, ``isnull``,
``max_of``/``min_of``, ``not``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.operators import unify
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import lit
from watchkeeper.kql.plan import BCall, BExpr
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


@scalar("coalesce", args=(1, None), returns=lambda a: unify([x.type for x in a]))
def _coalesce(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if call.type is _T.STRING:
        # Kusto's coalesce skips empty strings as well as nulls
        return exp.Coalesce(this=ctx.dialect.call("nullif", args[0], lit("")),
                            expressions=[ctx.dialect.call("nullif", a, lit("")) for a in args[1:]] + [lit("")])  # fmt: skip
    return exp.Coalesce(this=args[0], expressions=args[1:])


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


def _extreme(name: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        # Kusto ignores nulls; SQL greatest/least do too in DuckDB, so nulls only win when all are null
        return ctx.dialect.call("greatest" if name == "max_of" else "least", *args)

    scalar(name, args=(1, None), returns=lambda a: unify([x.type for x in a]))(lower)


_extreme("max_of")
_extreme("min_of")


@scalar("not", args=1, returns=_T.BOOL, params=[_T.BOOL], fold=lambda v: None if v is None else not v)
def _not(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Not(this=exp.Paren(this=args[0]))
