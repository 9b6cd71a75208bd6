"""LEEF 1.0 and 2.0 into CommonSecurityLog: delimiters (TAB, a character, hex), escapes, devTime
with devTimeFormat, LEEF inside syslog headers, and broken messages rejected with reasons."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from watchkeeper import Workspace
from watchkeeper.ingest.parsers.base import Rejected
from watchkeeper.ingest.parsers.leef import LeefParser, parse_leef


def parse(data: bytes, source: str = "test.leef") -> tuple[list[dict[str, Any]], list[Rejected]]:
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for batch in LeefParser().parse(io.BytesIO(data), source):
        rows += batch.tables.get("CommonSecurityLog", [])
        rejected += batch.rejected
    return rows, rejected


def test_leef_1_with_tabs_maps_to_commonsecuritylog() -> None:
    data = (b"<13>Nov 30 03:51:45 exch01 LEEF:1.0|Microsoft|MSExchange|2013 SP1|15345|"
            b"src=10.50.1.1\tdst=2.10.20.20\tsrcPort=1200\tdstPort=25\tusrName=alice\tsev=7\tcat=mail"
            b"\tproto=TCP\tsrcBytes=300\tdstBytes=4000\trecipient=bob@example.com\n")  # fmt: skip
    [row], rejected = parse(data)
    assert rejected == []
    expected = {
        "DeviceVendor": "Microsoft", "DeviceProduct": "MSExchange", "DeviceVersion": "2013 SP1",
        "DeviceEventClassID": "15345", "Computer": "exch01", "SourceIP": "10.50.1.1",
        "DestinationIP": "2.10.20.20", "SourcePort": 1200, "DestinationPort": 25, "SourceUserName": "alice",
        "LogSeverity": "7", "OriginalLogSeverity": "7", "DeviceEventCategory": "mail", "Protocol": "TCP",
        "SentBytes": 300, "ReceivedBytes": 4000, "AdditionalExtensions": "recipient=bob@example.com",
    }  # fmt: skip
    assert {k: row[k] for k in expected} == expected
    workspace = Workspace.open(None)
    workspace.ingest("CommonSecurityLog", [row])
    found = workspace.query(
        "CommonSecurityLog | where DestinationPort == 25 | project SourceUserName, SentBytes"
    )
    assert found.rows == [("alice", 300)]


def test_leef_2_delimiters_escapes_and_device_time() -> None:
    caret = parse_leef("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^note=a\\^b\\=c^")
    assert caret.attributes == {"src": "10.0.1.8", "dst": "10.0.0.5", "note": "a^b=c"}
    hexed = parse_leef("LEEF:2.0|V|P\\|Q|1|7|x09|src=1.1.1.1\tdst=2.2.2.2")
    assert (hexed.product, hexed.attributes) == ("P|Q", {"src": "1.1.1.1", "dst": "2.2.2.2"})
    zero_x = parse_leef("LEEF:2.0|V|P|1|7|0x7c|src=1.1.1.1|dst=2.2.2.2")
    assert zero_x.attributes == {"src": "1.1.1.1", "dst": "2.2.2.2"}
    data = (b"LEEF:2.0|V|P|1|7||devTime=2026-11-30 03:51:45\tdevTimeFormat=yyyy-MM-dd HH:mm:ss\tsrc=1.1.1.1\n"
            b"LEEF:1.0|V|P|1|8|devTime=Nov 30 2026 03:51:45.250 UTC\tsrc=2.2.2.2\n"
            b"LEEF:1.0|V|P|1|9|devTime=1796010705000\tsrc=3.3.3.3\n")  # fmt: skip
    rows, rejected = parse(data)
    assert rejected == []
    assert [r["TimeGenerated"] for r in rows] == [
        datetime(2026, 11, 30, 3, 51, 45).astimezone(),  # no zone in the format: the receiver's
        datetime(2026, 11, 30, 3, 51, 45, 250000, tzinfo=UTC),
        datetime(2026, 11, 30, 3, 51, 45, tzinfo=UTC),
    ]
    assert rows[0]["ReceiptTime"] == "2026-11-30 03:51:45"  # as written
    assert rows[0]["AdditionalExtensions"] == "devTimeFormat=yyyy-MM-dd HH:mm:ss"


def test_spaces_instead_of_tabs_are_read_and_broken_messages_rejected() -> None:
    data = (b"LEEF:1.0|V|P|1|10|src=1.1.1.1 dst=2.2.2.2 usrName=carol smith\n"
            b"LEEF:1.0|V|P|only-three\n"
            b"LEEF:2.0|V|P|1|11|xZZ|src=1.1.1.1\n"
            b"LEEF:3.0|V|P|1|12|src=1.1.1.1\n"
            b"LEEF:1.0|V|P|1|13|src=1.1.1.1\tnot a pair\n"
            b"LEEF:1.0|V|P|1|14|src=4.4.4.4\n")  # fmt: skip
    rows, rejected = parse(data, "mixed.leef")
    assert [(r["DeviceEventClassID"], r["SourceIP"]) for r in rows] == [("10", "1.1.1.1"), ("14", "4.4.4.4")]
    assert rows[0]["SourceUserName"] == "carol smith"
    assert [(r.source, r.reason) for r in rejected] == [
        ("mixed.leef:2", "LEEF header has 2 of its 4 '|'-separated fields"),
        ("mixed.leef:3", "LEEF 2.0 delimiter 'xZZ' is neither one character nor hex (x09)"),
        ("mixed.leef:4", "not LEEF: the message does not start with 'LEEF:1.0|' or 'LEEF:2.0|'"),
        ("mixed.leef:5", "LEEF attribute 'not a pair' is not key=value"),
    ]


def test_sniffing() -> None:
    parser = LeefParser()
    assert parser.sniff(b"LEEF:1.0|V|P|1|10|src=1.1.1.1\n", "x")
    assert parser.sniff(b"<13>Nov 30 03:51:45 h LEEF:2.0|V|P|1|7|^|src=1.1.1.1\n", "x")
    assert not parser.sniff(b"CEF:0|V|P|1|2|n|3|src=1.1.1.1\n", "x")
    assert not parser.sniff(b"<13>Nov 30 03:51:45 h app: hello\n", "x")
