"""CEF (ArcSight Common Event Format), bare or inside a syslog header, into ``CommonSecurityLog``.

Header ``CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|``
then the extension, space-separated ``key=value`` where a value runs to the next `` key=``. Escaping
and the column map are the log-ingestion spec's section E: in the header ``\\\\`` and ``\\|``; in
values ``\\\\``, ``\\=``, ``\\n`` and ``\\r`` (a literal ``|`` is allowed, ``\\|`` read as ``|`` too).

Values are typed as the catalog's columns are (ports, counts, bytes as numbers); a value that does
not fit its column, and every key the map does not name, go to ``AdditionalExtensions``
(``key=value`` joined by ``;``), so nothing is lost. ``start``/``end`` become ``StartTime``/
``EndTime``; ``rt`` is kept as written in ``ReceiptTime`` (a string column) and times the row when
it comes from a file. ``LogSeverity`` and ``OriginalLogSeverity`` both hold the severity as sent.
``Computer`` is the syslog HOSTNAME, else the sender's address.

As a file format: one message per line; a line that is not CEF is rejected with its line number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, BinaryIO, ClassVar

from watchkeeper.ingest.normalize.syslog import Arrival, SyslogHeader, device_time, parse_header
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.schema import Catalog
from watchkeeper.schema.types import KqlType

__all__ = [
    "TABLE",
    "CefEvent",
    "CefParser",
    "cef_row",
    "escape_extension",
    "escape_header",
    "format_cef",
    "parse_cef",
    "typed_columns",
]

TABLE = "CommonSecurityLog"

_HEADER_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")
_HEADER_ESCAPE = re.compile(r"\\([\\|])")
_EXTENSION_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z0-9_.\-\[\]]+)=")
_EXTENSION_ESCAPE = re.compile(r"\\([\\=nr|])")
_EXTENSION_UNESCAPED = {"\\": "\\", "=": "=", "n": "\n", "r": "\r", "|": "|"}
_SNIFF = re.compile(rb"^(?:\d+ )?(?:<\d{1,3}>[^\n]{0,300}?)?CEF:\d+\|", re.MULTILINE)

# spec E: CEF key -> CommonSecurityLog column
_KEYS = {
    "act": "DeviceAction", "app": "ApplicationProtocol", "cnt": "EventCount",
    "deviceDirection": "CommunicationDirection", "dhost": "DestinationHostName", "dmac": "DestinationMACAddress",
    "dntdom": "DestinationNTDomain", "dpid": "DestinationProcessId", "dproc": "DestinationProcessName",
    "dpt": "DestinationPort", "dst": "DestinationIP", "duid": "DestinationUserID", "duser": "DestinationUserName",
    "dpriv": "DestinationUserPrivileges", "dvc": "DeviceAddress", "dvchost": "DeviceName",
    "dvcmac": "DeviceMacAddress", "dtz": "DeviceTimeZone", "deviceExternalId": "DeviceExternalID",
    "deviceInboundInterface": "DeviceInboundInterface", "deviceOutboundInterface": "DeviceOutboundInterface",
    "msg": "Message", "src": "SourceIP", "spt": "SourcePort", "shost": "SourceHostName",
    "smac": "SourceMACAddress", "sntdom": "SourceNTDomain", "spid": "SourceProcessId",
    "sproc": "SourceProcessName", "suid": "SourceUserID", "suser": "SourceUserName",
    "spriv": "SourceUserPrivileges", "sourceTranslatedAddress": "SourceTranslatedAddress",
    "sourceTranslatedPort": "SourceTranslatedPort", "destinationTranslatedAddress": "DestinationTranslatedAddress",
    "destinationTranslatedPort": "DestinationTranslatedPort", "sourceDnsDomain": "SourceDnsDomain",
    "sourceServiceName": "SourceServiceName", "destinationDnsDomain": "DestinationDnsDomain",
    "destinationServiceName": "DestinationServiceName", "proto": "Protocol", "deviceProcessName": "ProcessName",
    "dvcpid": "ProcessID", "in": "ReceivedBytes", "out": "SentBytes", "outcome": "EventOutcome",
    "request": "RequestURL", "requestMethod": "RequestMethod", "requestClientApplication": "RequestClientApplication",
    "requestContext": "RequestContext", "requestCookies": "RequestCookies", "rt": "ReceiptTime",
    "externalId": "ExternalID", "type": "EventType", "cat": "DeviceEventCategory", "reason": "Reason",
    "fname": "FileName", "filePath": "FilePath", "fileHash": "FileHash", "fileId": "FileID", "fileType": "FileType",
    "fsize": "FileSize", "filePermission": "FilePermission", "fileCreateTime": "FileCreateTime",
    "fileModificationTime": "FileModificationTime", "oldFileName": "OldFileName", "oldFilePath": "OldFilePath",
    "oldFileHash": "OldFileHash", "oldFileId": "OldFileID", "oldFileType": "OldFileType", "oldFileSize": "OldFileSize",
    "oldFilePermission": "OldFilePermission", "oldFileCreateTime": "OldFileCreateTime",
    "oldFileModificationTime": "OldFileModificationTime", "start": "StartTime", "end": "EndTime",
    # standard CEF keys whose columns the table has, though the spec's table does not list them
    "deviceFacility": "DeviceFacility", "deviceDnsDomain": "DeviceDnsDomain", "deviceNtDomain": "DeviceNtDomain",
    "deviceTranslatedAddress": "DeviceTranslatedAddress", "devicePayloadId": "DevicePayloadId",
}  # fmt: skip
_KEYS |= {f"{p}{n}{suffix}": f"{c}{n}{suffix}" for p, c, count in (
    ("cs", "DeviceCustomString", 6), ("cn", "DeviceCustomNumber", 3), ("c6a", "DeviceCustomIPv6Address", 4),
    ("cfp", "DeviceCustomFloatingPoint", 4), ("deviceCustomDate", "DeviceCustomDate", 2),
    ("flexString", "FlexString", 2), ("flexNumber", "FlexNumber", 2), ("flexDate", "FlexDate", 1),
) for n in range(1, count + 1) for suffix in ("", "Label")}  # fmt: skip


@dataclass(slots=True)
class CefEvent:
    """A CEF message: the seven header fields (unescaped) and the extension's keys and values."""

    version: str
    vendor: str
    product: str
    device_version: str
    class_id: str
    name: str
    severity: str
    extension: dict[str, str] = field(default_factory=dict)


