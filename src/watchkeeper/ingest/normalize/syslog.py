"""Syslog headers and device times, shared by the syslog, CEF and LEEF parsers.

* RFC 5424 (``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]``) and RFC 3164
  (``<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG``), read as the log-ingestion spec section D says:
  RFC 3164 leniently (no HOSTNAME, an ISO timestamp, no PRI at all as in files written by rsyslog;
  no year or zone: the receiver's year and local zone).
* Facility and severity names: the spec's table (section D), which the ``Syslog`` table's
  ``Facility``/``SeverityLevel`` strings use.
* Device times of CEF (``rt``, ``start``, ``end``: epoch milliseconds or ``MMM dd [yyyy] HH:mm:ss``)
  and LEEF (``devTime`` with ``devTimeFormat``, a Java SimpleDateFormat pattern), sections E and F.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = [
    "FACILITIES",
    "PAYLOADS",
    "SEVERITIES",
    "Arrival",
    "SyslogHeader",
    "device_time",
    "java_time",
    "local_zone",
    "parse_header",
]

# spec D; 12-15 are "rarely used" and named as rsyslog names them
FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
              "ftp", "ntp", "audit", "alert", "clock", *(f"local{n}" for n in range(8)))  # fmt: skip
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

_PRI = re.compile(r"<(\d{1,3})>")
_RFC5424 = re.compile(r"1 (\S+) (\S+) (\S+) (\S+) (\S+) ")
_RFC5424_START = re.compile(r"1 (?:-|\d{4}-)")
_BSD_TIME = re.compile(r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))? ")
_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) ")
_TAG = re.compile(r"([^\s\[\]:]{1,48})(?:\[([^\]\s]{0,128})\])?: ?")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), start=1)}  # fmt: skip
_SD_ESCAPE = re.compile(r'\\(["\\\]])')
_BOM = "\ufeff"
# messages that carry an event format of their own (spec E, F): never a HOSTNAME or TAG
PAYLOADS = ("CEF:", "LEEF:")


@dataclass(frozen=True, slots=True)
class Arrival:
    """How a message arrived: the sender's address (empty for files), when it was received (None
    for files: their rows are timed by the events), and the collector's host name (the receiver)."""

    sender: str = ""
    received: datetime | None = None
    collector: str = ""

    def time_generated(self, event_time: datetime | None) -> datetime:
        """``TimeGenerated``: the receipt time for live messages, as a collector records it (the
        device's own time is kept in ``EventTime``/``ReceiptTime``); for files the event's time."""
        return self.received or event_time or datetime.now(UTC)


@dataclass(slots=True)
class SyslogHeader:
    """What a syslog header says; ``message`` is the rest (MSG, or the whole line without a header)."""

    message: str
    facility: str = ""
    severity: str = ""
    time: datetime | None = None
    host: str = ""
    app: str = ""
    procid: str = ""
    msgid: str = ""
    structured: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def process_id(self) -> int | None:
        """PROCID as the ``ProcessID`` (int) column takes it; None when it is no such number."""
        if self.procid.isascii() and self.procid.isdigit() and int(self.procid) < 2**31:
            return int(self.procid)
        return None


