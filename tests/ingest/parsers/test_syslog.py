"""Syslog files (RFC 5424, RFC 3164, rsyslog lines) into Syslog: the syslog messages of the WRCCDC
2018 recording (brimdata/zed-sample-data, CC-BY-SA-4.0, read from the shared datasets, not copied;
Zeek decoded their PRI into facility and severity, which we give back as <PRI>) all parse, with
Zeek's facility and severity, and KQL answers what the raw messages say."""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.ingest.normalize.syslog import FACILITIES, SEVERITIES, Arrival, local_zone, parse_header
from watchkeeper.ingest.parsers.base import Parsed, Rejected
from watchkeeper.ingest.parsers.syslog import SyslogParser, read_message

RECORDING = SHARED / "datasets" / "network" / "zeek-wrccdc2018" / "zeek-json" / "syslog.json.gz"


def parse(data: bytes, source: str = "test.log") -> tuple[dict[str, list[dict[str, Any]]], list[Rejected]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    rejected: list[Rejected] = []
    for batch in SyslogParser().parse(io.BytesIO(data), source):
        for table, rows in batch.tables.items():
            tables.setdefault(table, []).extend(rows)
        rejected += batch.rejected
    return tables, rejected


@pytest.fixture(scope="module")
def recording() -> list[dict[str, Any]]:
    if not RECORDING.is_file():
        pytest.skip(f"the WRCCDC syslog recording is not at {RECORDING}")
    with gzip.open(RECORDING, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def recorded_file(recording: list[dict[str, Any]]) -> bytes:
    """The recorded messages as a syslog file: each with the PRI Zeek decoded."""
    lines = []
    for record in recording:
        pri = FACILITIES.index(record["facility"].lower()) * 8 + SEVERITIES.index(record["severity"].lower())
        lines.append(f"<{pri}>{record['message']}\n")
    return "".join(lines).encode()


@pytest.fixture(scope="module")
def recorded_workspace(recorded_file: bytes) -> Workspace:
    workspace = Workspace.open(None)
    for batch in SyslogParser().parse(io.BytesIO(recorded_file), "wrccdc-syslog"):
        workspace.ingest_parsed(batch, source="wrccdc-syslog", input_format="syslog")
    return workspace


def test_every_recorded_message_is_a_row_with_zeeks_facility_and_severity(
    recording: list[dict[str, Any]], recorded_file: bytes
) -> None:
    assert SyslogParser().sniff(recorded_file[:8192], "syslog.log")
    tables, rejected = parse(recorded_file)
    assert rejected == []
    rows = tables["Syslog"]
    assert len(rows) == len(recording) == 2378
    assert [(r["Facility"], r["SeverityLevel"]) for r in rows] == [
        (rec["facility"].lower(), rec["severity"].lower()) for rec in recording
    ]
    # RFC 5424: "1 TIMESTAMP HOSTNAME APP-NAME - - - MSG"
    assert [(r["HostName"], r["ProcessName"]) for r in rows] == [
        tuple(rec["message"].split(" ")[2:4]) for rec in recording
    ]
    assert rows[0]["SyslogMessage"] == recording[0]["message"].split(" - - - ", 1)[1]
    assert rows[0]["EventTime"] == datetime(2018, 3, 24, 15, 59, 37, tzinfo=UTC)
    assert rows[0]["TimeGenerated"] == rows[0]["EventTime"]  # files: the event's own time


def test_kql_answers_what_the_recorded_messages_say(
    recording: list[dict[str, Any]], recorded_workspace: Workspace
) -> None:
    hosts = Counter(rec["message"].split(" ")[2] for rec in recording)
    by_host = recorded_workspace.query("Syslog | summarize n = count() by Computer | order by Computer asc")
    assert by_host.rows == sorted(hosts.items())
    logoffs = sum("An account was logged off" in rec["message"] for rec in recording)
    assert logoffs > 0
    found = recorded_workspace.query('Syslog | where SyslogMessage has "An account was logged off" | count')
    assert found.rows == [(logoffs,)]
    errors = recorded_workspace.query('Syslog | where SeverityLevel == "err" | count')
    assert errors.rows == [(sum(rec["severity"] == "ERR" for rec in recording),)]
    first = min(datetime.fromisoformat(rec["message"].split(" ")[1]) for rec in recording)
    assert recorded_workspace.query("Syslog | summarize min(EventTime)").rows == [(first,)]


def test_rfc5424_fields_structured_data_and_bom() -> None:
    text = ('<165>1 2003-10-11T22:14:15.003000123Z mymachine.example.com evntslog 8710 ID47 '
            '[exampleSDID@32473 iut="3" eventSource="Appli\\"cation\\]"][origin ip="10.0.0.5"] \ufeffAn event')  # fmt: skip
    header = parse_header(text, datetime.now(UTC))
    assert (header.facility, header.severity, header.host, header.app, header.procid, header.msgid) == (
        "local4", "notice", "mymachine.example.com", "evntslog", "8710", "ID47")  # fmt: skip
    assert header.time == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert header.structured == {"exampleSDID@32473": {"iut": "3", "eventSource": 'Appli"cation]'},
                                 "origin": {"ip": "10.0.0.5"}}  # fmt: skip
    assert header.message == "An event"


def test_rfc3164_takes_the_receivers_year_and_zone_and_last_year_for_a_time_ahead() -> None:
    zone = local_zone()
    new_year = datetime(2026, 1, 1, 0, 0, 5, tzinfo=zone)
    header = parse_header("<13>Dec 31 23:59:58 gw su[77]: session opened", new_year)
    assert header.time == datetime(2025, 12, 31, 23, 59, 58, tzinfo=zone)
    assert (header.host, header.app, header.process_id, header.message) == ("gw", "su", 77, "session opened")
    no_host = parse_header("<13>Oct  1 08:00:00 sshd: no host here", new_year)
    assert (no_host.host, no_host.app, no_host.message) == ("", "sshd", "no host here")
    assert no_host.time == datetime(2025, 10, 1, 8, tzinfo=zone)  # October is ahead of January 1: last year


def test_files_without_pri_as_rsyslog_writes_them() -> None:
    data = (b"Nov 29 22:38:36 vm sshd[27868]: Failed password for root from 10.0.0.5\n"
            b"2026-11-29T22:38:37.123456+00:00 vm kernel: eth0 link up\n")  # fmt: skip
    assert SyslogParser().sniff(data, "messages")
    tables, rejected = parse(data)
    assert rejected == []
    first, second = tables["Syslog"]
    assert (first["HostName"], first["ProcessName"], first["ProcessID"], first["Facility"]) == (
        "vm",
        "sshd",
        27868,
        "",
    )
    assert second["EventTime"] == datetime(2026, 11, 29, 22, 38, 37, 123456, tzinfo=UTC)
    assert second["SyslogMessage"] == "eth0 link up"


def test_broken_lines_are_rejected_with_line_and_reason_and_the_rest_kept() -> None:
    data = (b"<13>1 2026-11-29T22:38:36Z h app - - - fine\n"
            b"<999>1 2026-11-29T22:38:36Z h app - - - bad pri\n"
            b"<13>1 yesterday h app - - - bad time\n"
            b"<13>1 2026-11-29T22:38:36Z h app - - [unclosed x=\"1\" broken\n"
            b"just some text\n"
            b"<13>Nov 29 22:38:36 h app: caf\xe9 latin-1\n"
            b"<13>1 2026-11-29T22:38:36Z h app - - - kept too\n"
            b"<13>1 2026-11-2")  # fmt: skip
    tables, rejected = parse(data, "broken.log")
    assert [r["SyslogMessage"] for r in tables["Syslog"]] == ["fine", "caf\ufffd latin-1", "kept too"]
    assert [(r.source, r.reason) for r in rejected] == [
        ("broken.log:2", "PRI <999> is not a priority (0-191, no leading zeros)"),
        ("broken.log:3", "TIMESTAMP 'yesterday' is not an RFC 3339 time"),
        ("broken.log:4", "STRUCTURED-DATA is malformed at '[unclosed x=\"1\" broken'"),
        ("broken.log:5", "not a syslog line: no <PRI> and no timestamp"),
        ("broken.log:8", "RFC 5424 header is incomplete (TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD)"),
    ]
    assert rejected[0].raw == "<999>1 2026-11-29T22:38:36Z h app - - - bad pri"


def test_received_messages_carry_sender_receipt_time_and_default_priority() -> None:
    received = datetime(2026, 11, 30, 12, tzinfo=UTC)
    batch = Parsed()
    arrival = Arrival("192.0.2.7", received, "collector-1")
    read_message(
        batch, "<34>1 2026-11-30T11:59:59Z - su - - - 'su root' failed", "udp://192.0.2.7:514", arrival
    )
    read_message(batch, "no header at all", "udp://192.0.2.7:514", arrival)
    first, second = batch.tables["Syslog"]
    assert (first["TimeGenerated"], first["EventTime"]) == (
        received,
        datetime(2026, 11, 30, 11, 59, 59, tzinfo=UTC),
    )
    assert (first["Computer"], first["HostIP"], first["CollectorHostName"]) == (
        "192.0.2.7",
        "192.0.2.7",
        "collector-1",
    )
    assert (first["Facility"], first["SeverityLevel"]) == ("auth", "crit")
    assert (second["Facility"], second["SeverityLevel"], second["SyslogMessage"]) == (
        "user",
        "notice",
        "no header at all",
    )


def test_sniffing_is_specific() -> None:
    parser = SyslogParser()
    assert parser.sniff(b"<36>1 2026-11-29T22:38:36.627012+00:00 vm sshd 27867 - - hi\n", "x")
    assert parser.sniff(b"102 <166>1 2026-11-29T22:38:36Z vm app - - - framed\n", "x")
    assert parser.sniff(b"<36>Nov 29 22:38:36 vm sshd[27868]: Failed password\n", "x")
    assert not parser.sniff(b'{"ts": 1, "message": "<36>Nov 29 22:38:36 vm"}\n', "x.json")
    assert not parser.sniff(b"#separator \\x09\n#path\tsyslog\n", "syslog.log")
    assert not parser.sniff(b"type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e\n", "audit.log")
    assert not parser.sniff(b"TimeGenerated,Computer\n2026-01-01,h\n", "x.csv")
