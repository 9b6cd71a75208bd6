"""Conversion functions: ``tostring``, ``tobool``, ``todatetime``, ``totimespan``, ``toguid``,
``todynamic``/``parse_json`` (the numeric ones live in :mod:`tonumber`).

Conversions that fail give null, never an error (Kusto's rule); ``tostring`` of null gives ``""``.
The binder also uses these specs for Kusto's implicit conversions (dynamic -> typed).

Text forms follow Kusto's (.NET) ones, as measured on the Kusto emulator: a bool prints
``True``/``False``; a datetime ``2017-01-29T09:00:05.0000000Z`` (always seven fractional digits);
a timespan ``[-][d.]hh:mm:ss[.fffffff]``; a real its shortest round-trip text.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions import tonumber
from watchkeeper.kql.functions.registry import SCALARS, FunctionSpec, LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, lit, mod, mul, num, or_empty
from watchkeeper.kql.functions.tonumber import (
    JSON_BOOL,
    JSON_INTEGER,
    JSON_REAL,
    JSON_STRING,
    format_real,
    trim_space,
)
from watchkeeper.kql.literals import (
    format_datetime_iso,
    format_timespan,
    parse_datetime_text,
    parse_timespan_text,
)
from watchkeeper.kql.plan import BCall, BLiteral
from watchkeeper.schema.types import KqlType

__all__ = [
    "BOOL_TEXT",
    "CONVERT_TO",
    "TODYNAMIC",
    "TOSTRING",
    "format_real",
    "json_ready",
    "kusto_string",
    "string_of",
]

_T = KqlType
# strftime formats (the engines' native formatting is several times faster than composing parts)
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%f0Z"
BOOL_TEXT = {True: "True", False: "False"}


# ------------------------------------------------------------------------------ tostring


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def kusto_string(value: Any, kql_type: KqlType) -> str:
    """Kusto's ``tostring`` of a constant."""
    if value is None:
        return ""
    if kql_type is _T.BOOL or isinstance(value, bool):
        return BOOL_TEXT[bool(value)]
    if kql_type is _T.DATETIME and isinstance(value, datetime):
        return format_datetime_iso(value)
    if kql_type is _T.TIMESPAN:
        return format_timespan(int(value))
    if kql_type is _T.REAL or isinstance(value, float):
        return format_real(float(value))
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if kql_type is _T.DYNAMIC:
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return str(value)


def string_of(d: Dialect, value: exp.Expression, kql_type: KqlType) -> exp.Expression:
    """SQL for Kusto's tostring() of a value of ``kql_type`` (never NULL)."""
    if kql_type in (_T.STRING, _T.UNKNOWN):
        return or_empty(value)
    if kql_type is _T.DYNAMIC:
        return or_empty(d.json_text(value))
    if kql_type is _T.DATETIME:
        return or_empty(d.strftime(value, _ISO_FORMAT))
    if kql_type is _T.TIMESPAN:
        return or_empty(timespan_text(d, value))
    if kql_type is _T.REAL:
        return or_empty(tonumber.real_text(d, value))
    if kql_type is _T.BOOL:
        return exp.Case(ifs=[exp.If(this=value, true=lit(BOOL_TEXT[True])),
                             exp.If(this=exp.Not(this=value.copy()), true=lit(BOOL_TEXT[False]))], default=lit(""))  # fmt: skip
    if kql_type is _T.DECIMAL:
        digits = d.cast(value, _T.STRING)
        trimmed = exp.Trim(this=exp.Trim(this=digits, expression=lit("0"), position="TRAILING"), expression=lit("."),
                           position="TRAILING")  # fmt: skip
        has_point = exp.GT(this=d.call("strpos", digits.copy(), lit(".")), expression=num(0))
        return or_empty(exp.If(this=has_point, true=trimmed, false=digits.copy()))
    return or_empty(d.cast(value, _T.STRING))


def json_ready(d: Dialect, value: exp.Expression, kql_type: KqlType) -> exp.Expression:
    """A value ready to become a JSON element: datetimes and timespans as Kusto's text."""
    if kql_type is _T.DATETIME:
        return d.strftime(value, _ISO_FORMAT)
    if kql_type is _T.TIMESPAN:
        return timespan_text(d, value)
    if kql_type is _T.GUID:
        return d.cast(value, _T.STRING)
    return value


