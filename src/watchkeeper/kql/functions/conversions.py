"""Conversion functions: ``tostring``, ``toint``, ``tolong``, ``toreal``, ``tobool``, ``todatetime``,
``totimespan``, ``toguid``, ``todecimal``, ``todynamic``/``parse_json``.

Conversions that fail give null, never an error (Kusto's rule); ``tostring`` of null gives ``""``.
The binder also uses these specs for Kusto's implicit conversions (dynamic -> typed).
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.registry import SCALARS, FunctionSpec, LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import lit, num, or_empty
from watchkeeper.kql.literals import (
    format_datetime_iso,
    format_timespan,
    parse_datetime_text,
    parse_timespan_text,
    ticks_from_datetime,
)
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["CONVERT_TO", "TODYNAMIC", "TOSTRING", "format_real", "json_ready", "kusto_string", "string_of"]

_T = KqlType


def format_real(value: float) -> str:
    """Kusto's text for a real: ``1``, ``1.5``, ``1E+20``, ``NaN``, ``Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}E{sign}{exponent.lstrip('+-').zfill(2)}"
    return text


def kusto_string(value: Any, kql_type: KqlType) -> str:
    """Kusto's ``tostring`` of a constant."""
    if value is None:
        return ""
    if kql_type is _T.BOOL or isinstance(value, bool):
        return "true" if value else "false"
    if kql_type is _T.DATETIME and isinstance(value, datetime):
        text = format_datetime_iso(value)
        return text.replace(".0000000Z", "Z")
    if kql_type is _T.TIMESPAN:
        return format_timespan(int(value))
    if kql_type is _T.REAL or isinstance(value, float):
        return format_real(float(value))
    if kql_type is _T.DYNAMIC:
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return str(value)


# ------------------------------------------------------------------------------ tostring


def string_of(d: Dialect, value: exp.Expression, kql_type: KqlType) -> exp.Expression:
    """SQL for Kusto's tostring() of a value of ``kql_type`` (never NULL)."""
    if kql_type is _T.STRING:
        return or_empty(value)
    if kql_type is _T.DYNAMIC:
        return or_empty(d.json_text(value))
    if kql_type is _T.DATETIME:
        whole = d.strftime(value, "%Y-%m-%dT%H:%M:%SZ")
        frac = exp.Mod(this=d.epoch_micros(value), expression=num(1_000_000))
        with_frac = d.strftime(value, "%Y-%m-%dT%H:%M:%S.%f0Z")
        return or_empty(exp.If(this=exp.EQ(this=frac, expression=num(0)), true=whole, false=with_frac))
    if kql_type is _T.TIMESPAN:
        return or_empty(_timespan_text(d, value))
    if kql_type is _T.REAL:
        is_whole = exp.And(
            this=exp.EQ(this=value, expression=exp.Anonymous(this="trunc", expressions=[value])),
            expression=exp.LT(this=exp.Abs(this=value), expression=num(1e15)),
        )
        whole = d.cast(d.cast(value, _T.LONG), _T.STRING)
        return or_empty(exp.If(this=is_whole, true=whole, false=d.cast(value, _T.STRING)))
    return or_empty(d.cast(value, _T.STRING))


def json_ready(d: Dialect, value: exp.Expression, kql_type: KqlType) -> exp.Expression:
    """A value ready to become a JSON element: datetimes and timespans as Kusto's text."""
    if kql_type is _T.DATETIME:
        return exp.If(this=exp.Is(this=value, expression=exp.Null()), true=exp.Null(),
                      false=_iso(d, value))  # fmt: skip
    if kql_type is _T.TIMESPAN:
        return _timespan_text(d, value)
    if kql_type is _T.GUID:
        return d.cast(value, _T.STRING)
    return value


def _iso(d: Dialect, value: exp.Expression) -> exp.Expression:
    return d.strftime(value, "%Y-%m-%dT%H:%M:%S.%f0Z")


