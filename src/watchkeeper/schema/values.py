"""Text forms of datetime, timespan and guid values, as Kusto reads and prints them.

Shared by the KQL compiler (literals, constant folding), the event store (ingest coercion) and
results (JSON output). The same rules are compiled into SQL for run-time conversions.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from watchkeeper.schema.types import TICKS_PER_MICROSECOND, TICKS_PER_SECOND

__all__ = [
    "EPOCH",
    "PLAIN_ISO_PATTERN",
    "TIMESPAN_UNITS",
    "datetime_from_ticks",
    "format_datetime_iso",
    "format_timespan",
    "parse_datetime_text",
    "parse_guid_text",
    "parse_timespan_text",
    "ticks_from_datetime",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Kusto timespan units -> ticks (100 ns).
TIMESPAN_UNITS = {
    "d": 864_000_000_000, "day": 864_000_000_000, "days": 864_000_000_000,
    "h": 36_000_000_000, "hr": 36_000_000_000, "hrs": 36_000_000_000, "hour": 36_000_000_000,
    "hours": 36_000_000_000,
    "m": 600_000_000, "min": 600_000_000, "minute": 600_000_000, "minutes": 600_000_000,
    "s": 10_000_000, "sec": 10_000_000, "second": 10_000_000, "seconds": 10_000_000,
    "ms": 10_000, "milli": 10_000, "millis": 10_000, "millisecond": 10_000, "milliseconds": 10_000,
    "microsecond": 10, "microseconds": 10, "micro": 10, "micros": 10,
    "tick": 1, "ticks": 1,
}  # fmt: skip

_ISO = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2}|UTC|GMT)?\s*$",
    re.IGNORECASE,
)
_COMMAS = re.compile(r"^\s*\d{1,4}\s*(,\s*\d+(\.\d+)?\s*){2,5}$")
_SPACED_DASHES = re.compile(r"(?<=\d)\s+-\s+(?=\d)")
_SLASHED = re.compile(
    r"^\s*(\d{1,2})[/-](\d{1,2})[/-](\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(AM|PM)?)?\s*$",
    re.IGNORECASE,
)
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})(?:[T ]?(\d{2})(\d{2})(\d{2})?)?\s*$")
_TIMESPAN = re.compile(r"^\s*(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?\s*$")
_TIMESPAN_UNIT = re.compile(r"^\s*(-)?(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)\s*$", re.IGNORECASE)


# ISO 8601 with a date, a time to the minute at least, at most microseconds and an optional zone:
# datetime.fromisoformat reads exactly these the way the general parser below does (the store reads
# whole columns of them with Arrow; the pattern is also valid RE2, where \d is an ASCII digit)
PLAIN_ISO_PATTERN = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:\d\d)?"
_PLAIN_ISO = re.compile(PLAIN_ISO_PATTERN)


def parse_datetime_text(text: str) -> datetime:
    """Parse the datetime forms Kusto accepts (ISO 8601, ``MM/dd/yyyy``, RFC 822/850). Returns UTC.

    Raises ValueError when ``text`` is none of them.
    """
    if _PLAIN_ISO.fullmatch(text):  # the common case (what ingested data carries), parsed in C
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return parse_datetime_forms(text)


def parse_datetime_forms(text: str) -> datetime:
    """:func:`parse_datetime_text` without its fast path for plain ISO 8601 (every form, in Python)."""
    parts = _COMMAS.match(text)
    if parts:  # datetime(2017, 10, 1, 12, 10): year, month, day[, hour, minute, second]
        numbers = [float(p) for p in parts.group(0).split(",")]
        whole = [int(n) for n in numbers[:5]] + [0] * (5 - min(5, len(numbers)))
        seconds = numbers[5] if len(numbers) > 5 else 0.0
        base = datetime(whole[0], whole[1], whole[2], whole[3], whole[4], tzinfo=UTC)
        return base + timedelta(seconds=seconds)
    text = _SPACED_DASHES.sub("-", text)
    m = _ISO.match(text)
    if m:
        year, month, day, hour, minute, second, frac, zone = m.groups()
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            _micros(frac), tzinfo=UTC,
        )  # fmt: skip
        return value - _zone_offset(zone)
    m = _SLASHED.match(text)
    if m:
        month, day, year, hour, minute, second, frac, ampm = m.groups()
        h = int(hour or 0)
        if ampm:
            h = h % 12 + (12 if ampm.upper() == "PM" else 0)
        return datetime(
            int(year), int(month), int(day), h, int(minute or 0), int(second or 0), _micros(frac), UTC
        )
    m = _COMPACT.match(text)
    if m:
        year, month, day, hour, minute, second = m.groups()
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                        tzinfo=UTC)  # fmt: skip
    try:
        parsed = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"not a datetime: {text!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _micros(frac: str | None) -> int:
    return int((frac or "0")[:6].ljust(6, "0"))


def _zone_offset(zone: str | None) -> timedelta:
    if not zone or zone.upper() in ("Z", "UTC", "GMT"):
        return timedelta(0)
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))


def parse_timespan_text(text: str) -> int:
    """Parse a timespan (``1.02:03:04.5``, ``02:03``, ``16d``, ``1.5h``, a number of days) to ticks."""
    m = _TIMESPAN.match(text)
    if m:
        neg, days, hours, minutes, seconds, frac = m.groups()
        ticks = (
            int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
        ) * TICKS_PER_SECOND + int((frac or "0").ljust(7, "0"))
        return -ticks if neg else ticks
    m = _TIMESPAN_UNIT.match(text)
    if m and m.group(3).lower() in TIMESPAN_UNITS:
        ticks = round(float(m.group(2)) * TIMESPAN_UNITS[m.group(3).lower()])
        return -ticks if m.group(1) else ticks
    stripped = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", stripped):
        return round(float(stripped) * TIMESPAN_UNITS["d"])
    raise ValueError(f"not a timespan: {text!r}")


def parse_guid_text(text: str) -> str:
    """Normalise a guid literal to its lower-case hyphenated form."""
    return str(uuid.UUID(text.strip()))


def ticks_from_datetime(value: datetime) -> int:
    """100 ns ticks since the Unix epoch."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (
        delta.days * 86400 + delta.seconds
    ) * TICKS_PER_SECOND + delta.microseconds * TICKS_PER_MICROSECOND


def datetime_from_ticks(ticks: int) -> datetime:
    """The UTC datetime ``ticks`` (100 ns) after the Unix epoch, truncated to microseconds."""
    return EPOCH + timedelta(microseconds=ticks // TICKS_PER_MICROSECOND)


def format_datetime_iso(value: datetime) -> str:
    """Kusto's JSON form: ``2017-01-01T00:00:00.0000000Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"


def format_timespan(ticks: int) -> str:
    """Kusto's timespan text: ``[-][d.]hh:mm:ss[.fffffff]``."""
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{sign}{days}." if days else sign
    text += f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return text + (f".{frac:07d}" if frac else "")