def local_zone() -> tzinfo:
    """The receiver's local zone, which RFC 3164 times are in (they carry none)."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


def parse_header(text: str, now: datetime) -> SyslogHeader:
    """Read a syslog header (RFC 5424, RFC 3164, or a file line without PRI); ``now`` is when the
    message arrived (RFC 3164 takes its year from it). ValueError says why a header is unreadable."""
    pri = _PRI.match(text)
    if pri is None:
        return _bsd(text, 0, now, SyslogHeader(message=""))
    code = int(pri.group(1))
    if code > 191 or (len(pri.group(1)) > 1 and pri.group(1).startswith("0")):
        raise ValueError(f"PRI <{pri.group(1)}> is not a priority (0-191, no leading zeros)")
    header = SyslogHeader(message="", facility=FACILITIES[code >> 3], severity=SEVERITIES[code & 7])
    if _RFC5424.match(text, pri.end()):
        return _rfc5424(text, pri.end(), header)
    if _RFC5424_START.match(text, pri.end()):
        raise ValueError("RFC 5424 header is incomplete (TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD)")
    return _bsd(text, pri.end(), now, header)


def _nil(value: str) -> str:
    return "" if value == "-" else value


def _rfc5424(text: str, at: int, header: SyslogHeader) -> SyslogHeader:
    fields = _RFC5424.match(text, at)
    assert fields is not None
    stamp, header.host, header.app, header.procid, header.msgid = map(_nil, fields.groups())
    if stamp:
        header.time = _rfc3339(stamp)
    rest = text[fields.end() :]
    if rest.startswith("-"):
        rest = rest[1:]
    else:
        header.structured, rest = _structured_data(rest)
    rest = rest[1:] if rest.startswith(" ") else rest
    header.message = rest[1:] if rest.startswith(_BOM) else rest
    return header


def _rfc3339(stamp: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_six_digit_fraction(stamp))
    except ValueError:
        raise ValueError(f"TIMESTAMP {stamp!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"TIMESTAMP {stamp!r} has no time zone (RFC 5424 requires Z or +hh:mm)")
    return parsed


def _six_digit_fraction(stamp: str) -> str:
    """Python reads at most 6 fraction digits; RFC 3339 allows more (RFC 5424 says <= 6, some send 9)."""
    return re.sub(r"(\.\d{6})\d+", r"\1", stamp)


_SD_ELEMENT = re.compile(r'\[([^\s=\]"]{1,32})((?:\s+[^\s=\]"]{1,32}="(?:[^"\\]|\\.)*")*)\s*\]', re.DOTALL)
_SD_PARAM = re.compile(r'([^\s=\]"]{1,32})="((?:[^"\\]|\\.)*)"', re.DOTALL)


def _structured_data(text: str) -> tuple[dict[str, dict[str, str]], str]:
    """``[id k="v" ...]...`` at the start of ``text``: the elements, and what follows them."""
    elements: dict[str, dict[str, str]] = {}
    at = 0
    while at < len(text) and text[at] == "[":
        element = _SD_ELEMENT.match(text, at)
        if element is None:
            raise ValueError(f"STRUCTURED-DATA is malformed at {text[at : at + 40]!r}")
        params = {k: _SD_ESCAPE.sub(r"\1", v) for k, v in _SD_PARAM.findall(element.group(2))}
        elements[element.group(1)] = params
        at = element.end()
    if at == 0:
        raise ValueError(f"STRUCTURED-DATA must be '-' or start with '[': {text[:40]!r}")
    return elements, text[at:]


def _bsd(text: str, at: int, now: datetime, header: SyslogHeader) -> SyslogHeader:
    """RFC 3164, leniently: the timestamp (BSD or ISO) and HOSTNAME may be missing; TAG[PID]: too."""
    header.time, at = _bsd_time(text, at, now)
    head, _, tail = text[at:].partition(" ")
    if header.time is not None and tail and not _payload_or_tag(head):
        header.host, at = head, at + len(head) + 1
    tag = None if text.startswith(PAYLOADS, at) else _TAG.match(text, at)
    if tag is not None:
        header.app, header.procid = tag.group(1), tag.group(2) or ""
        at = tag.end()
    header.message = text[at:]
    return header


def _payload_or_tag(word: str) -> bool:
    return word.startswith(PAYLOADS) or word.endswith(":") or _TAG.fullmatch(word + " ") is not None


def _bsd_time(text: str, at: int, now: datetime) -> tuple[datetime | None, int]:
    bsd = _BSD_TIME.match(text, at)
    if bsd is not None and bsd.group(1) in _MONTHS:
        return _bsd_datetime(bsd, now), bsd.end()
    iso = _ISO_TIME.match(text, at)
    if iso is not None:
        try:
            stamp = datetime.fromisoformat(_six_digit_fraction(iso.group(1)))
        except ValueError:
            return None, at
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=local_zone())), iso.end()
    return None, at


def _bsd_datetime(bsd: re.Match[str], now: datetime) -> datetime:
    month, day, hour, minute, second = _MONTHS[bsd.group(1)], *map(int, bsd.groups()[1:5])
    micros = int((bsd.group(6) or "0").ljust(6, "0"))
    zone = local_zone()
    year = now.astimezone(zone).year
    try:
        stamp = datetime(year, month, day, hour, minute, second, micros, tzinfo=zone)
    except ValueError:  # Feb 29 of a message from the previous (leap) year, or a day that does not exist
        stamp = datetime(year - 1, month, min(day, 28), hour, minute, second, micros, tzinfo=zone)
    # a time more than a day ahead is from last year: "Dec 31" received on Jan 1
    return stamp.replace(year=stamp.year - 1) if stamp - now > timedelta(days=1) else stamp


# ------------------------------------------------------------------------------ device times

_EPOCH = re.compile(r"\d{10,13}")
_CEF_TIMES = ("%b %d %Y %H:%M:%S.%f", "%b %d %Y %H:%M:%S", "%b %d %H:%M:%S.%f", "%b %d %H:%M:%S")
_ZONE_SUFFIX = re.compile(r" (UTC|GMT|Z|[+-]\d\d:?\d\d)$")


def device_time(text: str, now: datetime) -> datetime | None:
    """A CEF/LEEF device time: epoch seconds or milliseconds, ``MMM dd [yyyy] HH:mm:ss[.SSS] [zone]``
    or ISO 8601; times without a zone are in the receiver's. None when it is none of these."""
    text = text.strip()
    if _EPOCH.fullmatch(text):
        value = int(text)
        return datetime.fromtimestamp(value / 1000 if len(text) == 13 else value, UTC)
    zone_match = _ZONE_SUFFIX.search(text)
    zone = _zone(zone_match.group(1)) if zone_match else local_zone()
    body = text[: zone_match.start()] if zone_match else text
    for pattern in _CEF_TIMES:
        try:
            parsed = datetime.strptime(body, pattern)  # naive: the zone is applied below
        except ValueError:
            continue
        year = parsed.year if "%Y" in pattern else now.year
        return parsed.replace(year=year, tzinfo=zone)
    try:
        iso = datetime.fromisoformat(_six_digit_fraction(text))
    except ValueError:
        return None
    return iso if iso.tzinfo else iso.replace(tzinfo=local_zone())


