"""Math functions: rounding, logarithms and powers, trigonometry, ``isnan``/``isinf``, ``rand``,
gamma, the error function, the beta distribution and bitwise operations.

Each ``fold`` is the Python reference: IEEE results where Kusto gives them (``log(0)`` is -inf,
``sqrt(-1)`` NaN, never an error). ``round`` rounds half away from zero and takes negative digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.listsql import ListSql
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, div, mod, mul, num, sub
from watchkeeper.kql.plan import BCall, BExpr
from watchkeeper.schema.types import KqlType

__all__ = ["beta_cdf", "beta_inv", "beta_pdf", "erf", "erfc", "kusto_round"]

_T = KqlType
_R = _T.REAL
_L = _T.LONG


def _same_type(args: list[BExpr]) -> KqlType:
    t = args[0].type
    return _L if t in (_T.INT, _T.BOOL) else t if t.is_numeric else _R


def _real(d: Dialect, call: BCall, index: int, lowered: exp.Expression) -> exp.Expression:
    return d.cast(lowered, _R) if call.args[index].type is not _R else lowered


def _ieee(fn: Callable[..., float]) -> Callable[..., Any]:
    """A fold that answers like the engines: null in, null out; domain errors give NaN."""

    def fold(*values: Any) -> Any:
        if any(v is None for v in values):
            return None
        try:
            return fn(*(float(v) for v in values))
        except (ValueError, ZeroDivisionError):
            return math.nan

    return fold


# ------------------------------------------------------------------------- rounding


def kusto_round(value: float, digits: int = 0) -> float:
    """Round half away from zero to ``digits`` decimals (negative: tens, hundreds...)."""
    scale = 10.0**digits
    return math.copysign(math.floor(abs(value) * scale + 0.5) / scale, value)


def _fold_round(value: Any, digits: Any = 0) -> Any:
    if value is None or digits is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if digits >= 0 else int(kusto_round(float(value), int(digits)))
    return kusto_round(float(value), int(digits))


@scalar("round", args=(1, 2), returns=_same_type, params=[None, _L], fold=_fold_round)
def _round(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    scale = d.call("pow", num(10.0), d.cast(args[1], _R)) if len(args) > 1 else num(1.0)
    value = _real(d, call, 0, args[0])
    magnitude = div(exp.Floor(this=add(mul(exp.Abs(this=value), scale), num(0.5))), scale.copy())
    rounded = mul(d.cast(d.call("sign", value.copy()), _R), magnitude)
    return d.cast(rounded, call.type) if call.type is not _R else rounded


def _fold_ceiling(value: Any) -> Any:
    if value is None:
        return None
    return value if isinstance(value, int) else float(math.ceil(value)) if math.isfinite(value) else value


@scalar("ceiling", args=1, returns=_same_type, fold=_fold_ceiling)
def _ceiling(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    if call.args[0].type.is_integer:
        return ctx.dialect.cast(args[0], call.type)
    return exp.Ceil(this=args[0])


@scalar("abs", args=1, returns=_same_type, fold=lambda v: None if v is None else abs(v))
def _abs(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return exp.Abs(this=args[0])


def _fold_sign(value: Any) -> Any:
    if value is None:
        return None
    result = (value > 0) - (value < 0)
    return float(result) if isinstance(value, float) else result


@scalar("sign", args=1, returns=_same_type, fold=_fold_sign)
def _sign(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.cast(ctx.dialect.call("sign", args[0]), call.type)


# ------------------------------------------------------------------------- one-argument reals


def _log(fn: Callable[[float], float]) -> Callable[[float], float]:
    def log(x: float) -> float:
        if x == 0:
            return -math.inf
        return math.nan if x < 0 or math.isnan(x) else fn(x)

    return log


def _unary(names: list[str], sql: str, fold: Callable[[float], float]) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return ctx.dialect.call(sql, _real(ctx.dialect, call, 0, args[0]))

    scalar(names, args=1, returns=_R, params=[_R], fold=_ieee(fold))(lower)


for _names, _sql, _fold in (
    (["log"], "ln", _log(math.log)), (["log10"], "log10", _log(math.log10)), (["log2"], "log2", _log(math.log2)),
    (["exp"], "exp", math.exp),
    (["sqrt"], "sqrt", lambda x: math.sqrt(x) if x >= 0 else math.nan), (["sin"], "sin", math.sin),
    (["cos"], "cos", math.cos), (["tan"], "tan", math.tan), (["asin"], "asin", math.asin),
    (["acos"], "acos", math.acos), (["atan"], "atan", math.atan), (["degrees"], "degrees", math.degrees),
    (["radians"], "radians", math.radians), (["gamma"], "gamma", math.gamma),
    (["loggamma"], "lgamma", math.lgamma),
):  # fmt: skip
    _unary(_names, _sql, _fold)


def _power_of(base: float) -> Callable[[LowerContext, BCall, list[exp.Expression]], exp.Expression]:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return ctx.dialect.call("pow", num(base), _real(ctx.dialect, call, 0, args[0]))

    return lower


scalar("exp2", args=1, returns=_R, fold=_ieee(lambda v: 2.0**v))(_power_of(2.0))
scalar("exp10", args=1, returns=_R, fold=_ieee(lambda v: 10.0**v))(_power_of(10.0))


@scalar(
    "cot", args=1, returns=_R, fold=_ieee(lambda v: math.cos(v) / math.sin(v) if math.sin(v) else math.inf)
)
def _cot(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return div(num(1.0), ctx.dialect.call("tan", _real(ctx.dialect, call, 0, args[0])))


@scalar(["pow", "power"], args=2, returns=_R, fold=_ieee(math.pow))
def _pow(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    return d.call("pow", _real(d, call, 0, args[0]), _real(d, call, 1, args[1]))


@scalar("atan2", args=2, returns=_R, fold=_ieee(math.atan2))
def _atan2(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    return d.call("atan2", _real(d, call, 0, args[0]), _real(d, call, 1, args[1]))


@scalar("pi", args=0, returns=_R, fold=lambda: math.pi)
def _pi(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return num(math.pi)


def _predicate(name: str, fold: Callable[[float], bool]) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return ctx.dialect.call(name, _real(ctx.dialect, call, 0, args[0]))

    scalar(name, args=1, returns=_T.BOOL, fold=lambda v: None if v is None else fold(float(v)))(lower)


_predicate("isnan", math.isnan)
_predicate("isinf", math.isinf)
_predicate("isfinite", math.isfinite)


@scalar("rand", args=(0, 1), returns=lambda a: _L if a else _R, deterministic=False)
def _rand(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """``rand()`` is a real in [0, 1); ``rand(N)`` a long in [0, N - 1]."""
    r = ctx.dialect.call("uniform_random")
    if args:
        return ctx.dialect.cast(exp.Floor(this=mul(r, ctx.dialect.cast(args[0], _R))), _L)
    return r


# ------------------------------------------------------------------------- error function

# Numerical Recipes' erfc (fractional error below 1.2e-7 everywhere) and a Taylor series near 0,
# where 1 - erfc would lose erf's relative precision. Both engines compute the same formula.
_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
         -0.82215223, 0.17087277)  # fmt: skip
_TAYLOR = tuple((-1) ** n / (math.factorial(n) * (2 * n + 1)) * 2 / math.sqrt(math.pi) for n in range(10))


def erfc(x: float) -> float:
    """The complementary error function, computed as the SQL computes it."""
    if abs(x) < 0.5:
        return 1.0 - erf(x)
    z = abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = 0.0
    for c in reversed(_ERFC[1:]):
        poly = c + t * poly
    ans = t * math.exp(-z * z + _ERFC[0] + t * poly)
    return ans if x >= 0 else 2.0 - ans


def erf(x: float) -> float:
    """The error function, computed as the SQL computes it."""
    if abs(x) < 0.5:
        return float(x * sum(c * x ** (2 * n) for n, c in enumerate(_TAYLOR)))
    return 1.0 - erfc(x)


def _horner(coefficients: tuple[float, ...], x: exp.Expression) -> exp.Expression:
    result: exp.Expression = num(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result = add(num(c), mul(x.copy(), result))
    return result


def _erfc_sql(d: Dialect, x: exp.Expression) -> exp.Expression:
    z = exp.Abs(this=x)
    t = div(num(1.0), add(num(1.0), mul(num(0.5), z)))
    exponent = add(sub(num(_ERFC[0]), mul(z.copy(), z.copy())), mul(t, _horner(_ERFC[1:], t.copy())))
    ans = mul(t.copy(), d.call("exp", exponent))
    tail = exp.If(this=exp.GTE(this=x.copy(), expression=num(0)), true=ans, false=sub(num(2.0), ans.copy()))
    small = sub(num(1.0), _erf_taylor(x.copy()))
    return exp.If(this=exp.LT(this=exp.Abs(this=x.copy()), expression=num(0.5)), true=small, false=tail)


def _erf_taylor(x: exp.Expression) -> exp.Expression:
    return mul(x, _horner(_TAYLOR, mul(x.copy(), x.copy())))


@scalar("erf", args=1, returns=_R, params=[_R], fold=_ieee(erf))
def _erf(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    x = _real(ctx.dialect, call, 0, args[0])
    near = exp.LT(this=exp.Abs(this=x), expression=num(0.5))
    return exp.If(
        this=near, true=_erf_taylor(x.copy()), false=sub(num(1.0), _erfc_sql(ctx.dialect, x.copy()))
    )


@scalar("erfc", args=1, returns=_R, params=[_R], fold=_ieee(erfc))
def _erfc(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _erfc_sql(ctx.dialect, _real(ctx.dialect, call, 0, args[0]))


# ------------------------------------------------------------------------- bitwise


def _bitwise(name: str, arity: int, fold: Callable[..., int]) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        d = ctx.dialect
        return d.call(name, *[d.cast(a, _L) for a in args])

    def folded(*values: Any) -> Any:
        return None if any(v is None for v in values) else _wrap64(fold(*(int(v) for v in values)))

    scalar(name, args=arity, returns=_L, params=[_L] * arity, fold=folded)(lower)


def _wrap64(value: int) -> int:
    return (value + 2**63) % 2**64 - 2**63


_bitwise("binary_and", 2, lambda a, b: a & b)
_bitwise("binary_or", 2, lambda a, b: a | b)
_bitwise("binary_xor", 2, lambda a, b: a ^ b)
_bitwise("binary_not", 1, lambda a: ~a)


def _shift(name: str, fold: Callable[[int, int], int]) -> None:
    """Kusto's shifts: ``value << (shift % 64)`` (arithmetic ``>>``); a negative shift gives null."""

    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        d = ctx.dialect
        value, bits = d.cast(args[0], _L), d.cast(args[1], _L)
        shifted = d.call(name, value, mod(exp.Greatest(this=bits.copy(), expressions=[num(0)]), num(64)))
        return exp.If(this=exp.LT(this=bits, expression=num(0)), true=d.null(_L), false=shifted)

    def folded(value: Any, bits: Any) -> Any:
        if value is None or bits is None or int(bits) < 0:
            return None
        return _wrap64(fold(int(value), int(bits) % 64))

    scalar(name, args=2, returns=_L, params=[_L, _L], fold=folded)(lower)


