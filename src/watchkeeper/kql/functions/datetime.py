"""Date and time functions: ``bin``/``bin_at``, ``startof*``/``endof*``, ``datetime_add/diff/part``,
calendar parts (``dayofweek``, ``week_of_year``...), unix-time conversions, ``make_datetime``,
``make_timespan`` and time zones. Formatting lives in :mod:`timefmt`.

Datetimes are UTC microsecond timestamps; timespans are 100 ns ticks (see ``schema.types``). The
``fold`` of each function is also its Python reference semantics (tests compare the engines with it).
Kusto weeks start on Sunday; ``bin`` of a datetime counts from 0001-01-01 (Kusto's tick zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlglot import exp

from watchkeeper.errors import UnsupportedError
from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions import timefmt  # noqa: F401  (registers format_datetime/format_timespan)
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import add, const, div, is_const, mod, mul, num, paren, sub
from watchkeeper.kql.functions.timeparts import (
    DAY_TICKS,
    EPOCH_DAY0_OFFSET_US,
    floor_div,
    floor_to,
    micros_in_second,
    ticks_to_micros,
)
from watchkeeper.kql.literals import EPOCH, datetime_from_ticks, ticks_from_datetime
from watchkeeper.kql.plan import BCall, BExpr, BLiteral
from watchkeeper.schema.types import KqlType

__all__ = ["UNIT_TICKS", "floor_to", "unit_name"]

_T = KqlType
_DT = _T.DATETIME
_TS = _T.TIMESPAN

UNIT_TICKS = {
    "week": 7 * DAY_TICKS, "day": DAY_TICKS, "hour": 36_000_000_000, "minute": 600_000_000,
    "second": 10_000_000, "millisecond": 10_000, "microsecond": 10, "nanosecond": 1,
}  # fmt: skip
_MONTHS = {"year": 12, "quarter": 3, "month": 1}
_ALIASES = {"years": "year", "quarters": "quarter", "months": "month", "weeks": "week", "days": "day",
            "hours": "hour", "minutes": "minute", "seconds": "second", "milliseconds": "millisecond",
            "microseconds": "microsecond", "nanoseconds": "nanosecond", "ms": "millisecond"}  # fmt: skip


def unit_name(value: Any) -> str:
    """A Kusto period name (``'Year'``, ``'days'``...) in canonical lower-case singular form."""
    text = str(value).strip().lower()
    return _ALIASES.get(text, text)


def _check_period(index: int) -> Callable[[Any, list[BExpr], Any], None]:
    def check(binder: Any, args: list[BExpr], node: Any) -> None:
        unit = unit_name(const(args[index]))
        if unit not in UNIT_TICKS and unit not in _MONTHS:
            raise binder.error(f"unknown period '{const(args[index])}' (year, quarter, month, week, day, "
                               "hour, minute, second, millisecond, microsecond, nanosecond)", node)  # fmt: skip

    return check


def _positive(step: exp.Expression, call_step: BExpr, result: exp.Expression) -> exp.Expression:
    """Kusto gives null for a null, zero or negative bin size."""
    if isinstance(call_step, BLiteral) and call_step.value is not None and call_step.value > 0:
        return result
    return exp.If(this=exp.GT(this=step.copy(), expression=num(0)), true=result, false=exp.Null())


# ------------------------------------------------------------------------- bin, floor, bin_at


def _fold_bin(value: Any, step: Any, anchor: Any = None) -> Any:
    if value is None or step is None or step <= 0:
        return None
    if isinstance(value, datetime):
        base = ticks_from_datetime(anchor) if isinstance(anchor, datetime) else -EPOCH_DAY0_OFFSET_US * 10
        ticks = ticks_from_datetime(value) - base
        return datetime_from_ticks(ticks - ticks % int(step) + base)
    base = anchor or 0
    if isinstance(value, float) or isinstance(step, float) or isinstance(base, float):
        return math.floor((value - base) / step) * step + base
    return (value - base) - (value - base) % step + base


def _bin_type(args: list[BExpr]) -> KqlType:
    value, step = args[0].type, args[1].type
    if value in (_DT, _TS, _T.DECIMAL):
        return value
    if _T.REAL in (value, step):
        return _T.REAL
    return _T.LONG if value in (_T.INT, _T.LONG, _T.BOOL) else value


def _micros_of(d: Dialect, step: BExpr, lowered: exp.Expression) -> exp.Expression:
    if is_const(step) and step.type in (_TS, _T.LONG, _T.INT):
        return num(max(1, int(const(step)) // 10)) if const(step) is not None else exp.Null()
    return ticks_to_micros(d, lowered)


def _bin_datetime(
    d: Dialect, value: exp.Expression, micros: exp.Expression, anchor: exp.Expression | None
) -> exp.Expression:
    if anchor is None and isinstance(micros, exp.Literal) and EPOCH_DAY0_OFFSET_US % int(micros.this) == 0:
        # bins of 1h, 1d...: counting from 0001-01-01 or from 1970 gives the same bins
        return d.from_epoch_micros(floor_to(d.epoch_micros(value), micros))
    base = d.epoch_micros(anchor) if anchor is not None else num(-EPOCH_DAY0_OFFSET_US)
    shifted = sub(d.epoch_micros(value), base)
    return d.from_epoch_micros(add(floor_to(shifted, micros), base.copy()))


def _bin_number(
    call: BCall, value: exp.Expression, step: exp.Expression, anchor: exp.Expression | None
) -> exp.Expression:
    shifted = sub(value, anchor) if anchor is not None else value
    if call.type in (_T.REAL, _T.DECIMAL):
        floored: exp.Expression = mul(exp.Floor(this=div(shifted, step)), step.copy())
    else:
        floored = floor_to(shifted, step)
    return add(floored, anchor.copy()) if anchor is not None else floored


def _lower_bin(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    anchor = args[2] if len(args) > 2 else None
    if call.args[0].type is _DT:
        micros = _micros_of(ctx.dialect, call.args[1], args[1])
        result = _bin_datetime(ctx.dialect, args[0], micros, anchor)
    else:
        result = _bin_number(call, args[0], args[1], anchor)
    return _positive(args[1], call.args[1], result)


scalar(["bin", "floor"], args=2, returns=_bin_type, fold=_fold_bin)(_lower_bin)
scalar("bin_at", args=3, returns=_bin_type, fold=_fold_bin)(_lower_bin)


# ------------------------------------------------------------------------- calendar boundaries


def start_of_day(d: Dialect, value: exp.Expression) -> exp.Expression:
    return d.from_epoch_micros(floor_to(d.epoch_micros(value), num(DAY_TICKS // 10)))


def _start_of(unit: str, d: Dialect, value: exp.Expression) -> exp.Expression:
    """Start of the calendar unit, counted back in whole days from the start of the day: integer
    arithmetic, right before 1970 too (ClickHouse's toStartOf* clamp there)."""
    day = start_of_day(d, value)
    if unit == "day":
        return day
    days_back = {"week": d.date_part("dow", value.copy()),  # Kusto weeks start on Sunday
                 "month": sub(d.date_part("day", value.copy()), num(1)),
                 "year": sub(d.date_part("dayofyear", value.copy()), num(1))}[unit]  # fmt: skip
    return paren(d.add_micros(day, mul(days_back, num(-DAY_TICKS // 10))))


def shift(unit: str, d: Dialect, value: exp.Expression, amount: exp.Expression) -> exp.Expression:
    """``value`` moved by ``amount`` periods (months clamp to the month's last day, as in .NET)."""
    if unit in _MONTHS:
        months = mul(amount, num(_MONTHS[unit])) if _MONTHS[unit] != 1 else amount
        return paren(d.add_months(value, months))
    if unit == "nanosecond":
        return paren(d.add_micros(value, d.int_div(amount, num(1000))))
    return paren(d.add_micros(value, mul(amount, num(UNIT_TICKS[unit] // 10))))


def _py_shift(unit: str, value: datetime, amount: int) -> datetime:
    if unit in _MONTHS:
        months = value.month - 1 + amount * _MONTHS[unit]
        year, month = value.year + months // 12, months % 12 + 1
        last = (datetime(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        return value.replace(year=year, month=month, day=min(value.day, last))
    return value + timedelta(microseconds=int(amount * UNIT_TICKS[unit] / 10))


def _py_start(unit: str, value: datetime) -> datetime:
    v = value.astimezone(UTC)
    day = datetime(v.year, v.month, v.day, tzinfo=UTC)
    if unit == "week":
        return day - timedelta(days=(v.weekday() + 1) % 7)
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1) if unit == "year" else day


def _fold_boundary(unit: str, end: bool) -> Callable[..., Any]:
    def fold(value: datetime | None, offset: int | None = 0) -> datetime | None:
        if value is None or offset is None:
            return None
        start = _py_shift(unit, _py_start(unit, value), int(offset) + (1 if end else 0))
        return start - timedelta(microseconds=1) if end else start

    return fold


def _register_boundaries(unit: str) -> None:
    def start(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        base = _start_of(unit, ctx.dialect, args[0])
        return shift(unit, ctx.dialect, base, args[1]) if len(args) > 1 else base

    def end(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        d = ctx.dialect
        offset = add(args[1], num(1)) if len(args) > 1 else num(1)
        return paren(d.add_micros(shift(unit, d, _start_of(unit, d, args[0]), offset), num(-1)))

    params = [_DT, _T.LONG]
    scalar(f"startof{unit}", args=(1, 2), returns=_DT, params=params, fold=_fold_boundary(unit, False))(start)
    scalar(f"endof{unit}", args=(1, 2), returns=_DT, params=params, fold=_fold_boundary(unit, True))(end)


for _unit_name in ("day", "week", "month", "year"):
    _register_boundaries(_unit_name)


# ------------------------------------------------------------------------- add, diff


def _fold_add(unit: Any, amount: Any, value: Any) -> Any:
    if amount is None or value is None:
        return None
    return _py_shift(unit_name(unit), value, int(amount))


@scalar("datetime_add", args=3, returns=_DT, params=[_T.STRING, _T.LONG, _DT], constant=[0],
        check=_check_period(0), fold=_fold_add)  # fmt: skip
def _datetime_add(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return shift(unit_name(const(call.args[0])), ctx.dialect, args[2], args[1])


def _py_index(unit: str, value: datetime) -> int:
    """How many ``unit`` boundaries lie between a fixed origin and ``value`` (floor)."""
    v = value.astimezone(UTC)
    if unit in _MONTHS:
        return (v.year * 12 + v.month - 1) // _MONTHS[unit]
    micros = ticks_from_datetime(v) // 10
    if unit == "week":  # Sunday-based: 1970-01-04 was a Sunday
        return (micros // 86_400_000_000 - 3) // 7
    if unit == "nanosecond":
        return micros * 1000
    return micros // (UNIT_TICKS[unit] // 10)


def _fold_diff(unit: Any, first: Any, second: Any) -> Any:
    if first is None or second is None:
        return None
    name = unit_name(unit)
    return _py_index(name, first) - _py_index(name, second)


def _sql_index(unit: str, d: Dialect, value: exp.Expression) -> exp.Expression:
    if unit in _MONTHS:
        months = add(mul(d.date_part("year", value), num(12)), sub(d.date_part("month", value), num(1)))
        return paren(d.int_div(months, num(_MONTHS[unit]))) if unit != "month" else months
    micros = d.epoch_micros(value)
    if unit == "week":
        days = floor_div(d, micros, num(86_400_000_000))
        return floor_div(d, sub(days, num(3)), num(7))
    if unit == "nanosecond":
        return mul(micros, num(1000))
    if unit == "microsecond":
        return micros
    return floor_div(d, micros, num(UNIT_TICKS[unit] // 10))


@scalar("datetime_diff", args=3, returns=_T.LONG, params=[_T.STRING, _DT, _DT], constant=[0],
        check=_check_period(0), fold=_fold_diff)  # fmt: skip
def _datetime_diff(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Calendar boundaries crossed from ``datetime2`` to ``datetime1`` (Kusto's definition)."""
    unit = unit_name(const(call.args[0]))
    d = ctx.dialect
    return d.cast(sub(_sql_index(unit, d, args[1]), _sql_index(unit, d, args[2])), _T.LONG)


# ------------------------------------------------------------------------- parts


def _iso_week(value: datetime) -> int:
    return value.astimezone(UTC).isocalendar()[1]


def _py_part(part: str, value: datetime) -> int:
    v = value.astimezone(UTC)
    micros = v.microsecond
    table: dict[str, Callable[[], int]] = {
        "year": lambda: v.year, "quarter": lambda: (v.month - 1) // 3 + 1, "month": lambda: v.month,
        "week_of_year": lambda: _iso_week(v), "day": lambda: v.day, "dayofyear": lambda: v.timetuple().tm_yday,
        "hour": lambda: v.hour, "minute": lambda: v.minute, "second": lambda: v.second,
        "millisecond": lambda: micros // 1000, "microsecond": lambda: micros, "nanosecond": lambda: micros * 1000,
    }  # fmt: skip
    return table[part]()


_PART_ALIASES = {
    "weekofyear": "week_of_year",
    "week": "week_of_year",
    "dayofmonth": "day",
    "doy": "dayofyear",
}
_PARTS = ("year", "quarter", "month", "week_of_year", "day", "dayofyear", "hour", "minute", "second",
          "millisecond", "microsecond", "nanosecond")  # fmt: skip


def _part_name(value: Any) -> str:
    text = str(value).strip().lower().replace(" ", "")
    return _PART_ALIASES.get(text, _ALIASES.get(text, text))


def sql_part(part: str, d: Dialect, value: exp.Expression) -> exp.Expression:
    """One calendar or clock component of a datetime, as an integer."""
    within_second = micros_in_second(d, value)
    if part == "millisecond":
        return paren(d.int_div(within_second, num(1000)))
    if part == "microsecond":
        return within_second
    if part == "nanosecond":
        return mul(within_second, num(1000))
    return d.date_part({"week_of_year": "week"}.get(part, part), value)


def _check_part(binder: Any, args: list[BExpr], node: Any) -> None:
    if _part_name(const(args[0])) not in _PARTS:
        raise binder.error(f"unknown datetime part '{const(args[0])}' ({', '.join(_PARTS)})", node)


@scalar(["datetime_part", "datepart"], args=2, returns=_T.INT, params=[_T.STRING, _DT], constant=[0],
        check=_check_part, fold=lambda p, v: None if v is None else _py_part(_part_name(p), v))  # fmt: skip
def _datetime_part(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    return ctx.dialect.cast(sql_part(_part_name(const(call.args[0])), ctx.dialect, args[1]), _T.INT)


def _part_function(names: list[str], part: str) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        return ctx.dialect.cast(sql_part(part, ctx.dialect, args[0]), _T.INT)

    def fold(value: Any) -> Any:
        return None if value is None else _py_part(part, value)

    scalar(names, args=1, returns=_T.INT, params=[_DT], fold=fold)(lower)


for _names, _part in ((["getyear"], "year"), (["getmonth", "monthofyear"], "month"), (["dayofmonth"], "day"),
                      (["dayofyear"], "dayofyear"), (["hourofday"], "hour"),
                      (["week_of_year", "weekofyear"], "week_of_year")):  # fmt: skip
    _part_function(_names, _part)


def _fold_dayofweek(value: Any) -> Any:
    return None if value is None else (value.astimezone(UTC).weekday() + 1) % 7 * DAY_TICKS


@scalar("dayofweek", args=1, returns=_TS, params=[_DT], fold=_fold_dayofweek)
def _dayofweek(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Days since the preceding Sunday, as a timespan."""
    dow = ctx.dialect.cast(ctx.dialect.date_part("dow", args[0]), _T.LONG)
    return mul(dow, num(DAY_TICKS))


# ------------------------------------------------------------------------- unix time


def _unix(name: str, per_second: int) -> None:
    def lower(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
        d = ctx.dialect
        if call.args[0].type in (_T.REAL, _T.DECIMAL, _T.UNKNOWN, _T.DYNAMIC, _T.STRING):
            micros = exp.Round(this=mul(d.cast(args[0], _T.REAL), num(1_000_000 / per_second)))
            return d.from_epoch_micros(d.cast(micros, _T.LONG))
        if per_second <= 1_000_000:
            return d.from_epoch_micros(mul(d.cast(args[0], _T.LONG), num(1_000_000 // per_second)))
        return d.from_epoch_micros(floor_div(d, d.cast(args[0], _T.LONG), num(per_second // 1_000_000)))

    def fold(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, int):
            return EPOCH + timedelta(microseconds=value * 1_000_000 // per_second)
        return EPOCH + timedelta(microseconds=round(float(value) * 1_000_000 / per_second))

    scalar(name, args=1, returns=_DT, params=[_T.REAL], fold=fold)(lower)


_unix("unixtime_seconds_todatetime", 1)
_unix("unixtime_milliseconds_todatetime", 1000)
_unix("unixtime_microseconds_todatetime", 1_000_000)
_unix("unixtime_nanoseconds_todatetime", 1_000_000_000)


# ------------------------------------------------------------------------- construction


def _days_in_month(d: Dialect, year: exp.Expression, month: exp.Expression) -> exp.Expression:
    leap = exp.Or(this=exp.And(this=exp.EQ(this=mod(year, num(4)), expression=num(0)),
                               expression=exp.NEQ(this=mod(year.copy(), num(100)), expression=num(0))),
                  expression=exp.EQ(this=mod(year.copy(), num(400)), expression=num(0)))  # fmt: skip
    february = add(num(28), exp.If(this=exp.Paren(this=leap), true=num(1), false=num(0)))
    # 31 for Jan, Mar, May, Jul, Aug, Oct, Dec; 30 otherwise: (m + m // 8) is odd for the long months
    other = add(num(30), mod(add(month, d.int_div(month.copy(), num(8))), num(2)))
    return exp.If(this=exp.EQ(this=month.copy(), expression=num(2)), true=february, false=other)


def _between(value: exp.Expression, low: int, high: exp.Expression | int) -> exp.Expression:
    top = num(high) if isinstance(high, int) else high
    return exp.Between(this=value, low=num(low), high=top)


def days_from_civil(
    d: Dialect, year: exp.Expression, month: exp.Expression, day: exp.Expression
) -> exp.Expression:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm, years >= 1)."""
    march = exp.LTE(this=month, expression=num(2))
    y = sub(year, exp.If(this=march, true=num(1), false=num(0)))
    era = d.int_div(y, num(400))
    yoe = sub(y.copy(), mul(era, num(400)))
    shifted = add(month.copy(), exp.If(this=march.copy(), true=num(9), false=num(-3)))
    doy = add(d.int_div(add(mul(num(153), shifted), num(2)), num(5)), sub(day, num(1)))
    doe = add(add(mul(yoe, num(365)), d.int_div(yoe.copy(), num(4))),
              sub(doy, d.int_div(yoe.copy(), num(100))))  # fmt: skip
    return sub(add(mul(era.copy(), num(146_097)), doe), num(719_468))


def _fold_make_datetime(*parts: Any) -> Any:
    if any(p is None for p in parts):
        return None
    values = list(parts) + [0] * (6 - len(parts))
    try:
        base = datetime(
            int(values[0]), int(values[1]), int(values[2]), int(values[3]), int(values[4]), tzinfo=UTC
        )
    except ValueError:
        return None
    seconds = float(values[5])
    if not 0 <= seconds < 60:
        return None
    return base + timedelta(microseconds=round(seconds * 1_000_000))


@scalar("make_datetime", args=(3, 6), returns=_DT, params=[_T.LONG, _T.LONG, _T.LONG, _T.LONG, _T.LONG, _T.REAL],
        fold=_fold_make_datetime)  # fmt: skip
def _make_datetime(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Null for an impossible date or time, as Kusto does (no engine error)."""
    d = ctx.dialect
    y, m, day, hour, minute = (d.cast(a, _T.LONG) for a in (list(args) + [num(0)] * 5)[:5])
    seconds = d.cast(args[5], _T.REAL) if len(args) > 5 else num(0)
    days = days_from_civil(d, y, m, day)
    clock = add(mul(hour, num(3_600_000_000)), mul(minute, num(60_000_000)))
    micros = add(
        add(mul(days, num(86_400_000_000)), clock), d.cast(exp.Round(this=mul(seconds, num(1e6))), _T.LONG)
    )
    valid = exp.And(this=exp.And(this=_between(y.copy(), 1, 9999), expression=_between(m.copy(), 1, 12)),
                    expression=exp.And(this=_between(day.copy(), 1, _days_in_month(d, y.copy(), m.copy())),
                                       expression=exp.And(this=_between(hour.copy(), 0, 23),
                                                          expression=_between(minute.copy(), 0, 59))))  # fmt: skip
    seconds_ok = exp.And(this=exp.GTE(this=seconds.copy(), expression=num(0)),
                         expression=exp.LT(this=seconds.copy(), expression=num(60)))  # fmt: skip
    return exp.If(
        this=exp.And(this=valid, expression=seconds_ok), true=d.from_epoch_micros(micros), false=exp.Null()
    )


_TIMESPAN_UNITS = {
    2: ("hour", "minute"),
    3: ("hour", "minute", "second"),
    4: ("day", "hour", "minute", "second"),
}


def _fold_make_timespan(*parts: Any) -> Any:
    if any(p is None for p in parts):
        return None
    units = _TIMESPAN_UNITS[len(parts)]
    return sum(round(float(v) * UNIT_TICKS[u]) if u == "second" else int(v) * UNIT_TICKS[u]
               for v, u in zip(parts, units, strict=True))  # fmt: skip


@scalar("make_timespan", args=(2, 4), returns=_TS, params=[_T.LONG, _T.LONG, _T.REAL, _T.REAL],
        fold=_fold_make_timespan)  # fmt: skip
def _make_timespan(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    d = ctx.dialect
    total: exp.Expression = num(0)
    for value, unit in zip(args, _TIMESPAN_UNITS[len(args)], strict=True):
        if unit == "second":
            term = d.cast(exp.Round(this=mul(d.cast(value, _T.REAL), num(UNIT_TICKS[unit]))), _T.LONG)
        else:
            term = mul(d.cast(value, _T.LONG), num(UNIT_TICKS[unit]))
        total = add(total, term)
    return total


# ------------------------------------------------------------------------- time zones


def _zone(name: Any) -> ZoneInfo:
    return ZoneInfo(str(name))


def _fold_to_local(value: Any, zone: Any) -> Any:
    if value is None or zone is None:
        return None
    local = value.astimezone(_zone(zone))
    return local.replace(tzinfo=UTC)


def _fold_to_utc(value: Any, zone: Any) -> Any:
    if value is None or zone is None:
        return None
    return value.replace(tzinfo=_zone(zone)).astimezone(UTC)


@scalar("datetime_utc_to_local", args=2, returns=_DT, params=[_DT, _T.STRING], fold=_fold_to_local)
def _utc_to_local(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The wall-clock time in a time zone (an IANA name), as a datetime."""
    return ctx.dialect.utc_to_local(args[0], args[1])


@scalar("datetime_local_to_utc", args=2, returns=_DT, params=[_DT, _T.STRING], fold=_fold_to_utc)
def _local_to_utc(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """The UTC instant of a wall-clock time in a time zone."""
    return ctx.dialect.local_to_utc(args[0], args[1])


@scalar("ingestion_time", args=0, returns=_DT)
def _ingestion_time(ctx: LowerContext, call: BCall, args: list[exp.Expression]) -> exp.Expression:
    """Refused precisely: Kusto keeps the moment each row was stored; watchkeeper keeps when a
    batch was committed (the ``Usage`` table), not a time per row."""
    raise UnsupportedError(
        "ingestion_time(): watchkeeper does not keep the time each row was stored; TimeGenerated is "
        "the event's time, and the Usage table records when each batch became queryable"
    )