def _zone(text: str) -> tzinfo:
    if text in {"UTC", "GMT", "Z"}:
        return UTC
    return datetime.strptime(text.replace(":", ""), "%z").tzinfo or UTC


# Java SimpleDateFormat letters -> strptime directives (the ones LEEF devices use)
_JAVA = re.compile(r"yyyy|yy|MMM|MM|dd|d|HH|H|hh|mm|ss|SSS|a|zzz|z|Z|XXX|X|'[^']*'")
_JAVA_TO_STRPTIME = {"yyyy": "%Y", "yy": "%y", "MMM": "%b", "MM": "%m", "dd": "%d", "d": "%d", "HH": "%H",
                     "H": "%H", "hh": "%I", "mm": "%M", "ss": "%S", "SSS": "%f", "a": "%p", "zzz": "%Z",
                     "z": "%Z", "Z": "%z", "XXX": "%z", "X": "%z"}  # fmt: skip
_JAVA_ZONE_SUFFIX = re.compile(r" (?:zzz|z|Z|XXX|X)$")


def java_time(text: str, pattern: str) -> datetime | None:
    """``text`` read with the Java SimpleDateFormat ``pattern`` (LEEF ``devTimeFormat``); None
    when it does not fit. Times without a zone are in the receiver's."""
    text, zone = text.strip(), local_zone()
    zone_match, pattern_zone = _ZONE_SUFFIX.search(text), _JAVA_ZONE_SUFFIX.search(pattern)
    if zone_match and pattern_zone:  # strptime reads "UTC" but leaves the time naive: apply it here
        text, pattern, zone = (
            text[: zone_match.start()],
            pattern[: pattern_zone.start()],
            _zone(zone_match[1]),
        )
    directives = _JAVA.sub(lambda m: _JAVA_TO_STRPTIME.get(m.group(0), m.group(0).strip("'")),
                           pattern.replace("%", "%%"))  # fmt: skip
    try:
        parsed = datetime.strptime(text, directives)  # naive: the zone is applied below
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