_shift("binary_shift_left", lambda a, n: a << n)
_shift("binary_shift_right", lambda a, n: a >> n)


@scalar("bitset_count_ones", args=1, returns=_L, params=[_L],
        fold=lambda v: None if v is None else bin(int(v) & (2**64 - 1)).count("1"))  # fmt: skip
def _bitset_count_ones(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.cast(ctx.dialect.call("bit_count", ctx.dialect.cast(args[0], _L)), _L)


# ------------------------------------------------------------------------- the beta distribution

# The regularized incomplete beta function by its continued fraction (Numerical Recipes' form),
# evaluated backwards from a fixed depth: enough for Kusto's parameter range (alpha, beta <= 10000).
_BETA_TERMS = 400
_BISECTIONS = 64


def _beta_d(k: int, x: float, a: float, b: float) -> float:
    m = k // 2
    if k % 2:
        return -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
    return m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))


def _beta_fraction(x: float, a: float, b: float) -> float:
    v = 1.0
    for k in range(_BETA_TERMS, 0, -1):
        v = 1.0 + _beta_d(k, x, a, b) / v
    front = math.exp(
        a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    )
    return front / a / v


def _beta_valid(a: float, b: float) -> bool:
    return 0 < a <= 10000 and 0 < b <= 10000


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(alpha, beta); NaN outside Kusto's domain."""
    if not (0 <= x <= 1 and _beta_valid(a, b)):
        return math.nan
    if x in (0.0, 1.0):
        return x
    if x < (a + 1) / (a + b + 2):
        return _beta_fraction(x, a, b)
    return 1.0 - _beta_fraction(1.0 - x, b, a)