def escape_header(value: str) -> str:
    """A header field as CEF writes it: ``\\`` and ``|`` escaped with ``\\``."""
    return value.replace("\\", "\\\\").replace("|", "\\|")


def escape_extension(value: str) -> str:
    """An extension value as CEF writes it: ``\\``, ``=``, newlines escaped."""
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")


def format_cef(event: CefEvent) -> str:
    """The CEF text of ``event`` (the inverse of :func:`parse_cef`)."""
    header = [event.vendor, event.product, event.device_version, event.class_id, event.name, event.severity]
    extension = " ".join(f"{k}={escape_extension(v)}" for k, v in event.extension.items())
    return f"CEF:{event.version}|" + "|".join(escape_header(h) for h in header) + "|" + extension


def parse_cef(text: str) -> CefEvent:
    """Read a CEF message starting with ``CEF:``; ValueError says what is wrong with it."""
    if not text.startswith("CEF:"):
        raise ValueError("not CEF: the message does not start with 'CEF:'")
    fields: list[str] = []
    at = 4
    for _ in range(7):
        pipe = _HEADER_PIPE.search(text, at)
        if pipe is None:
            raise ValueError(f"CEF header has {len(fields)} of its 7 '|'-terminated fields")
        fields.append(_HEADER_ESCAPE.sub(r"\1", text[at : pipe.end() - 1]))
        at = pipe.end()
    if not fields[0].strip().isdigit():
        raise ValueError(f"CEF version {fields[0]!r} is not a number")
    version, vendor, product, device_version, class_id, name, severity = fields
    return CefEvent(
        version, vendor, product, device_version, class_id, name, severity, parse_extension(text[at:])
    )


def parse_extension(text: str) -> dict[str, str]:
    """``key=value`` pairs separated by spaces; a value runs until the next `` key=``."""
    keys = list(_EXTENSION_KEY.finditer(text))
    if not keys and text.strip():
        raise ValueError(f"CEF extension has no key=value pair: {text[:80]!r}")
    if keys and text[: keys[0].start()].strip():
        raise ValueError(f"CEF extension starts with text that is no key=value: {text[: keys[0].start()]!r}")
    values: dict[str, str] = {}
    for i, this in enumerate(keys):
        following = keys[i + 1] if i + 1 < len(keys) else None
        raw = text[this.end() : following.start() if following else len(text)]
        raw = raw.rstrip(" ") if following else raw.rstrip(" \r\n")
        values[this.group(1)] = _EXTENSION_ESCAPE.sub(lambda m: _EXTENSION_UNESCAPED[m.group(1)], raw)
    return values


