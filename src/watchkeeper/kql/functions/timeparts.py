"""Integer building blocks shared by the date, time and conversion functions.

Engines truncate integer division and remainders towards zero; calendar arithmetic needs floors
(a datetime before 1970 has negative epoch microseconds), so these helpers build them explicitly.
"""

from __future__ import annotations

from sqlglot import exp

from watchkeeper.kql.dialects import Dialect
from watchkeeper.kql.functions.sqlparts import add, mod, num, paren, sub

__all__ = [
    "DAY_TICKS",
    "EPOCH_DAY0_OFFSET_US",
    "floor_div",
    "floor_mod",
    "floor_to",
    "micros_in_second",
    "ticks_to_micros",
]

DAY_TICKS = 864_000_000_000
# Microseconds from 0001-01-01 (Kusto's tick zero) to the Unix epoch.
EPOCH_DAY0_OFFSET_US = 62_135_596_800_000_000


def floor_mod(value: exp.Expression, step: exp.Expression) -> exp.Expression:
    """The remainder of a floor division: between 0 and ``step`` - 1 for a positive ``step``."""
    return mod(add(mod(value, step), step.copy()), step.copy())


def floor_to(value: exp.Expression, step: exp.Expression) -> exp.Expression:
    """``value`` rounded down to a multiple of ``step`` (integers; correct for negative values).

    Spelled ``v - v % s - (s if v % s < 0)``: the engines share ``v % s``, so this costs one
    division where the floor-modulo form costs two (it matters for ``summarize by bin()``)."""
    remainder = mod(value, step)
    below = exp.If(this=exp.LT(this=remainder.copy(), expression=num(0)), true=step.copy(), false=num(0))
    return sub(sub(value.copy(), remainder), below)


def micros_in_second(d: Dialect, value: exp.Expression) -> exp.Expression:
    """The microseconds past the second of a datetime (0 .. 999999, before 1970 too)."""
    return floor_mod(d.epoch_micros(value), num(1_000_000))


def floor_div(d: Dialect, value: exp.Expression, step: exp.Expression) -> exp.Expression:
    """Integer division rounding down (``-7 // 2 == -4``), for a positive ``step``."""
    return paren(d.int_div(floor_to(value, step), step.copy()))


def ticks_to_micros(d: Dialect, ticks: exp.Expression) -> exp.Expression:
    """100 ns ticks to whole microseconds, rounding down."""
    return floor_div(d, ticks, num(10))
