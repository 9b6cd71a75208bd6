"""CEF into CommonSecurityLog: escaping round trips (property-based), the spec's column map with
the catalog's types, CEF inside syslog headers, and broken messages rejected with reasons."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper import Workspace
from watchkeeper.ingest.parsers.base import Rejected
from watchkeeper.ingest.parsers.cef import CefEvent, CefParser, format_cef, parse_cef

# the spec's example, with the syslog header a device sends it in
EXAMPLE = (
    "<134>Nov 30 03:51:45 fw01 CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|"
    "src=10.0.0.1 dst=2.1.2.2 spt=1232 proto=TCP act=blocked suser=CORP\\\\alice "
    "msg=Detected a threat. No action needed\\=really cs1Label=Rule cs1=Worm rule 7 cn1=42 cn1Label=Score "
    "in=1024 out=77 rt=1796010705000 start=Nov 30 2026 03:50:00 UTC deviceDirection=1 "
    "customKey=custom value spt2=x dpt=notaport"
)


def parse(data: bytes, source: str = "test.cef") -> tuple[list[dict[str, Any]], list[Rejected]]:
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for batch in CefParser().parse(io.BytesIO(data), source):
        rows += batch.tables.get("CommonSecurityLog", [])
        rejected += batch.rejected
    return rows, rejected


_HEADER_TEXT = st.text(
    st.characters(categories=None, exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=20
)
_VALUE = st.text(st.characters(exclude_categories=["Cs"]), max_size=30).filter(
    lambda v: not v.endswith((" ", "\t")) and not v.startswith((" ", "\t"))
)
_KEYS = st.sampled_from(
    ["src", "dst", "msg", "cs1", "cs1Label", "request", "suser", "fname", "custom.key", "ad_x"]
)


@given(
    header=st.lists(_HEADER_TEXT, min_size=6, max_size=6),
    version=st.sampled_from(["0", "1"]),
    extension=st.dictionaries(_KEYS, _VALUE, max_size=6),
)
def test_escaping_round_trips(header: list[str], version: str, extension: dict[str, str]) -> None:
    vendor, product, device_version, class_id, name, severity = header
    event = CefEvent(version, vendor, product, device_version, class_id, name, severity, extension)
    text = format_cef(event)
    assert parse_cef(text) == event
    assert "\n" not in text  # one message stays one line
    assert "\r" not in text


def test_the_spec_example_maps_to_commonsecuritylog_columns_with_their_types() -> None:
    [row], rejected = parse(EXAMPLE.encode())
    assert rejected == []
    expected = {
        "DeviceVendor": "Security", "DeviceProduct": "threatmanager", "DeviceVersion": "1.0",
        "DeviceEventClassID": "100", "Activity": "worm successfully stopped", "LogSeverity": "10",
        "OriginalLogSeverity": "10", "Computer": "fw01", "SourceIP": "10.0.0.1", "DestinationIP": "2.1.2.2",
        "SourcePort": 1232, "Protocol": "TCP", "DeviceAction": "blocked", "SourceUserName": "CORP\\alice",
        "Message": "Detected a threat. No action needed=really", "DeviceCustomString1Label": "Rule",
        "DeviceCustomString1": "Worm rule 7", "DeviceCustomNumber1": 42, "DeviceCustomNumber1Label": "Score",
        "ReceivedBytes": 1024, "SentBytes": 77, "ReceiptTime": "1796010705000",
        "StartTime": datetime(2026, 11, 30, 3, 50, tzinfo=UTC), "CommunicationDirection": "1",
        # unmapped keys, and a value its column cannot hold
        "AdditionalExtensions": "customKey=custom value;spt2=x;dpt=notaport",
    }  # fmt: skip
    assert {k: row[k] for k in expected} == expected
    assert row["TimeGenerated"] == datetime(2026, 11, 30, 3, 51, 45, tzinfo=UTC)  # rt, epoch ms
    workspace = Workspace.open(None)
    workspace.ingest("CommonSecurityLog", [row])
    found = workspace.query(
        'CommonSecurityLog | where DeviceAction == "blocked" and SourcePort == 1232 '
        "| project SourceUserName, ReceivedBytes + SentBytes, DeviceCustomNumber1"
    )
    assert found.rows == [("CORP\\alice", 1101, 42)]


def test_bare_and_rfc5424_wrapped_cef_and_broken_messages() -> None:
    data = (b"CEF:1|Vendor|Prod|2|sig|bare one|Low|suser=bob\n"
            b"<134>1 2026-11-30T03:51:45Z fw02 cef - - - CEF:0|V|P|1|7|wrapped|3|dst=10.1.1.1\n"
            b"CEF:0|only|four|fields\n"
            b"<13>Nov 30 03:51:45 host app: not cef at all\n"
            b"CEF:x|V|P|1|2|bad version|3|\n"
            b"CEF:0|V|P|1|3|no extension pairs|5|just words\n"
            b"CEF:0|V|P|1|4|kept|5|src=1.1.1.1\n"
            b"CEF:0|V|P|1|5|trunc")  # fmt: skip
    rows, rejected = parse(data, "mixed.cef")
    assert [(r["Activity"], r["Computer"]) for r in rows] == [
        ("bare one", ""),
        ("wrapped", "fw02"),
        ("kept", ""),
    ]
    assert rows[0]["SourceUserName"] == "bob"
    assert rows[1]["DestinationIP"] == "10.1.1.1"
    assert [(r.source, r.reason) for r in rejected] == [
        ("mixed.cef:3", "CEF header has 3 of its 7 '|'-terminated fields"),
        ("mixed.cef:4", "not CEF: the message does not start with 'CEF:'"),
        ("mixed.cef:5", "CEF version 'x' is not a number"),
        ("mixed.cef:6", "CEF extension has no key=value pair: 'just words'"),
        ("mixed.cef:8", "CEF header has 5 of its 7 '|'-terminated fields"),
    ]


def test_sniffing() -> None:
    parser = CefParser()
    assert parser.sniff(EXAMPLE.encode(), "fw.log")
    assert parser.sniff(b"CEF:0|V|P|1|2|n|3|src=1.1.1.1\n", "x.txt")
    assert parser.sniff(b"123 <134>1 2026-11-30T03:51:45Z fw - - - CEF:0|V|P|1|2|n|3|\n", "x")
    assert not parser.sniff(b"<13>Nov 30 03:51:45 host app: a message mentioning CEF:0 format\n", "x")
    assert not parser.sniff(b'{"message": "CEF:0|V|P|1|2|n|3|"}\n', "x.json")