@cache
def typed_columns() -> dict[str, KqlType]:
    """``CommonSecurityLog``'s columns and types, for typing mapped values."""
    table = Catalog.sentinel().table(TABLE)
    assert table is not None
    return {column.name: column.type for column in table.columns}


def _typed(value: str, kind: KqlType, now: datetime) -> Any:
    """``value`` as a ``kind`` column holds it; ValueError when it cannot be."""
    if kind in (KqlType.INT, KqlType.LONG):
        number = int(value.strip())
        if kind is KqlType.INT and not -(2**31) <= number < 2**31:
            raise ValueError("out of int range")
        return number
    if kind is KqlType.REAL:
        return float(value)
    if kind is KqlType.DATETIME:
        parsed = device_time(value, now)
        if parsed is None:
            raise ValueError("not a time")
        return parsed
    return value


def map_values(row: dict[str, Any], pairs: dict[str, str], keys: dict[str, str], now: datetime) -> None:
    """Put ``pairs`` into ``row`` by the ``keys`` map, typed by the columns; the rest, and values
    their column cannot hold, into ``AdditionalExtensions``."""
    columns, extra = typed_columns(), []
    for key, value in pairs.items():
        column = keys.get(key)
        if column is None:
            extra.append(f"{key}={value}")
            continue
        try:
            row[column] = _typed(value, columns[column], now)
        except ValueError:
            extra.append(f"{key}={value}")
    if extra:
        row["AdditionalExtensions"] = ";".join(extra)


def cef_row(event: CefEvent, header: SyslogHeader | None, arrival: Arrival) -> dict[str, Any]:
    """The ``CommonSecurityLog`` row of ``event``, received in a message with ``header``."""
    now = arrival.received or datetime.now(UTC)
    row: dict[str, Any] = {
        "DeviceVendor": event.vendor, "DeviceProduct": event.product, "DeviceVersion": event.device_version,
        "DeviceEventClassID": event.class_id, "Activity": event.name, "LogSeverity": event.severity,
        "OriginalLogSeverity": event.severity, "Computer": (header and header.host) or arrival.sender,
        "CollectorHostName": arrival.collector, "SourceSystem": "Linux",
    }  # fmt: skip
    map_values(row, event.extension, _KEYS, now)
    device = device_time(event.extension["rt"], now) if "rt" in event.extension else None
    row["TimeGenerated"] = arrival.time_generated(device or (header.time if header else None))
    return row


def read_cef_line(batch: Parsed, text: str, where: str, arrival: Arrival) -> None:
    """One line or message holding CEF (bare or after a syslog header) into ``batch``."""
    now = arrival.received or datetime.now(UTC)
    try:
        header = None if text.startswith("CEF:") else parse_header(text, now)
        event = parse_cef(header.message if header else text)
    except ValueError as exc:
        batch.reject(where, text, str(exc))
        return
    batch.add(TABLE, cef_row(event, header, arrival))


def lines(stream: BinaryIO, source: str) -> Iterator[tuple[str, str]]:
    """The stream's non-empty lines, decoded (invalid UTF-8 replaced: devices send Latin-1 too), with
    ``source:line`` to name each in a rejection."""
    for number, raw in enumerate(stream, start=1):
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n\x00")
        if text.strip():
            yield text, f"{source}:{number}"


def message_batches(
    stream: BinaryIO, source: str, read: Callable[[Parsed, str, str], None]
) -> Iterator[Parsed]:
    """The batches of a file of messages, one per line: ``read(batch, text, where)`` takes each
    decoded line into the batch being filled; a full batch is handed on, an empty one is not."""
    batch = Parsed()
    for text, where in lines(stream, source):
        read(batch, text, where)
        if batch.full:
            yield batch
            batch = Parsed()
    if batch.tables or batch.rejected:
        yield batch


class CefParser:
    """A file of CEF messages, one per line, bare or with syslog headers."""

    name: ClassVar[str] = "cef"
    tables: ClassVar[tuple[str, ...]] = (TABLE,)

    def sniff(self, head: bytes, filename: str) -> bool:
        first = head.lstrip()[:1024]
        return _SNIFF.match(first) is not None

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        return message_batches(
            stream, source, lambda batch, text, where: read_cef_line(batch, text, where, Arrival())
        )
