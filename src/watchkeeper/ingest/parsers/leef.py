"""LEEF (IBM QRadar Log Event Extended Format) 1.0 and 2.0, bare or inside a syslog header, into
``CommonSecurityLog`` (log-ingestion spec section F).

``LEEF:1.0|Vendor|Product|Version|EventID|`` then attributes separated by TAB;
``LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|`` then attributes separated by the delimiter
(one character, or hex as ``x09``/``0x09``; empty means TAB). Header fields escape ``|`` as ``\\|``;
values escape the delimiter and ``=`` with ``\\``. Devices that separate LEEF 1.0 attributes with
spaces instead of TABs are read as CEF extensions are (a value runs to the next `` key=``).

Columns: the spec's mapping (``src`` SourceIP, ``dst`` DestinationIP, ``srcPort``/``dstPort``,
``usrName`` SourceUserName, ``sev`` LogSeverity, ``cat`` DeviceEventCategory, EventID
DeviceEventClassID, ``proto`` Protocol) plus the predefined keys with an obvious column
(``srcMAC``/``dstMAC``, ``srcBytes`` SentBytes, ``dstBytes`` ReceivedBytes, the post-NAT addresses
and ports as the translated ones, ``url`` RequestURL, ``devTime`` ReceiptTime as written); every
other attribute goes to ``AdditionalExtensions``. ``devTime`` (read with ``devTimeFormat``, or as
epoch milliseconds / ``MMM dd yyyy HH:mm:ss``) times the row when it comes from a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, ClassVar

from watchkeeper.ingest.normalize.syslog import Arrival, SyslogHeader, device_time, java_time, parse_header
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.parsers.cef import TABLE, map_values, message_batches, parse_extension

__all__ = ["LeefEvent", "LeefParser", "leef_row", "parse_leef"]

_HEADER_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")
_SNIFF = re.compile(rb"^(?:\d+ )?(?:<\d{1,3}>[^\n]{0,300}?)?LEEF:[12]\.0\|", re.MULTILINE)
_KEYS = {
    "src": "SourceIP", "dst": "DestinationIP", "srcPort": "SourcePort", "dstPort": "DestinationPort",
    "usrName": "SourceUserName", "sev": "LogSeverity", "cat": "DeviceEventCategory", "proto": "Protocol",
    "srcMAC": "SourceMACAddress", "dstMAC": "DestinationMACAddress", "srcBytes": "SentBytes",
    "dstBytes": "ReceivedBytes", "srcPostNAT": "SourceTranslatedAddress",
    "dstPostNAT": "DestinationTranslatedAddress", "srcPostNATPort": "SourceTranslatedPort",
    "dstPostNATPort": "DestinationTranslatedPort", "url": "RequestURL", "devTime": "ReceiptTime",
}  # fmt: skip
_EQUALS = re.compile(r"(?<!\\)=")
_DEFAULT_TIME_FORMAT = "MMM dd yyyy HH:mm:ss.SSS zzz"


@dataclass(slots=True)
class LeefEvent:
    """A LEEF message: its header fields (unescaped) and attributes."""

    version: str
    vendor: str
    product: str
    device_version: str
    event_id: str
    attributes: dict[str, str] = field(default_factory=dict)


def _header_fields(text: str, count: int) -> tuple[list[str], int]:
    fields: list[str] = []
    at = 0
    for _ in range(count):
        pipe = _HEADER_PIPE.search(text, at)
        if pipe is None:
            raise ValueError(f"LEEF header has {len(fields)} of its {count} '|'-separated fields")
        fields.append(text[at : pipe.end() - 1].replace("\\|", "|"))
        at = pipe.end()
    return fields, at


def _delimiter(spec: str) -> str:
    """LEEF 2.0's delimiter field: a character, hex (``x09``, ``0x09``), or empty for TAB."""
    if not spec:
        return "\t"
    if len(spec) == 1:
        return spec
    hex_digits = spec[2:] if spec.lower().startswith("0x") else spec[1:] if spec[:1] in "xX" else ""
    try:
        return chr(int(hex_digits, 16))
    except ValueError:
        raise ValueError(f"LEEF 2.0 delimiter {spec!r} is neither one character nor hex (x09)") from None


