"""ISO 8601 time intervals as the query APIs take them (``timespan`` in Log Analytics, ``Timespan``
in Graph's runHuntingQuery): ``PT1H`` (the last hour), ``start/end``, ``start/PT1H``, ``P1D/end``,
or (Graph) a single start."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from watchkeeper.errors import InvalidRequestError
from watchkeeper.schema.values import parse_datetime_text

__all__ = ["InvalidInterval", "parse_duration", "parse_interval"]

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


class InvalidInterval(InvalidRequestError):
    """A ``timespan`` that is not an ISO 8601 duration or interval."""


def parse_duration(text: str) -> timedelta:
    """``P1D``, ``PT3600.0S``, ``P1DT12H``, ``P2W`` (years and months have no fixed length: refused)."""
    match = _DURATION.match(text.strip())
    if not match or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise InvalidInterval(f"{text!r} is not an ISO 8601 duration such as PT1H or P7D")
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return timedelta(**parts)


def parse_interval(
    text: str, *, now: datetime | None = None, single_is_start: bool = False
) -> tuple[datetime, datetime]:
    """(start, end) of an interval; a bare duration ends now."""
    now = now or datetime.now(UTC)
    value = text.strip()
    if "/" in value:
        first, _, second = value.partition("/")
        if first.upper().startswith("P"):
            end = _moment(second)
            return end - parse_duration(first), end
        start = _moment(first)
        end = start + parse_duration(second) if second.upper().startswith("P") else _moment(second)
        if end < start:
            raise InvalidInterval(f"the interval {text!r} ends before it starts")
        return start, end
    if value.upper().startswith("P"):
        return now - parse_duration(value), now
    if single_is_start:
        return _moment(value), now
    raise InvalidInterval(f"{text!r} is not an ISO 8601 duration (PT1H) or interval (start/end)")


def _moment(text: str) -> datetime:
    try:
        return parse_datetime_text(text.strip())
    except ValueError:
        raise InvalidInterval(f"{text!r} is not an ISO 8601 date and time") from None
