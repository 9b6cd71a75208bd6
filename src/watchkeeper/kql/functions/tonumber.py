"""Numeric conversions: ``toint``, ``tolong``, ``toreal``/``todouble``, ``todecimal``, and the text of
a real number as Kusto prints it.

Kusto's rules, which no SQL cast follows on its own (measured behaviour of the engine):

* a real truncates towards zero and saturates at the target's range; NaN gives null;
* a long becomes an int by wrapping to 32 bits (``toint(9999999999) == 1410065407``);
* text converts to an integer only in integer syntax (spaces, a sign, digits, or ``0x`` hex):
  ``tolong("5.7")`` is null, while ``toreal("5.7")`` is 5.7; an out-of-range integer is null;
* a datetime is its ticks since 0001-01-01, a timespan its ticks, a bool 0 or 1;
* a dynamic converts as what it holds (a JSON string by the text rules).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, lit, mod, mul, num, sub
from watchkeeper.kql.literals import ticks_from_datetime
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = [
    "JSON_BOOL", "JSON_INTEGER", "JSON_REAL", "JSON_STRING", "TICKS_AT_EPOCH", "format_real", "number_value",
    "real_text", "trim_space",
]  # fmt: skip

_T = KqlType
TICKS_AT_EPOCH = 621_355_968_000_000_000  # ticks from 0001-01-01 to 1970-01-01
_LIMITS = {_T.INT: (-(2**31), 2**31 - 1), _T.LONG: (-(2**63), 2**63 - 1)}
_INTEGER_TEXT = re.compile(r"^[+-]?[0-9]+$")
_HEX_TEXT = re.compile(r"^0[xX][0-9a-fA-F]{1,16}$")
_REAL_PATTERN = r"(?i)^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?$|^[+-]?(nan|infinity|inf)$"
_REAL_TEXT = re.compile(_REAL_PATTERN)
_SPACE = " \t\n\r\f\v"

# json_type() names, as DuckDB and ClickHouse spell them
JSON_INTEGER = ("BIGINT", "UBIGINT", "INT64", "UINT64")
JSON_REAL = ("DOUBLE",)
JSON_STRING = ("VARCHAR", "STRING")
JSON_BOOL = ("BOOLEAN", "BOOL")


# ------------------------------------------------------------------------------ Python reference


def _wrap32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def _from_real(value: float, target: KqlType) -> Any:
    if math.isnan(value):
        return None
    if target is _T.REAL:
        return value
    if target is _T.DECIMAL:
        return Decimal(repr(value)) if math.isfinite(value) else None
    low, high = _LIMITS[target]
    return low if value <= low else high if value >= high else int(value)


def _from_integer(value: int, target: KqlType) -> Any:
    if target is _T.INT:
        return _wrap32(value)
    return float(value) if target is _T.REAL else Decimal(value) if target is _T.DECIMAL else value


def _from_text(text: str, target: KqlType) -> Any:
    t = text.strip(_SPACE)
    if target.is_integer:
        if _INTEGER_TEXT.match(t):
            value = int(t)
        elif _HEX_TEXT.match(t):
            value = int(t, 16)
        else:
            return None
        low, high = _LIMITS[target]
        return value if low <= value <= high else None
    if not _REAL_TEXT.match(t):
        return None
    if target is _T.DECIMAL:
        try:
            return Decimal(t)
        except InvalidOperation:
            return None
    return float(t.lower().replace("infinity", "inf"))


def _from_dynamic(value: Any, target: KqlType) -> Any:
    if isinstance(value, str) and not isinstance(value, bool):
        try:
            value = json.loads(value)
        except ValueError:
            return _from_text(value, target)
        if isinstance(value, str):
            return _from_text(value, target)
    if isinstance(value, (list, dict)) or value is None:
        return None
    return number_value(value, target)


def number_value(value: Any, target: KqlType, source: KqlType | None = None) -> Any:
    """Kusto's conversion of a constant to a number of type ``target`` (None when it fails)."""
    if value is None:
        return None
    if source is _T.DYNAMIC:
        return _from_dynamic(value, target)
    if isinstance(value, bool):
        return _from_integer(int(value), target)
    if isinstance(value, datetime):
        return _from_integer(ticks_from_datetime(value) + TICKS_AT_EPOCH, target)
    if isinstance(value, int):
        return _from_integer(value, target)
    if isinstance(value, (float, Decimal)):
        return _from_real(float(value), target)
    if isinstance(value, str):
        return _from_text(value, target)
    return None