def _timespan_text(d: Dialect, ticks: exp.Expression) -> exp.Expression:
    """``[-][d.]hh:mm:ss[.fffffff]`` from a tick count."""
    absolute = exp.Abs(this=ticks)
    seconds = d.int_div(absolute, num(10_000_000))
    frac = exp.Mod(this=absolute, expression=num(10_000_000))
    days = d.int_div(seconds, num(86400))
    hh = exp.Mod(this=d.int_div(seconds, num(3600)), expression=num(24))
    mm = exp.Mod(this=d.int_div(seconds, num(60)), expression=num(60))
    ss = exp.Mod(this=seconds, expression=num(60))

    def pad(value: exp.Expression, width: int) -> exp.Expression:
        return d.call("lpad", d.cast(value, _T.STRING), num(width), lit("0"))

    sign = exp.If(this=exp.LT(this=ticks, expression=num(0)), true=lit("-"), false=lit(""))
    day_part = exp.If(this=exp.GT(this=days, expression=num(0)),
                      true=exp.DPipe(this=d.cast(days, _T.STRING), expression=lit(".")), false=lit(""))  # fmt: skip
    frac_part = exp.If(this=exp.GT(this=frac, expression=num(0)),
                       true=exp.DPipe(this=lit("."), expression=pad(frac, 7)), false=lit(""))  # fmt: skip
    parts = [sign, day_part, pad(hh, 2), lit(":"), pad(mm, 2), lit(":"), pad(ss, 2), frac_part]
    return exp.Concat(expressions=parts)