def timespan_text(d: Dialect, ticks: exp.Expression) -> exp.Expression:
    """``[-][d.]hh:mm:ss[.fffffff]`` from a tick count (NULL for null)."""
    absolute = exp.Abs(this=ticks)
    seconds = d.int_div(absolute, num(10_000_000))
    frac = mod(absolute.copy(), num(10_000_000))
    days = d.int_div(seconds, num(86400))

    def pad(value: exp.Expression, width: int) -> exp.Expression:
        return d.call("lpad", d.cast(value, _T.STRING), num(width), lit("0"))

    clock = [pad(mod(d.int_div(seconds.copy(), num(3600)), num(24)), 2), lit(":"),
             pad(mod(d.int_div(seconds.copy(), num(60)), num(60)), 2), lit(":"), pad(mod(seconds.copy(), num(60)), 2)]  # fmt: skip
    sign = exp.If(this=exp.LT(this=ticks.copy(), expression=num(0)), true=lit("-"), false=lit(""))
    day_part = exp.If(this=exp.GT(this=days, expression=num(0)),
                      true=exp.Concat(expressions=[d.cast(days.copy(), _T.STRING), lit(".")]), false=lit(""))  # fmt: skip
    frac_part = exp.If(this=exp.GT(this=frac, expression=num(0)),
                       true=exp.Concat(expressions=[lit("."), pad(frac.copy(), 7)]), false=lit(""))  # fmt: skip
    text = exp.Concat(expressions=[sign, day_part, *clock, frac_part])
    return exp.If(this=exp.Is(this=ticks.copy(), expression=exp.Null()), true=exp.Null(), false=text)


