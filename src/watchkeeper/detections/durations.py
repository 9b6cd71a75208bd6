"""Durations as analytics rules write them (``../shared/specs/sentinel-content.md`` section 1):
``<int>m|h|d`` (``5m``, ``1h``, ``1d``), .NET TimeSpan text (``hh:mm:ss``, ``d.hh:mm:ss``, seconds
may carry a fraction) and ISO 8601 (``PT5H``, ``P1D``, ``P1DT12H``, ``P2W``).

Years and months are refused: their length depends on the calendar, and no rule needs them.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "iso_duration", "parse_duration"]

_SHORT = re.compile(r"^(\d{1,6})([mhd])$")
_TIMESPAN = re.compile(r"^(?:(\d{1,5})\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?$")
_ISO = re.compile(
    r"^P(?:(?P<weeks>\d{1,5})W)?(?:(?P<days>\d{1,6})D)?"
    r"(?:T(?:(?P<hours>\d{1,7})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,10}(?:[.,]\d{1,7})?)S)?)?$"
)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """The duration ``text`` means; ``ValueError`` saying which forms are accepted otherwise."""
    value = text.strip()
    if short := _SHORT.match(value):
        return timedelta(**{_UNITS[short[2]]: int(short[1])})
    if span := _TIMESPAN.match(value):
        return _timespan(span)
    iso = _ISO.match(value.upper())
    if iso and any(iso.groupdict().values()) and not value.upper().endswith("T"):
        return _iso(iso)
    raise ValueError(_explain(value))


def _timespan(span: re.Match[str]) -> timedelta:
    days, hours, minutes, seconds, fraction = span.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        raise ValueError(f"'{span[0]}' is not a valid hh:mm:ss time (hours 0-23, minutes and seconds 0-59)")
    micro = int((fraction or "0").ljust(7, "0")) // 10
    return timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds or 0),
        microseconds=micro,
    )


def _iso(iso: re.Match[str]) -> timedelta:
    parts = {name: value for name, value in iso.groupdict().items() if value is not None}
    whole, _, fraction = parts.pop("seconds", "0").replace(",", ".").partition(".")
    micro = int(fraction.ljust(7, "0")) // 10  # exact: no float for the fraction
    return timedelta(
        seconds=int(whole), microseconds=micro, **{name: int(value) for name, value in parts.items()}
    )


def _explain(value: str) -> str:
    if re.fullmatch(r"\d+[MHDS]", value):
        return f"'{value}': the unit is written lower-case: m (minutes), h (hours) or d (days)"
    if re.fullmatch(r"\d+", value):
        return f"'{value}' has no unit: write e.g. {value}m, {value}h or {value}d"
    if re.fullmatch(r"P(\d+Y)?(\d+M)?.*", value.upper()) and re.match(r"P\d+[YM]", value.upper()):
        return f"'{value}': years and months are not fixed durations; use days (P30D)"
    return f"'{value}' is not a duration: write 5m, 1h, 1d, hh:mm:ss, d.hh:mm:ss or ISO 8601 (PT5H)"


def format_duration(duration: timedelta) -> str:
    """``duration`` in the rule files' short form: ``1d``, ``5h``, ``30m``, else ``d.hh:mm:ss[.fffffff]``."""
    seconds = duration.total_seconds()
    whole = duration.microseconds == 0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole and seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    hours, rest = divmod(duration.seconds, 3600)
    text = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if duration.microseconds:
        text += f".{duration.microseconds * 10:07d}"
    return f"{duration.days}.{text}" if duration.days else text


def iso_duration(duration: timedelta) -> str:
    """``duration`` in ISO 8601 as the ARM API writes it: ``PT5M``, ``PT1H``, ``P1D``, ``P1DT2H30M``."""
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
    if seconds or duration.microseconds:
        time += f"{seconds}.{duration.microseconds:06d}S" if duration.microseconds else f"{seconds}S"
    day = f"{duration.days}D" if duration.days else ""
    return f"P{day}T{time}" if time else (f"P{day}" if day else "PT0S")