def beta_inv(p: float, a: float, b: float) -> float:
    """The x with beta_cdf(x, alpha, beta) == p, by bisection (as the SQL does it)."""
    if not (0 <= p <= 1 and _beta_valid(a, b)):
        return math.nan
    low, high = 0.0, 1.0
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2
        low, high = (mid, high) if beta_cdf(mid, a, b) < p else (low, mid)
    return (low + high) / 2


def beta_pdf(x: float, a: float, b: float) -> float:
    """The beta probability density."""
    if not (0 <= x <= 1 and _beta_valid(a, b)):
        return math.nan
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    with_x = (a - 1) * math.log(x) if x > 0 else (0.0 if a == 1 else math.copysign(math.inf, 1 - a))
    with_1x = (b - 1) * math.log1p(-x) if x < 1 else (0.0 if b == 1 else math.copysign(math.inf, 1 - b))
    return math.exp(with_x + with_1x + log_norm)


class _BetaSql:
    """SQL for the beta functions of one call (its lambdas get fresh names)."""

    def __init__(self, ctx: LowerContext, args: list[exp.Expression]) -> None:
        self.d = ctx.dialect
        self.ls = ListSql(ctx, args)

    def lgamma(self, value: exp.Expression) -> exp.Expression:
        return self.d.call("lgamma", value)

    def fraction(self, x: exp.Expression, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        d = self.d

        def step(acc: exp.Expression, k: exp.Expression) -> exp.Expression:
            kk = sub(num(_BETA_TERMS + 1), k)
            m = d.cast(d.int_div(kk, num(2)), _R)
            odd = div(mul(mul(exp.Neg(this=exp.Paren(this=add(a.copy(), m))), add(add(a.copy(), b.copy()), m.copy())),
                          x.copy()), mul(add(a.copy(), mul(num(2), m.copy())), add(add(a.copy(), mul(num(2), m.copy())),
                          num(1))))  # fmt: skip
            even = div(mul(mul(m.copy(), sub(b.copy(), m.copy())), x.copy()),
                       mul(sub(add(a.copy(), mul(num(2), m.copy())), num(1)), add(a.copy(), mul(num(2), m.copy()))))  # fmt: skip
            is_odd = exp.EQ(this=mod_(kk.copy(), 2), expression=num(1))
            return add(num(1.0), div(exp.If(this=is_odd, true=odd, false=even), acc))

        v = self.ls.fold(d.call("range", num(1), num(_BETA_TERMS + 1)), d.cast(num(1.0), _R), step)
        logs = add(
            mul(a.copy(), d.call("ln", x.copy())), mul(b.copy(), d.call("ln", sub(num(1.0), x.copy())))
        )
        norm = sub(sub(self.lgamma(add(a.copy(), b.copy())), self.lgamma(a.copy())), self.lgamma(b.copy()))
        return div(div(d.call("exp", add(logs, norm)), a.copy()), v)

    def cdf(self, x: exp.Expression, a: exp.Expression, b: exp.Expression) -> exp.Expression:
        lower_half = exp.LT(
            this=x.copy(), expression=div(add(a.copy(), num(1)), add(add(a.copy(), b.copy()), num(2)))
        )
        upper = sub(num(1.0), self.fraction(sub(num(1.0), x.copy()), b.copy(), a.copy()))
        body = exp.If(this=lower_half, true=self.fraction(x.copy(), a.copy(), b.copy()), false=upper)
        edge = exp.Or(
            this=exp.EQ(this=x.copy(), expression=num(0)), expression=exp.EQ(this=x.copy(), expression=num(1))
        )
        return self.valid(x, a, b, exp.If(this=edge, true=x.copy(), false=body))

    def valid(
        self, x: exp.Expression, a: exp.Expression, b: exp.Expression, body: exp.Expression
    ) -> exp.Expression:
        def within(v: exp.Expression, low: float, high: float) -> exp.Expression:
            return exp.And(
                this=exp.GTE(this=v.copy(), expression=num(low)),
                expression=exp.LTE(this=v.copy(), expression=num(high)),
            )

        ok = exp.And(this=within(x, 0, 1), expression=exp.And(
            this=exp.And(this=exp.GT(this=a.copy(), expression=num(0)), expression=exp.LTE(this=a.copy(), expression=num(10000))),
            expression=exp.And(this=exp.GT(this=b.copy(), expression=num(0)), expression=exp.LTE(this=b.copy(), expression=num(10000)))))  # fmt: skip
        return exp.If(this=ok, true=body, false=self.d.real_literal(math.nan))


def mod_(value: exp.Expression, n: int) -> exp.Expression:
    return exp.Mod(this=exp.Paren(this=value), expression=num(n))


def _beta_args(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> list[exp.Expression]:
    return [_real(ctx.dialect, call, i, a) for i, a in enumerate(args)]


@scalar("beta_cdf", args=3, returns=_R, params=[_R, _R, _R], fold=_ieee(beta_cdf))
def _beta_cdf(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    x, a, b = _beta_args(ctx, call, args)
    return _BetaSql(ctx, args).cdf(x, a, b)


@scalar("beta_inv", args=3, returns=_R, params=[_R, _R, _R], fold=_ieee(beta_inv))
def _beta_inv(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    p, a, b = _beta_args(ctx, call, args)
    sql = _BetaSql(ctx, args)

    def step(bounds: exp.Expression, _: exp.Expression) -> exp.Expression:
        low, high = sql.ls.at(bounds, num(0)), sql.ls.at(bounds.copy(), num(1))
        mid = div(add(low, high), num(2.0))
        below = exp.LT(this=sql.cdf(mid, a.copy(), b.copy()), expression=p.copy())
        return exp.If(this=below, true=exp.Array(expressions=[mid.copy(), high.copy()]),
                      false=exp.Array(expressions=[low.copy(), mid.copy()]))  # fmt: skip

    start = exp.Array(expressions=[ctx.dialect.cast(num(0.0), _R), ctx.dialect.cast(num(1.0), _R)])
    bounds = sql.ls.fold(ctx.dialect.call("range", num(_BISECTIONS)), start, step)
    middle = div(add(sql.ls.at(bounds, num(0)), sql.ls.at(bounds.copy(), num(1))), num(2.0))
    return sql.valid(p, a, b, middle)


@scalar("beta_pdf", args=3, returns=_R, params=[_R, _R, _R], fold=_ieee(beta_pdf))
def _beta_pdf(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    x, a, b = _beta_args(ctx, call, args)
    sql = _BetaSql(ctx, args)
    logs = add(
        mul(sub(a, num(1.0)), d.call("ln", x)), mul(sub(b, num(1.0)), d.call("ln", sub(num(1.0), x.copy())))
    )
    norm = sub(sub(sql.lgamma(add(a.copy(), b.copy())), sql.lgamma(a.copy())), sql.lgamma(b.copy()))
    return sql.valid(x, a, b, d.call("exp", add(logs, norm)))