@scalar("tostring", args=1, returns=_T.STRING, fold_args=lambda a: kusto_string(a[0].value, a[0].type))
def _tostring(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return string_of(ctx.dialect, args[0], call.args[0].type)


# ------------------------------------------------------------------------------ bool


def _bool_text(text: str) -> bool | None:
    t = text.strip(" \t\n\r\f\v").lower()
    if t in ("true", "false"):
        return t == "true"
    value = tonumber.number_value(t, _T.LONG)
    return None if value is None or not re.match(r"^[+-]?[0-9]+$", t) else value != 0


def _fold_bool(args: list[BLiteral]) -> Any:
    value, source = args[0].value, args[0].type
    if value is None or isinstance(value, bool):
        return value
    if source is _T.DYNAMIC:
        if isinstance(value, (list, dict)):
            return None
        return _bool_text(value) if isinstance(value, str) else value != 0
    if isinstance(value, str):
        return _bool_text(value)
    return value != 0 if isinstance(value, (int, float, Decimal)) else None


def _text_bool(d: Dialect, text: exp.Expression) -> exp.Expression:
    """``true``/``false`` in any case, or integer text (non-zero is true), else NULL."""
    low = d.call("lower", trim_space(text))
    integer = tonumber.sql_number(d, text.copy(), _T.STRING, _T.LONG)
    return exp.Case(
        ifs=[exp.If(this=exp.EQ(this=low, expression=lit("true")), true=exp.true()),
             exp.If(this=exp.EQ(this=low.copy(), expression=lit("false")), true=exp.false()),
             exp.If(this=d.regex_match(trim_space(text.copy()), lit(r"^[+-]?[0-9]+$")),
                    true=exp.NEQ(this=integer, expression=num(0)))],
        default=d.null(_T.BOOL),
    )  # fmt: skip


def _dynamic_bool(d: Dialect, value: exp.Expression) -> exp.Expression:
    kind = d.json_type(value)
    text = d.json_text(value.copy())
    number = exp.NEQ(this=d.try_cast(text, _T.REAL), expression=num(0))
    return exp.Case(
        ifs=[exp.If(this=exp.In(this=kind, expressions=[lit(n) for n in JSON_BOOL]),
                    true=exp.EQ(this=text.copy(), expression=lit("true"))),
             exp.If(this=exp.In(this=kind.copy(), expressions=[lit(n) for n in JSON_INTEGER + JSON_REAL]), true=number),
             exp.If(this=exp.In(this=kind.copy(), expressions=[lit(n) for n in JSON_STRING]),
                    true=_text_bool(d, text.copy()))],
        default=d.null(_T.BOOL),
    )  # fmt: skip


@scalar(["tobool", "toboolean"], args=1, returns=_T.BOOL, fold_args=_fold_bool)
def _tobool(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source is _T.BOOL:
        return args[0]
    if source.is_numeric:
        return exp.NEQ(this=args[0], expression=num(0))
    if source is _T.DYNAMIC:
        return _dynamic_bool(d, args[0])
    if source in (_T.STRING, _T.UNKNOWN):
        return _text_bool(d, args[0])
    return d.null(_T.BOOL)


# ------------------------------------------------------------------------------ datetime

# Forms Kusto reads beyond ISO 8601 (US month-first dates, RFC 822/850, month names), tried in
# order on the trimmed text; the same list serves the constant folder and DuckDB's strptime.
DATETIME_FORMATS = (
    "%m-%d-%Y %H:%M:%S", "%m-%d-%Y %H:%M", "%m-%d-%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m.%d.%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d",
    "%d %b %Y %H:%M:%S", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y",
    "%a, %d %b %Y %H:%M:%S GMT", "%a, %d %b %y %H:%M:%S GMT", "%a, %d %b %y %H:%M:%S", "%a, %d %b %y %H:%M",
    "%d %b %y %H:%M:%S GMT", "%d %b %y %H:%M:%S", "%d %b %y %H:%M", "%A, %d-%b-%y %H:%M:%S GMT",
    "%A, %d-%b-%y %H:%M:%S", "%A, %d-%b-%y %H:%M", "%d-%b-%y %H:%M:%S GMT", "%d-%b-%y %H:%M:%S", "%d-%b-%y %H:%M",
)  # fmt: skip


def parse_datetime_value(text: str) -> datetime | None:
    """Kusto's ``todatetime`` of text: ISO 8601 and the forms above (UTC), or None."""
    try:
        return parse_datetime_text(text)
    except ValueError:
        pass
    stripped = text.strip()
    for fmt in DATETIME_FORMATS:
        try:
            return datetime.strptime(stripped, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _fold_datetime(args: list[BLiteral]) -> Any:
    value, source = args[0].value, args[0].type
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_datetime_value(value)
    if source in (_T.LONG, _T.INT) and isinstance(value, int):
        from watchkeeper.kql.literals import datetime_from_ticks

        return datetime_from_ticks(value - tonumber.TICKS_AT_EPOCH)
    return None


@scalar(["todatetime", "make_datetime_from_text"], args=1, returns=_T.DATETIME, fold_args=_fold_datetime)
def _todatetime(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source is _T.DATETIME:
        return args[0]
    if source is _T.DYNAMIC:
        return d.parse_datetime(d.json_text(args[0]), DATETIME_FORMATS)
    if source in (_T.LONG, _T.INT):  # a number is ticks since 0001-01-01
        micros = d.int_div(add(args[0], num(-tonumber.TICKS_AT_EPOCH)), num(10))
        return d.from_epoch_micros(micros)
    if source in (_T.STRING, _T.UNKNOWN):
        return d.parse_datetime(args[0], DATETIME_FORMATS)
    return d.null(_T.DATETIME)


# ------------------------------------------------------------------------------ timespan

_CLOCK = r"^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$"
_AMOUNT = r"(?i)^\s*(-)?(\d+(?:\.\d+)?)\s*([a-z]*)\s*$"
_AMOUNT_UNITS = (
    (("d", "day", "days", ""), 864_000_000_000), (("h", "hr", "hrs", "hour", "hours"), 36_000_000_000),
    (("m", "min", "minute", "minutes"), 600_000_000), (("s", "sec", "second", "seconds"), 10_000_000),
    (("ms", "milli", "millis", "millisecond", "milliseconds"), 10_000),
    (("microsecond", "microseconds", "micro", "micros"), 10), (("tick", "ticks"), 1),
)  # fmt: skip


def _fold_timespan(args: list[BLiteral]) -> Any:
    value, source = args[0].value, args[0].type
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_timespan_text(value)
        except ValueError:
            return None
    if source in (_T.LONG, _T.INT, _T.TIMESPAN) and isinstance(value, int):
        return value
    if source is _T.REAL and isinstance(value, float):
        return round(value)
    return None


def _clock_ticks(d: Dialect, text: exp.Expression) -> exp.Expression:
    """``[-][d.]hh:mm[:ss[.f]]`` to ticks, or NULL."""
    pattern = lit(_CLOCK)

    def part(n: int, scale: int) -> exp.Expression:
        group = d.try_cast(d.call("nullif", d.regex_extract(text.copy(), pattern, n), lit("")), _T.LONG)
        return mul(exp.Coalesce(this=group, expressions=[num(0)]), num(scale))

    frac = d.call("rpad", or_empty(d.regex_extract(text.copy(), pattern, 6)), num(7), lit("0"))
    total = add(add(add(part(2, 864_000_000_000), part(3, 36_000_000_000)), add(part(4, 600_000_000),
                part(5, 10_000_000))), d.try_cast(frac, _T.LONG))  # fmt: skip
    negative = exp.EQ(this=or_empty(d.regex_extract(text.copy(), pattern, 1)), expression=lit("-"))
    signed = exp.If(this=negative, true=exp.Neg(this=exp.Paren(this=total)), false=total.copy())
    return exp.If(this=d.regex_match(text.copy(), pattern), true=signed, false=exp.Null())


def _amount_ticks(d: Dialect, text: exp.Expression) -> exp.Expression:
    """``1.5h``, ``30m``, ``2`` (days) to ticks, or NULL."""
    pattern = lit(_AMOUNT)
    unit = d.call("lower", or_empty(d.regex_extract(text.copy(), pattern, 3)))
    scale = exp.Case(ifs=[exp.If(this=exp.In(this=unit.copy(), expressions=[lit(n) for n in names]), true=num(ticks))
                          for names, ticks in _AMOUNT_UNITS], default=exp.Null())  # fmt: skip
    amount = d.try_cast(d.regex_extract(text.copy(), pattern, 2), _T.REAL)
    ticks = d.cast(exp.Round(this=mul(amount, scale)), _T.LONG)
    negative = exp.EQ(this=or_empty(d.regex_extract(text.copy(), pattern, 1)), expression=lit("-"))
    return exp.If(this=negative, true=exp.Neg(this=exp.Paren(this=ticks)), false=ticks.copy())


@scalar(["totimespan", "totime", "time"], args=1, returns=_T.TIMESPAN, fold_args=_fold_timespan)
def _totimespan(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source in (_T.TIMESPAN, _T.LONG, _T.INT):
        return args[0]
    if source is _T.REAL:
        return d.cast(exp.Round(this=args[0]), _T.LONG)
    if source not in (_T.STRING, _T.UNKNOWN, _T.DYNAMIC):
        return d.null(_T.TIMESPAN)
    text = d.json_text(args[0]) if source is _T.DYNAMIC else args[0]
    return exp.Coalesce(this=_clock_ticks(d, text), expressions=[_amount_ticks(d, text.copy())])


# ------------------------------------------------------------------------------ guid


def _fold_guid(value: Any) -> Any:
    if value is None:
        return None
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        return None


@scalar(["toguid"], args=1, returns=_T.GUID, fold=_fold_guid)
def _toguid(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source is _T.GUID:
        return args[0]
    if source not in (_T.STRING, _T.UNKNOWN, _T.DYNAMIC):
        return d.null(_T.GUID)
    value = d.json_text(args[0]) if source is _T.DYNAMIC else args[0]
    bare = d.call("replace", d.call("replace", d.call("replace", trim_space(value), lit("{"), lit("")), lit("}"),
                  lit("")), lit("-"), lit(""))  # fmt: skip
    return exp.If(this=d.regex_match(bare, lit("^[0-9a-fA-F]{32}$")), true=d.try_cast(bare.copy(), _T.GUID),
                  false=d.null(_T.GUID))  # fmt: skip


@scalar("new_guid", args=0, returns=_T.GUID, deterministic=False)
def _new_guid(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """A random (version 4) GUID, new on every row."""
    return ctx.dialect.call("gen_random_uuid")


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


@scalar(["todynamic", "parse_json", "parsejson", "toobject"], args=1, returns=_T.DYNAMIC, fold=_fold_dynamic)
def _todynamic(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    source = call.args[0].type
    if source is _T.DYNAMIC:
        return args[0]
    if source in (_T.STRING, _T.UNKNOWN):
        return d.json_parse(args[0])
    if source in (_T.DATETIME, _T.TIMESPAN, _T.GUID):
        return d.to_json(json_ready(d, args[0], source))
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
