"""Math functions: rounding, logarithms, powers, trigonometry, ``isnan``/``isinf``, ``rand``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import num
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__: list[str] = []

_T = KqlType
_R = _T.REAL


def _kusto_round(value: float, digits: int = 0) -> float:
    """Round half away from zero, as Kusto does."""
    factor = 10.0**digits
    return math.copysign(math.floor(abs(value) * factor + 0.5) / factor, value)


@scalar("abs", args=1, returns=lambda a: a[0].type, fold=abs)
def _abs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Abs(this=args[0])


@scalar("round", args=(1, 2), returns=lambda a: a[0].type if a[0].type is not _T.INT else _T.LONG,
        params=[None, _T.LONG], fold=_kusto_round)  # fmt: skip
def _round(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("round", args[0], args[1] if len(args) > 1 else num(0))


@scalar("ceiling", args=1, returns=lambda a: a[0].type, fold=math.ceil)
def _ceiling(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("ceil", args[0])


def _unary_real(names: list[str], sql: str, fold: Callable[[float], float]) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return ctx.dialect.call(sql, ctx.dialect.cast(args[0], _R))

    def safe(value: Any) -> Any:
        if value is None:
            return None
        try:
            return fold(float(value))
        except (ValueError, OverflowError):
            return float("nan")

    scalar(names, args=1, returns=_R, fold=safe)(lower)


for _names, _sql, _fold in (
    (["log"], "ln", math.log), (["log10"], "log10", math.log10), (["log2"], "log2", math.log2),
    (["exp"], "exp", math.exp), (["sqrt"], "sqrt", math.sqrt), (["sin"], "sin", math.sin),
    (["cos"], "cos", math.cos), (["tan"], "tan", math.tan), (["asin"], "asin", math.asin),
    (["acos"], "acos", math.acos), (["atan"], "atan", math.atan), (["degrees"], "degrees", math.degrees),
    (["radians"], "radians", math.radians), (["gamma"], "gamma", math.gamma),
    (["loggamma"], "lgamma", math.lgamma),
):  # fmt: skip
    _unary_real(_names, _sql, _fold)


@scalar("cot", args=1, returns=_R, fold=lambda v: 1 / math.tan(v))
def _cot(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("cot", ctx.dialect.cast(args[0], _R))


@scalar("exp2", args=1, returns=_R, fold=lambda v: 2.0**v)
def _exp2(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("pow", num(2.0), ctx.dialect.cast(args[0], _R))


@scalar("exp10", args=1, returns=_R, fold=lambda v: 10.0**v)
def _exp10(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("pow", num(10.0), ctx.dialect.cast(args[0], _R))


@scalar(["pow", "power"], args=2, returns=_R, fold=lambda a, b: float(a) ** b)
def _pow(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("pow", ctx.dialect.cast(args[0], _R), ctx.dialect.cast(args[1], _R))


@scalar("atan2", args=2, returns=_R, fold=math.atan2)
def _atan2(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("atan2", ctx.dialect.cast(args[0], _R), ctx.dialect.cast(args[1], _R))


@scalar("sign", args=1, returns=lambda a: a[0].type, fold=lambda v: (v > 0) - (v < 0))
def _sign(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("sign", args[0])


@scalar("pi", args=0, returns=_R, fold=lambda: math.pi)
def _pi(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("pi")


@scalar("isnan", args=1, returns=_T.BOOL, fold=lambda v: v is not None and math.isnan(v))
def _isnan(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("isnan", ctx.dialect.cast(args[0], _R))


@scalar("isinf", args=1, returns=_T.BOOL, fold=lambda v: v is not None and math.isinf(v))
def _isinf(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("isinf", ctx.dialect.cast(args[0], _R))


@scalar("isfinite", args=1, returns=_T.BOOL, fold=lambda v: v is not None and math.isfinite(v))
def _isfinite(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.call("isfinite", ctx.dialect.cast(args[0], _R))


@scalar("rand", args=(0, 1), returns=lambda a: _T.LONG if a else _R, deterministic=False)
def _rand(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    r = ctx.dialect.call("random")
    if args:
        return ctx.dialect.cast(exp.Floor(this=exp.Mul(this=r, expression=args[0])), _T.LONG)
    return r