def format_real(value: float) -> str:
    """Kusto's text for a real (.NET's shortest round-trip form): ``1``, ``1.5``, ``0.0001``,
    ``1E-05``, ``1E+15``, ``1.5E+20``, ``NaN``, ``Infinity``, ``-Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) - 1 + int(exponent)
    prefix = "-" if sign else ""
    if -5 < power < 15:
        return prefix + format(abs(Decimal(repr(value))).normalize(), "f")
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{prefix}{mantissa}E{'-' if power < 0 else '+'}{abs(power):02d}"


# ------------------------------------------------------------------------------ SQL


def trim_space(value: exp.Expression) -> exp.Expression:
    """Both ends trimmed of white space (tabs and newlines too)."""
    return exp.Trim(this=value, expression=lit(_SPACE), position="BOTH")


def _is(value: exp.Expression, names: tuple[str, ...]) -> exp.Expression:
    return exp.In(this=value, expressions=[lit(n) for n in names])


def _wrap32_sql(value: exp.Expression) -> exp.Expression:
    shifted = mod(add(mod(value, num(2**32)), num(2**32 + 2**31)), num(2**32))
    return sub(shifted, num(2**31))


def _real_to(d: Dialect, value: exp.Expression, target: KqlType) -> exp.Expression:
    """Truncate and saturate a real into an integer type; NaN is null."""
    if target is _T.REAL:
        return d.cast(value, _T.REAL)
    if target is _T.DECIMAL:
        return d.try_cast(value, _T.DECIMAL)
    low, high = _LIMITS[target]
    return exp.Case(
        ifs=[exp.If(this=d.call("isnan", value), true=exp.Null()),
             exp.If(this=exp.GTE(this=value.copy(), expression=num(float(high))), true=d.cast(num(high), target)),
             exp.If(this=exp.LTE(this=value.copy(), expression=num(float(low))), true=d.cast(num(low), target))],
        default=d.cast(d.call("trunc", value.copy()), target),
    )  # fmt: skip


def _integer_to(d: Dialect, value: exp.Expression, target: KqlType) -> exp.Expression:
    return d.cast(_wrap32_sql(value) if target is _T.INT else value, target)


def _hex_value(d: Dialect, text: exp.Expression) -> exp.Expression:
    return d.call("hex_to_long", exp.Substring(this=text, start=num(3)))  # the digits after "0x"


def _text_to(d: Dialect, text: exp.Expression, target: KqlType) -> exp.Expression:
    t = trim_space(text)
    if not target.is_integer:
        valid = d.regex_match(t, lit(_REAL_PATTERN))
        return exp.If(this=valid, true=d.try_cast(t.copy(), target), false=d.null(target))
    decimal = exp.If(this=d.regex_match(t, lit(_INTEGER_TEXT.pattern)),
                     true=d.try_cast(d.call("replace", t.copy(), lit("+"), lit("")), target))  # fmt: skip
    hexadecimal = exp.If(this=d.regex_match(t.copy(), lit(_HEX_TEXT.pattern)),
                         true=d.try_cast(_hex_value(d, t.copy()), target))  # fmt: skip
    return exp.Case(ifs=[decimal, hexadecimal], default=d.null(target))


def _dynamic_to(d: Dialect, value: exp.Expression, target: KqlType) -> exp.Expression:
    kind = d.json_type(value)
    text = d.json_text(value.copy())
    return exp.Case(
        ifs=[exp.If(this=_is(kind, JSON_INTEGER), true=_integer_to(d, d.try_cast(text, _T.LONG), target)),
             exp.If(this=_is(kind.copy(), JSON_REAL), true=_real_to(d, d.try_cast(text.copy(), _T.REAL), target)),
             exp.If(this=_is(kind.copy(), JSON_STRING), true=_text_to(d, text.copy(), target)),
             exp.If(this=_is(kind.copy(), JSON_BOOL),
                    true=d.cast(exp.If(this=exp.EQ(this=text.copy(), expression=lit("true")), true=num(1),
                                       false=num(0)), target))],
        default=d.null(target),
    )  # fmt: skip


def sql_number(d: Dialect, value: exp.Expression, source: KqlType, target: KqlType) -> exp.Expression:
    """SQL for Kusto's conversion of a ``source`` value to the number type ``target``."""
    if source is target:
        return value
    if source in (_T.REAL, _T.DECIMAL):
        return _real_to(
            d, d.cast(value, _T.REAL) if source is _T.DECIMAL and target.is_integer else value, target
        )
    if source in (_T.INT, _T.LONG, _T.TIMESPAN):
        return _integer_to(d, value, target)
    if source is _T.BOOL:
        return d.cast(d.cast(value, _T.INT), target)
    if source is _T.DATETIME:
        return _integer_to(d, add(mul(d.epoch_micros(value), num(10)), num(TICKS_AT_EPOCH)), target)
    if source in (_T.STRING, _T.UNKNOWN):
        return _text_to(d, value, target)
    if source is _T.DYNAMIC:
        return _dynamic_to(d, value, target)
    return d.null(target)