def parse_leef(text: str) -> LeefEvent:
    """Read a LEEF 1.0 or 2.0 message starting with ``LEEF:``; ValueError says what is wrong."""
    if not text.startswith(("LEEF:1.0|", "LEEF:2.0|")):
        raise ValueError("not LEEF: the message does not start with 'LEEF:1.0|' or 'LEEF:2.0|'")
    version = text[5:8]
    fields, at = _header_fields(text[9:], 4)
    delimiter = "\t"
    rest = text[9 + at :]
    if version == "2.0":
        spec, after = _header_fields(rest, 1)
        delimiter, rest = _delimiter(spec[0]), rest[after:]
    vendor, product, device_version, event_id = fields
    return LeefEvent(version, vendor, product, device_version, event_id, _attributes(rest, delimiter))


def _attributes(text: str, delimiter: str) -> dict[str, str]:
    text = text.rstrip("\r\n")
    if delimiter == "\t" and "\t" not in text and re.search(r" [A-Za-z0-9_]+=", text):
        return parse_extension(text)  # spaces instead of TABs: read as CEF extensions are
    escaped = re.escape(delimiter)
    attributes: dict[str, str] = {}
    for pair in re.split(rf"(?<!\\){escaped}", text):
        if not pair.strip():
            continue
        parts = _EQUALS.split(pair, maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"LEEF attribute {pair[:60]!r} is not key=value")
        key, value = parts
        attributes[key.strip()] = value.replace(f"\\{delimiter}", delimiter).replace("\\=", "=")
    return attributes


def _event_time(event: LeefEvent, now: datetime) -> datetime | None:
    written = event.attributes.get("devTime")
    if written is None:
        return None
    pattern = event.attributes.get("devTimeFormat")
    parsed = java_time(written, pattern or _DEFAULT_TIME_FORMAT)
    return parsed or (None if pattern else device_time(written, now))


def leef_row(event: LeefEvent, header: SyslogHeader | None, arrival: Arrival) -> dict[str, Any]:
    """The ``CommonSecurityLog`` row of ``event``, received in a message with ``header``."""
    now = arrival.received or datetime.now(UTC)
    row: dict[str, Any] = {
        "DeviceVendor": event.vendor, "DeviceProduct": event.product, "DeviceVersion": event.device_version,
        "DeviceEventClassID": event.event_id, "Computer": (header and header.host) or arrival.sender,
        "CollectorHostName": arrival.collector, "SourceSystem": "Linux",
    }  # fmt: skip
    map_values(row, event.attributes, _KEYS, now)
    if "LogSeverity" in row:
        row["OriginalLogSeverity"] = row["LogSeverity"]
    row["TimeGenerated"] = arrival.time_generated(
        _event_time(event, now) or (header.time if header else None)
    )
    return row


def read_leef_line(batch: Parsed, text: str, where: str, arrival: Arrival) -> None:
    """One line or message holding LEEF (bare or after a syslog header) into ``batch``."""
    now = arrival.received or datetime.now(UTC)
    try:
        header = None if text.startswith("LEEF:") else parse_header(text, now)
        event = parse_leef(header.message if header else text)
    except ValueError as exc:
        batch.reject(where, text, str(exc))
        return
    batch.add(TABLE, leef_row(event, header, arrival))


class LeefParser:
    """A file of LEEF messages, one per line, bare or with syslog headers."""

    name: ClassVar[str] = "leef"
    tables: ClassVar[tuple[str, ...]] = (TABLE,)

    def sniff(self, head: bytes, filename: str) -> bool:
        return _SNIFF.match(head.lstrip()[:1024]) is not None

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        return message_batches(
            stream, source, lambda batch, text, where: read_leef_line(batch, text, where, Arrival())
        )