@scalar("tostring", args=1, returns=_T.STRING, fold_args=lambda a: kusto_string(a[0].value, a[0].type))
def _tostring(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return string_of(ctx.dialect, args[0], call.args[0].type)


# ------------------------------------------------------------------------------ numbers


def _number_of(d: Dialect, call: BCall, value: exp.Expression, target: KqlType) -> exp.Expression:
    source = call.args[0].type
    if source is _T.DYNAMIC:
        value, source = d.json_text(value), _T.STRING
    if source in (_T.REAL, _T.DECIMAL) and target.is_integer:
        return d.try_cast(exp.Anonymous(this="trunc", expressions=[value]), target)
    if source is _T.DATETIME:
        ticks = exp.Mul(this=d.epoch_micros(value), expression=num(10))
        return d.cast(ticks, target) if target is not _T.LONG else ticks
    if source is _T.STRING and target.is_integer:
        # Kusto reads "1.5" as null for integers but accepts surrounding spaces
        return d.try_cast(d.call("trim", value), target)
    if source is _T.BOOL:
        return d.cast(d.cast(value, _T.INT), target)
    return d.try_cast(value, target)


def _fold_number(target: KqlType) -> Any:
    def fold(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, datetime):
            return ticks_from_datetime(value)
        if isinstance(value, str):
            text = value.strip()
            try:
                return int(text) if target.is_integer else float(text)
            except ValueError:
                return None
        if target.is_integer:
            return int(value)
        if target is _T.DECIMAL:
            return Decimal(str(value))
        return float(value)

    return fold


def _register_number(names: list[str], target: KqlType) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        if call.args[0].type is target:
            return args[0]
        return _number_of(ctx.dialect, call, args[0], target)

    scalar(names, args=1, returns=target, fold=_fold_number(target))(lower)


_register_number(["toint"], _T.INT)
_register_number(["tolong"], _T.LONG)
_register_number(["toreal", "todouble"], _T.REAL)
_register_number(["todecimal"], _T.DECIMAL)


def _fold_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    return {"true": True, "false": False, "1": True, "0": False}.get(text)


@scalar(["tobool", "toboolean"], args=1, returns=_T.BOOL, fold=_fold_bool)
def _tobool(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source is _T.BOOL:
        return args[0]
    if source.is_numeric:
        return exp.NEQ(this=args[0], expression=num(0))
    text = d.json_text(args[0]) if source is _T.DYNAMIC else args[0]
    low = d.call("lower", d.call("trim", text))
    return exp.Case(
        ifs=[exp.If(this=exp.In(this=low, expressions=[lit("true"), lit("1")]), true=exp.true()),
             exp.If(this=exp.In(this=low, expressions=[lit("false"), lit("0")]), true=exp.false())],
        default=exp.Null(),
    )  # fmt: skip


# ------------------------------------------------------------------------------ time, guid


def _fold_datetime(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return parse_datetime_text(value)
        except ValueError:
            return None
    raise TypeError("not foldable")


@scalar(["todatetime", "make_datetime_from_text"], args=1, returns=_T.DATETIME, fold=_fold_datetime)
def _todatetime(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source is _T.DATETIME:
        return args[0]
    if source is _T.DYNAMIC:
        return d.parse_datetime(d.json_text(args[0]))
    if source in (_T.LONG, _T.INT):  # Kusto reads a number as ticks since 0001-01-01
        return d.from_epoch_micros(d.int_div(exp.Sub(this=args[0], expression=num(621355968000000000)), num(10)))
    return d.parse_datetime(args[0])


def _fold_timespan(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_timespan_text(value)
        except ValueError:
            return None
    if isinstance(value, int):
        return value
    raise TypeError("not foldable")


@scalar(["totimespan", "time"], args=1, returns=_T.TIMESPAN, fold=_fold_timespan)
def _totimespan(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source in (_T.TIMESPAN, _T.LONG, _T.INT):
        return args[0]
    text = d.json_text(args[0]) if source is _T.DYNAMIC else args[0]
    return _parse_timespan_sql(d, text)


def _parse_timespan_sql(d: Dialect, text: exp.Expression) -> exp.Expression:
    """``[-][d.]hh:mm[:ss[.f]]`` text to ticks, or NULL."""
    pattern = lit(r"^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$")

    def group(n: int) -> exp.Expression:
        return d.try_cast(d.call("nullif", d.regex_extract(text, pattern, n), lit("")), _T.LONG)

    def part(n: int, scale: int) -> exp.Expression:
        return exp.Mul(this=exp.Coalesce(this=group(n), expressions=[num(0)]), expression=num(scale))

    frac = d.call("rpad", or_empty(d.regex_extract(text, pattern, 6)), num(7), lit("0"))
    total = exp.Add(
        this=exp.Add(this=exp.Add(this=part(2, 864_000_000_000), expression=part(3, 36_000_000_000)),
                     expression=exp.Add(this=part(4, 600_000_000), expression=part(5, 10_000_000))),
        expression=d.try_cast(frac, _T.LONG),
    )  # fmt: skip
    negative = exp.EQ(this=or_empty(d.regex_extract(text, pattern, 1)), expression=lit("-"))
    signed = exp.If(this=negative, true=exp.Neg(this=exp.Paren(this=total)), false=total)
    return exp.If(this=d.regex_match(text, pattern), true=signed, false=exp.Null())


@scalar(["toguid"], args=1, returns=_T.GUID, fold=lambda v: str(uuid.UUID(str(v))) if v is not None else None)
def _toguid(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    value = d.json_text(args[0]) if call.args[0].type is _T.DYNAMIC else args[0]
    return d.try_cast(value, _T.GUID)


# ------------------------------------------------------------------------------ dynamic


def _fold_dynamic(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, (datetime, Decimal)):
        raise TypeError("not foldable")
    return value


@scalar(["todynamic", "parse_json", "parsejson", "toobject", "todynamic_"], args=1, returns=_T.DYNAMIC,
        fold=_fold_dynamic)  # fmt: skip
def _todynamic(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source is _T.DYNAMIC:
        return args[0]
    if source in (_T.STRING, _T.UNKNOWN):
        return d.json_parse(args[0])
    if source is _T.DATETIME:
        return d.to_json(string_of(d, args[0], source))
    if source is _T.TIMESPAN:
        return d.to_json(string_of(d, args[0], source))
    return d.to_json(args[0])


TOSTRING: FunctionSpec = SCALARS["tostring"]
TODYNAMIC: FunctionSpec = SCALARS["todynamic"]
CONVERT_TO: dict[KqlType, FunctionSpec] = {
    _T.STRING: SCALARS["tostring"],
    _T.INT: SCALARS["toint"],
    _T.LONG: SCALARS["tolong"],
    _T.REAL: SCALARS["toreal"],
    _T.DECIMAL: SCALARS["todecimal"],
    _T.BOOL: SCALARS["tobool"],
    _T.DATETIME: SCALARS["todatetime"],
    _T.TIMESPAN: SCALARS["totimespan"],
    _T.GUID: SCALARS["toguid"],
    _T.DYNAMIC: SCALARS["todynamic"],
}