def _register(names: list[str], target: KqlType) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return sql_number(ctx.dialect, args[0], call.args[0].type, target)

    def fold_args(args: list[Any]) -> Any:
        return number_value(args[0].value, target, args[0].type)

    scalar(names, args=1, returns=target, fold_args=fold_args)(lower)


_register(["toint"], _T.INT)
_register(["tolong"], _T.LONG)
_register(["toreal", "todouble"], _T.REAL)
_register(["todecimal"], _T.DECIMAL)


# ------------------------------------------------------------------------------ text of a real


def _significant_digits(d: Dialect, text: exp.Expression) -> exp.Expression:
    mantissa = d.call("regexp_replace", text, lit("[eE].*$"), lit(""), lit("g"))
    bare = d.call("replace", d.call("replace", mantissa, lit("-"), lit("")), lit("."), lit(""))
    no_trailing = exp.Trim(this=bare, expression=lit("0"), position="TRAILING")
    return exp.Trim(this=no_trailing, expression=lit("0"), position="LEADING")


def _scientific(d: Dialect, value: exp.Expression) -> exp.Expression:
    """``d.dddE+XX`` from the engine's shortest text of ``value`` (its digits) and log10 (its power)."""
    # ClickHouse may evaluate this branch for 0, NaN and infinities too: keep log10 finite there
    usable = exp.And(
        this=d.call("isfinite", value.copy()), expression=exp.NEQ(this=value.copy(), expression=num(0))
    )
    magnitude = exp.If(this=usable, true=exp.Abs(this=value), false=num(1.0))
    guess = d.cast(exp.Floor(this=d.call("log10", magnitude)), _T.LONG)
    power = exp.Case(
        ifs=[exp.If(this=exp.LT(this=magnitude.copy(), expression=d.call("pow", num(10.0), guess)),
                    true=sub(guess.copy(), num(1))),
             exp.If(this=exp.GTE(this=magnitude.copy(), expression=d.call("pow", num(10.0), add(guess.copy(), num(1)))),
                    true=add(guess.copy(), num(1)))],
        default=guess.copy(),
    )  # fmt: skip
    digits = _significant_digits(d, d.cast(magnitude.copy(), _T.STRING))
    rest = exp.Substring(this=digits.copy(), start=num(2))
    mantissa = exp.Concat(expressions=[exp.Substring(this=digits, start=num(1), length=num(1)),
                                       exp.If(this=exp.EQ(this=rest, expression=lit("")), true=lit(""),
                                              false=exp.Concat(expressions=[lit("."), rest.copy()]))])  # fmt: skip
    sign = exp.If(this=exp.LT(this=power.copy(), expression=num(0)), true=lit("E-"), false=lit("E+"))
    digits_of = d.cast(exp.Abs(this=power), _T.STRING)  # at least two digits (lpad would also cut a third)
    exponent = exp.If(this=exp.LT(this=exp.Abs(this=power.copy()), expression=num(10)),
                      true=exp.Concat(expressions=[lit("0"), digits_of]), false=digits_of.copy())  # fmt: skip
    negative = exp.If(this=exp.LT(this=value.copy(), expression=num(0)), true=lit("-"), false=lit(""))
    return exp.Concat(expressions=[negative, mantissa, sign, exponent])


def real_text(d: Dialect, value: exp.Expression) -> exp.Expression:
    """SQL for :func:`format_real` (NULL for a null value)."""
    magnitude = exp.Abs(this=value)
    whole = exp.And(this=exp.EQ(this=value.copy(), expression=d.call("trunc", value.copy())),
                    expression=exp.LT(this=magnitude, expression=num(1e15)))  # fmt: skip
    positional = exp.And(this=exp.GTE(this=magnitude.copy(), expression=num(1e-4)),
                         expression=exp.LT(this=magnitude.copy(), expression=num(1e15)))  # fmt: skip
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null()),
             exp.If(this=d.call("isnan", value.copy()), true=lit("NaN")),
             exp.If(this=exp.EQ(this=value.copy(), expression=d.real_literal(math.inf)), true=lit("Infinity")),
             exp.If(this=exp.EQ(this=value.copy(), expression=d.real_literal(-math.inf)), true=lit("-Infinity")),
             exp.If(this=whole, true=d.cast(d.cast(value.copy(), _T.LONG), _T.STRING)),
             exp.If(this=positional, true=d.cast(value.copy(), _T.STRING))],
        default=_scientific(d, value.copy()),
    )  # fmt: skip
