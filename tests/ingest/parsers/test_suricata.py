"""Suricata EVE JSON into Suricata_<event_type>_CL tables, over the recordings of rhaist/surevego
(eve.json and eve_broken.json, BSD-3-Clause: read from the shared datasets, not copied): every
event arrives in its table, KQL answers what the raw file says, broken lines are rejected with
their line numbers."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.ingest.parsers.base import BATCH_ROWS, Rejected
from watchkeeper.ingest.parsers.suricata import SuricataEveParser

SURICATA = SHARED / "datasets" / "network" / "suricata"
EVE = SURICATA / "eve.json"
BROKEN = SURICATA / "eve_broken.json"
pytestmark = pytest.mark.skipif(not EVE.is_file(), reason=f"the Suricata recordings are not at {SURICATA}")

Tables = dict[str, list[dict[str, Any]]]


def parse_stream(stream: io.BufferedIOBase | io.BytesIO, source: str) -> tuple[Tables, list[Rejected]]:
    tables: Tables = {}
    rejected: list[Rejected] = []
    for batch in SuricataEveParser().parse(stream, source):
        for table, rows in batch.tables.items():
            tables.setdefault(table, []).extend(rows)
        rejected.extend(batch.rejected)
    return tables, rejected


def parse_file(path: Path) -> tuple[Tables, list[Rejected]]:
    with path.open("rb") as stream:
        return parse_stream(stream, path.name)


def events(path: Path) -> list[dict[str, Any]]:
    """The file's readable events, by json and strptime alone."""
    found = []
    for line in path.read_bytes().splitlines():
        try:
            record = json.loads(line)
            datetime.strptime(record["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
        except (ValueError, KeyError, TypeError):
            continue
        found.append(record)
    return found


@pytest.fixture(scope="module")
def eve() -> tuple[Tables, list[Rejected]]:
    return parse_file(EVE)


@pytest.fixture(scope="module")
def ws(eve: tuple[Tables, list[Rejected]]) -> Iterator[Workspace]:
    workspace = Workspace.open(None)
    for table, rows in eve[0].items():
        workspace.ingest(table, rows)
    yield workspace
    workspace.close()


def test_every_event_becomes_a_row_of_its_event_type_table(eve: tuple[Tables, list[Rejected]]) -> None:
    lines = [line for line in EVE.read_bytes().splitlines() if line.strip()]
    expected = Counter(json.loads(line)["event_type"] for line in lines)
    assert expected == {"alert": 68, "dns": 48, "fileinfo": 68, "flow": 13, "http": 68, "stats": 1}
    tables, rejected = eve
    assert rejected == []
    assert {table: len(rows) for table, rows in tables.items()} == {
        f"Suricata_{kind}_CL": count for kind, count in expected.items()
    }


def test_stored_tables_hold_every_event(ws: Workspace) -> None:
    expected = Counter(record["event_type"] for record in events(EVE))
    for kind, count in expected.items():
        assert ws.query(f"Suricata_{kind}_CL | count").rows[0][0] == count


def test_alert_fields_are_columns_and_the_whole_alert_is_kept(ws: Workspace) -> None:
    alerts = [r for r in events(EVE) if r["event_type"] == "alert"]
    expected = Counter(
        (a["alert"]["signature_id"], a["alert"]["signature"], a["alert"]["severity"]) for a in alerts
    )
    rows = ws.query(
        "Suricata_alert_CL | summarize n = count() by alert_signature_id, alert_signature, alert_severity"
    ).rows
    assert {(sid, sig, sev): n for sid, sig, sev, n in rows} == dict(expected)
    categories = Counter(a["alert"]["category"] for a in alerts)
    whole = ws.query("Suricata_alert_CL | summarize n = count() by category = tostring(alert.category)").rows
    assert dict(whole) == dict(categories)
    kept = ws.query("Suricata_alert_CL | take 1 | project alert").rows[0][0]
    kept = json.loads(kept) if isinstance(kept, str) else kept
    assert set(kept) == set(alerts[0]["alert"])


def test_kql_finds_the_top_talkers_the_flows_show(ws: Workspace) -> None:
    flows = [r for r in events(EVE) if r["event_type"] == "flow"]
    expected: Counter[str] = Counter()
    for flow in flows:
        expected[flow["dest_ip"]] += flow["flow"]["bytes_toserver"] + flow["flow"]["bytes_toclient"]
    rows = ws.query(
        "Suricata_flow_CL | summarize total = sum(flow_bytes_toserver + flow_bytes_toclient) by dest_ip"
    ).rows
    assert dict(rows) == dict(expected)
    top = ws.query(
        "Suricata_flow_CL | summarize total = sum(flow_bytes_toserver + flow_bytes_toclient) by dest_ip"
        " | top 1 by total"
    ).rows
    assert top[0] == expected.most_common(1)[0]


def test_kql_answers_http_and_dns_questions(ws: Workspace) -> None:
    records = events(EVE)
    hosts = Counter(r["http"]["hostname"] for r in records if r["event_type"] == "http")
    assert dict(ws.query("Suricata_http_CL | summarize count() by http_hostname").rows) == dict(hosts)
    queried = {
        r["dns"]["rrname"] for r in records if r["event_type"] == "dns" and r["dns"]["type"] == "query"
    }
    rows = ws.query('Suricata_dns_CL | where dns_type == "query" | distinct dns_rrname').rows
    assert {name for (name,) in rows} == queried


def test_timestamps_are_datetimes_in_utc(ws: Workspace) -> None:
    records = events(EVE)
    first = min(datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z") for r in records)
    earliest = ws.query("union Suricata_* | summarize min(TimeGenerated)").rows[0][0]
    assert earliest.astimezone(UTC) == first.astimezone(UTC)
    types = {c.name: c.type.value for c in ws.catalog.table("Suricata_flow_CL").columns}
    assert types["flow_start"] == "datetime"
    assert types["flow_bytes_toserver"] == "long"
    assert types["src_ip"] == "string"
    flow = next(r for r in records if r["event_type"] == "flow")
    start = datetime.strptime(flow["flow"]["start"], "%Y-%m-%dT%H:%M:%S.%f%z")
    rows = ws.query(f"Suricata_flow_CL | where flow_id == {flow['flow_id']} | project flow_start").rows
    assert rows[0][0].astimezone(UTC) == start.astimezone(UTC)


def test_broken_lines_of_the_recording_are_rejected_and_the_rest_kept() -> None:
    tables, rejected = parse_file(BROKEN)
    expected = Counter(record["event_type"] for record in events(BROKEN))
    assert {table: len(rows) for table, rows in tables.items()} == {
        f"Suricata_{kind}_CL": count for kind, count in expected.items()
    }
    assert sum(expected.values()) == 262  # 273 lines: 4 blank, 7 unreadable
    reasons = {r.source: r.reason for r in rejected}
    assert sorted(reasons, key=lambda s: int(s.rsplit(":", 1)[1])) == [
        f"eve_broken.json:{n}" for n in (1, 2, 4, 5, 104, 160, 270)
    ]
    assert "timestamp" in reasons["eve_broken.json:2"]
    assert "asloefbnjhowebfg" in reasons["eve_broken.json:2"]
    assert all(reasons[f"eve_broken.json:{n}"].startswith("not JSON") for n in (1, 4, 5, 104, 160, 270))


def test_invalid_records_are_rejected_with_reasons() -> None:
    stamp = '"timestamp":"2017-01-30T16:12:26.985026+0100"'
    data = (
        f'{{{stamp},"event_type":"dns","src_ip":"10.0.0.1","src_port":53}}\n'
        f'{{{stamp},"event_type":"dns","src_ip":"10.0.0.2","src_port":"fifty-three"}}\n'
        f'{{{stamp},"src_ip":"10.0.0.3"}}\n'
        f'{{"event_type":"dns","src_ip":"10.0.0.4"}}\n'
    ).encode() + (
        b'{"timestamp":"2017-01-30T16:12:26.985026+0100","event_type":"dns","src_ip":"10.0.0.\xff"}\n'
        b'"just a string"\n'
        b'{"timestamp":"2017-01-30T16:12:26.985026+0100","event_type":"dns","src_ip":"10.0.0.7","src_po'
    )
    tables, rejected = parse_stream(io.BytesIO(data), "eve.json")
    assert [row["src_ip"] for row in tables["Suricata_dns_CL"]] == ["10.0.0.1"]
    reasons = {r.source: r.reason for r in rejected}
    assert set(reasons) == {f"eve.json:{n}" for n in range(2, 8)}
    assert "src_port" in reasons["eve.json:2"]
    assert "long" in reasons["eve.json:2"]
    assert reasons["eve.json:3"] == "no event_type"
    assert "timestamp" in reasons["eve.json:4"]
    assert reasons["eve.json:5"].startswith("not JSON")
    assert "JSON object" in reasons["eve.json:6"]
    assert reasons["eve.json:7"].startswith("not JSON")


def test_sniff_claims_eve_logs_and_nothing_else() -> None:
    parser = SuricataEveParser()
    assert parser.sniff(EVE.read_bytes()[:4096], "eve.json")
    assert parser.sniff(BROKEN.read_bytes()[:4096], "eve_broken.json")  # its first line is garbage
    assert not parser.sniff((SURICATA / "eve-schema.json").read_bytes()[:4096], "eve-schema.json")
    zeek = b'{"_path":"conn","ts":"2018-03-24T17:15:20.6Z","uid":"C1","id.orig_h":"10.0.0.1"}\n'
    assert not parser.sniff(zeek, "conn.json")
    assert not parser.sniff(b'{"timestamp":"2024-01-01T00:00:00Z","user":"alice"}\n', "app.json")


def test_a_long_log_arrives_in_bounded_batches() -> None:
    line = b'{"timestamp":"2017-01-30T16:12:26.985026+0100","event_type":"dns","src_port":53}\n'
    batches = list(SuricataEveParser().parse(io.BytesIO(line * (BATCH_ROWS + 5)), "eve.json"))
    assert [batch.rows for batch in batches] == [BATCH_ROWS, 5]
