"""Moments of the request as query parameters: ``now()``, ``ago(x)`` and the time range.

A scheduled rule runs the same text over a new window every few minutes. Bound with literals, its
SQL changes with every window, so it compiles again each time. Bound *symbolically*, each moment
the query uses (``now()``, ``now() - 1d``, the range's start and end) becomes a named SQL
parameter, and the same SQL serves every window: the store gets the parameters' values, computed
here in Python exactly as the binder would have folded them into literals.

A moment that the binder needs as a value (a ``range ... from ago(7d)`` bound, a ``make-series``
span, a constant folded from ``now()`` such as ``startofday(now())``) cannot be a parameter: such a
query is not parameterisable and is compiled with literals for each run instead
(:func:`watchkeeper.kql.translate_parameterised` finds out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.errors import KqlError
from watchkeeper.kql.plan import BLiteral

__all__ = ["BASES", "BMoment", "MomentParameter", "parameter_name", "parameter_values"]

# the moments a request fixes: ``now()``, and the time range's start and end
BASES = ("now", "start", "end")


@dataclass(frozen=True, slots=True)
class BMoment(BLiteral):
    """A datetime literal that is a request moment plus a fixed offset (``ago(1d)`` is ``now`` -
    1 day). ``value`` is the moment as bound, so every code path that reads a literal still works;
    the lowering writes a parameter instead when it compiles symbolically."""

    base: str = "now"
    offset_us: int = 0


@dataclass(frozen=True, slots=True)
class MomentParameter:
    """One SQL parameter of a compiled query: its name and the moment it stands for."""

    name: str
    base: str
    offset_us: int

    def value(self, moments: Mapping[str, datetime]) -> datetime:
        """This parameter's value for a request's ``moments`` (base name -> datetime)."""
        base = moments.get(self.base)
        if base is None:
            raise KqlError(f"the query needs the request's {self.base} but none was given", None)
        return base + timedelta(microseconds=self.offset_us)


def parameter_name(base: str, offset_us: int) -> str:
    """A parameter's SQL name: plain letters, digits and underscores in every dialect."""
    sign = "m" if offset_us < 0 else "p"
    return f"wk_{base}_{sign}{abs(offset_us)}" if offset_us else f"wk_{base}"


def parameter_values(
    parameters: tuple[MomentParameter, ...], now: datetime, time_range: tuple[datetime, datetime] | None
) -> dict[str, datetime]:
    """The values of ``parameters`` for a run at ``now`` over ``time_range``."""
    moments = {"now": now}
    if time_range is not None:
        moments["start"], moments["end"] = time_range
    return {p.name: p.value(moments) for p in parameters}
