"""Date and time functions: ``bin``, ``startof*``/``endof*``, ``datetime_add/diff/part``,
``format_datetime``, ``dayofweek``..., and unix-time conversions.

Datetimes are UTC microsecond timestamps; timespans are 100 ns ticks (see ``schema.types``).
Kusto weeks start on Sunday.
"""

from __future__ import annotations

import math

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import const, is_const, lit, num
from watchkeeper.kql.literals import EPOCH, datetime_from_ticks, ticks_from_datetime
from watchkeeper.kql.plan import BCall, BExpr
from watchkeeper.schema.types import KqlType

__all__ = ["floor_to"]

_T = KqlType
_DT = _T.DATETIME
_TS = _T.TIMESPAN

_UNIT_TICKS = {
    "week": 6_048_000_000_000, "day": 864_000_000_000, "hour": 36_000_000_000, "minute": 600_000_000,
    "second": 10_000_000, "millisecond": 10_000, "microsecond": 10, "nanosecond": 1,
}  # fmt: skip
_UNIT_ALIASES = {"years": "year", "quarters": "quarter", "months": "month", "weeks": "week", "days": "day",
                 "hours": "hour", "minutes": "minute", "seconds": "second", "milliseconds": "millisecond",
                 "microseconds": "microsecond", "nanoseconds": "nanosecond", "ms": "millisecond"}  # fmt: skip


def _unit(value: Any) -> str:
    text = str(value).strip().lower()
    return _UNIT_ALIASES.get(text, text)


def floor_to(d: Dialect, value: exp.Expression, step: exp.Expression) -> exp.Expression:
    """``value`` rounded down to a multiple of ``step`` (integers; correct for negatives)."""
    rem = exp.Mod(this=exp.Paren(this=exp.Add(this=exp.Mod(this=value, expression=step), expression=step)),
                  expression=step)  # fmt: skip
    return exp.Paren(this=exp.Sub(this=value, expression=rem))


def _fold_bin(value: Any, step: Any) -> Any:
    if value is None or step is None:
        return None
    if isinstance(value, datetime):
        ticks = ticks_from_datetime(value)
        return datetime_from_ticks(ticks - ticks % int(step))
    if isinstance(value, float) or isinstance(step, float):
        return math.floor(value / step) * step
    return value - value % step


def _bin_type(args: list[BExpr]) -> KqlType:
    return args[0].type if args[0].type is not _T.INT else _T.LONG


