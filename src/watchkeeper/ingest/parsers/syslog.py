"""Syslog messages (RFC 5424 and RFC 3164) into ``Syslog``; those carrying CEF or LEEF into
``CommonSecurityLog`` (log-ingestion spec sections D-F).

Columns (spec D, "Mapping into the Syslog table"): ``Computer`` and ``HostName`` = HOSTNAME (the
sender's address when the message names no host), ``HostIP`` = the sender's address,
``Facility``/``SeverityLevel`` = the spec's names of the PRI's codes, ``ProcessName`` = APP-NAME or
TAG, ``ProcessID`` = PROCID or PID when it is a number, ``SyslogMessage`` = MSG, ``EventTime`` = the
message's timestamp, ``CollectorHostName`` = the receiver that took it in, ``SourceSystem`` =
``Linux``. ``TimeGenerated`` is the receipt time for messages received over the network (as a
collector records it; device clocks drift and RFC 3164 has no year or zone) and the message's time
for files. RFC 5424 MSGID and STRUCTURED-DATA have no column in ``Syslog``.

A message received without PRI is user.notice, as RFC 3164 section 4.3.3 has relays treat it; a
line of a file must have a PRI or a timestamp, or it is rejected. Unreadable headers (PRI above
191, a malformed RFC 5424 timestamp or structured data) are rejected with the reason.

As a file format: one message per line (RFC 6587 octet counts before a line are skipped), as
rsyslog or syslog-ng write them, with or without PRI.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, ClassVar

from watchkeeper.ingest.normalize.syslog import Arrival, SyslogHeader, parse_header
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.parsers.cef import cef_row, message_batches, parse_cef
from watchkeeper.ingest.parsers.leef import leef_row, parse_leef

__all__ = ["TABLE", "SyslogParser", "read_message", "syslog_row"]

TABLE = "Syslog"

_OCTET_COUNT = re.compile(r"\d{1,7} (?=<)")
_SNIFF = re.compile(
    rb"^(?:\d{1,7} )?(?:<\d{1,3}>(?:1 \S+ |[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )"
    rb"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^\s:\[]+(?:\[\d+\])?: "
    rb"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) \S+ [^\s:\[]+(?:\[\d+\])?: )"
)


def syslog_row(header: SyslogHeader, arrival: Arrival) -> dict[str, Any]:
    """The ``Syslog`` row of a message with ``header``."""
    host = header.host or arrival.sender
    return {
        "TimeGenerated": arrival.time_generated(header.time), "EventTime": header.time,
        "Computer": host, "HostName": host, "HostIP": arrival.sender, "Facility": header.facility,
        "SeverityLevel": header.severity, "ProcessName": header.app, "ProcessID": header.process_id,
        "SyslogMessage": header.message, "CollectorHostName": arrival.collector, "SourceSystem": "Linux",
    }  # fmt: skip


def read_message(batch: Parsed, text: str, where: str, arrival: Arrival) -> None:
    """One syslog message (a datagram, a framed TCP message or a file's line) into ``batch``: its
    row, in ``Syslog`` or, for CEF and LEEF, ``CommonSecurityLog``; or its rejection."""
    now = arrival.received or datetime.now(UTC)
    try:
        header = parse_header(text, now)
        if not text.startswith("<"):
            _no_pri(header, text, arrival)
        if header.message.startswith("CEF:"):
            batch.add("CommonSecurityLog", cef_row(parse_cef(header.message), header, arrival))
        elif header.message.startswith("LEEF:"):
            batch.add("CommonSecurityLog", leef_row(parse_leef(header.message), header, arrival))
        else:
            batch.add(TABLE, syslog_row(header, arrival))
    except ValueError as exc:
        batch.reject(where, text, str(exc))


def _no_pri(header: SyslogHeader, text: str, arrival: Arrival) -> None:
    if arrival.received is not None:  # RFC 3164 4.3.3: a relay gives such a message PRI 13
        header.facility, header.severity = "user", "notice"
        header.message = header.message or text
    elif header.time is None and not text.startswith(("CEF:", "LEEF:")):
        raise ValueError("not a syslog line: no <PRI> and no timestamp")


class SyslogParser:
    """A file of syslog messages, one per line (RFC 5424 or RFC 3164; CEF and LEEF inside them
    go to ``CommonSecurityLog``)."""

    name: ClassVar[str] = "syslog"
    tables: ClassVar[tuple[str, ...]] = (TABLE, "CommonSecurityLog")

    def sniff(self, head: bytes, filename: str) -> bool:
        return _SNIFF.match(head.lstrip()[:1024]) is not None

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        arrival = Arrival()

        def read(batch: Parsed, text: str, where: str) -> None:
            counted = _OCTET_COUNT.match(text)
            read_message(batch, text[counted.end() :] if counted else text, where, arrival)

        return message_batches(stream, source, read)