@scalar(["bin", "floor"], args=2, returns=_bin_type, fold=_fold_bin)
def _bin(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    value, step = call.args
    if value.type is _DT:
        micros = num(int(const(step)) // 10) if is_const(step) else d.int_div(args[1], num(10))
        return d.from_epoch_micros(floor_to(d, d.epoch_micros(args[0]), micros))
    if value.type in (_T.REAL, _T.DECIMAL) or step.type in (_T.REAL, _T.DECIMAL):
        return exp.Mul(this=exp.Floor(this=exp.Div(this=args[0], expression=args[1])), expression=args[1])
    return floor_to(d, args[0], args[1])


@scalar("bin_at", args=3, returns=_bin_type)
def _bin_at(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    value = call.args[0]
    if value.type is _DT:
        anchor = d.epoch_micros(args[2])
        step = d.int_div(args[1], num(10))
        shifted = exp.Sub(this=d.epoch_micros(args[0]), expression=anchor)
        return d.from_epoch_micros(exp.Add(this=floor_to(d, shifted, step), expression=anchor))
    if value.type in (_T.REAL, _T.DECIMAL):
        shifted_r = exp.Sub(this=args[0], expression=args[2])
        floored = exp.Mul(this=exp.Floor(this=exp.Div(this=shifted_r, expression=args[1])), expression=args[1])
        return exp.Add(this=floored, expression=args[2])
    shifted_i = exp.Sub(this=args[0], expression=args[2])
    return exp.Add(this=floor_to(d, shifted_i, args[1]), expression=args[2])


# ------------------------------------------------------------------------- calendar boundaries


def _start_of(unit: str, d: Dialect, value: exp.Expression) -> exp.Expression:
    if unit == "week":  # Kusto weeks start on Sunday
        day = d.truncate("day", value)
        dow = d.date_part("dow", value)
        return d.add_micros(day, exp.Neg(this=exp.Mul(this=dow, expression=num(86_400_000_000))))
    return d.truncate(unit, value)


def _shift(unit: str, d: Dialect, value: exp.Expression, amount: exp.Expression) -> exp.Expression:
    if unit in ("year", "quarter", "month"):
        months = exp.Mul(this=amount, expression=num({"year": 12, "quarter": 3, "month": 1}[unit]))
        return d.add_months(value, months)
    micros = exp.Mul(this=amount, expression=num(_UNIT_TICKS[unit] // 10))
    return d.add_micros(value, micros)


def _fold_start(unit: str) -> Any:
    def fold(value: datetime | None, offset: int = 0) -> datetime | None:
        if value is None:
            return None
        v = value.astimezone(UTC)
        if unit == "day":
            start = datetime(v.year, v.month, v.day, tzinfo=UTC)
            return start + timedelta(days=offset)
        if unit == "month":
            month = v.month - 1 + offset
            return datetime(v.year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        if unit == "year":
            return datetime(v.year + offset, 1, 1, tzinfo=UTC)
        start = datetime(v.year, v.month, v.day, tzinfo=UTC) - timedelta(days=(v.weekday() + 1) % 7)
        return start + timedelta(weeks=offset)

    return fold


def _register_boundaries(unit: str) -> None:
    def start(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        base = _start_of(unit, ctx.dialect, args[0])
        return _shift(unit, ctx.dialect, base, args[1]) if len(args) > 1 else base

    def end(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        d = ctx.dialect
        base = _start_of(unit, d, args[0])
        offset = exp.Add(this=args[1], expression=num(1)) if len(args) > 1 else num(1)
        return d.add_micros(_shift(unit, d, base, offset), num(-1))

    params = [_DT, _T.LONG]
    scalar(f"startof{unit}", args=(1, 2), returns=_DT, params=params, fold=_fold_start(unit))(start)
    scalar(f"endof{unit}", args=(1, 2), returns=_DT, params=params)(end)


for _unit_name in ("day", "week", "month", "year"):
    _register_boundaries(_unit_name)


# ------------------------------------------------------------------------- add, diff, part


@scalar("datetime_add", args=3, returns=_DT, params=[_S := _T.STRING, _T.LONG, _DT], constant=[0])
def _datetime_add(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return _shift(_unit(const(call.args[0])), ctx.dialect, args[2], args[1])


@scalar("datetime_diff", args=3, returns=_T.LONG, params=[_T.STRING, _DT, _DT], constant=[0])
def _datetime_diff(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    unit = _unit(const(call.args[0]))
    d = ctx.dialect
    if unit in _UNIT_TICKS and unit not in ("week",):
        micros = max(1, _UNIT_TICKS[unit] // 10)
        # boundaries crossed, as Kusto counts them: floor(b) - floor(a) in whole units
        first = floor_to(d, d.epoch_micros(args[1]), num(micros))
        second = floor_to(d, d.epoch_micros(args[2]), num(micros))
        return d.int_div(exp.Sub(this=first, expression=second), num(micros))
    return d.call("date_diff", lit(unit), args[2], args[1])


_PARTS = {"year": "year", "quarter": "quarter", "month": "month", "week_of_year": "week", "weekofyear": "week",
          "day": "day", "dayofyear": "dayofyear", "hour": "hour", "minute": "minute", "second": "second",
          "millisecond": "millisecond"}  # fmt: skip


@scalar(["datetime_part", "datepart"], args=2, returns=_T.INT, params=[_T.STRING, _DT], constant=[0])
def _datetime_part(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    unit = _unit(const(call.args[0])).replace(" ", "")
    d = ctx.dialect
    if unit == "millisecond":
        return d.cast(exp.Mod(this=d.int_div(d.epoch_micros(args[1]), num(1000)), expression=num(1000)), _T.INT)
    if unit in ("microsecond", "nanosecond"):
        micros = exp.Mod(this=d.epoch_micros(args[1]), expression=num(1_000_000))
        return exp.Mul(this=micros, expression=num(1000)) if unit == "nanosecond" else micros
    if unit not in _PARTS:
        raise ValueError(f"unknown datetime part '{unit}'")
    return d.cast(d.date_part(_PARTS[unit], args[1]), _T.INT)


def _part(name: str, unit: str, returns: KqlType = _T.INT) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return ctx.dialect.cast(ctx.dialect.date_part(unit, args[0]), returns)

    scalar(name, args=1, returns=returns, params=[_DT])(lower)


for _name, _u in (("getyear", "year"), ("getmonth", "month"), ("monthofyear", "month"), ("dayofmonth", "day"),
                  ("dayofyear", "dayofyear"), ("hourofday", "hour"), ("weekofyear", "week"),
                  ("week_of_year", "week")):  # fmt: skip
    _part(_name, _u)


@scalar("dayofweek", args=1, returns=_TS, params=[_DT])
def _dayofweek(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    dow = ctx.dialect.date_part("dow", args[0])
    return exp.Mul(this=ctx.dialect.cast(dow, _T.LONG), expression=num(_UNIT_TICKS["day"]))


# ------------------------------------------------------------------------- construction


def _unix(name: str, per_second: int) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        d = ctx.dialect
        if per_second <= 1_000_000:
            micros = exp.Mul(this=args[0], expression=num(1_000_000 // per_second))
            return d.from_epoch_micros(d.cast(micros, _T.LONG))
        return d.from_epoch_micros(d.cast(d.int_div(args[0], num(per_second // 1_000_000)), _T.LONG))

    def fold(value: Any) -> Any:
        return None if value is None else EPOCH + timedelta(microseconds=value * 1_000_000 / per_second)

    scalar(name, args=1, returns=_DT, fold=fold)(lower)


_unix("unixtime_seconds_todatetime", 1)
_unix("unixtime_milliseconds_todatetime", 1000)
_unix("unixtime_microseconds_todatetime", 1_000_000)
_unix("unixtime_nanoseconds_todatetime", 1_000_000_000)


@scalar("make_datetime", args=(3, 7), returns=_DT)
def _make_datetime(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    parts = list(args) + [num(0)] * (6 - len(args))
    seconds = d.cast(parts[5], _T.REAL)
    return d.call("make_timestamptz", *parts[:5], seconds)


@scalar("make_timespan", args=(2, 5), returns=_TS)
def _make_timespan(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    units = {2: ["hour", "minute"], 3: ["hour", "minute", "second"], 4: ["day", "hour", "minute", "second"],
             5: ["day", "hour", "minute", "second", "tick"]}[len(args)]  # fmt: skip
    total: exp.Expression = num(0)
    for value, unit in zip(args, units, strict=True):
        scale = 1 if unit == "tick" else _UNIT_TICKS[unit]
        total = exp.Add(this=total, expression=exp.Mul(this=value, expression=num(scale)))
    return ctx.dialect.cast(total, _T.LONG)


# ------------------------------------------------------------------------- formatting

_FORMAT_TOKENS = [
    ("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("M", "%-m"), ("dd", "%d"), ("d", "%-d"), ("HH", "%H"),
    ("H", "%-H"), ("hh", "%I"), ("h", "%-I"), ("mm", "%M"), ("m", "%-M"), ("ss", "%S"), ("s", "%-S"),
    ("fffffff", "%f0"), ("ffffff", "%f"), ("fffff", "%f"), ("ffff", "%f"), ("fff", "%g"), ("ff", "%g"),
    ("f", "%g"), ("tt", "%p"),
]  # fmt: skip


def kusto_format_to_strftime(fmt: str) -> str:
    """Translate a Kusto datetime format (``yyyy-MM-dd HH:mm:ss``) to strftime."""
    out = []
    i = 0
    while i < len(fmt):
        for token, replacement in _FORMAT_TOKENS:
            if fmt.startswith(token, i):
                out.append(replacement)
                i += len(token)
                break
        else:
            out.append("%%" if fmt[i] == "%" else fmt[i])
            i += 1
    return "".join(out)


@scalar("format_datetime", args=2, returns=_T.STRING, params=[_DT, _T.STRING], constant=[1])
def _format_datetime(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    fmt = kusto_format_to_strftime(str(const(call.args[1])))
    return ctx.dialect.strftime(args[0], fmt)


