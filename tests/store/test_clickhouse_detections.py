"""Detections on the ClickHouse store (chdb): Sentinel analytics rules from the community's
content and Sigma rules run over the same events on DuckDB and on ClickHouse, and raise the same
alerts (titles, severities, entities, rows, event times)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.detections.alerting import AlertDraft, alert_drafts
from watchkeeper.detections.models import DetectionRule, EntityMapping
from watchkeeper.detections.scheduler import Window
from watchkeeper.detections.sigma import convert_sigma

pytest.importorskip("chdb", reason="chdb is not installed (pip install 'watchkeeper[clickhouse]')")

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULES = SHARED / "kql" / "sentinel_rules.jsonl"
# Sentinel rules on SecurityEvent whose queries the events below satisfy: AdminSDHolder
# modifications, fake computer account, RDP tunneling, Fodhelper UAC bypass, Sdelete via GPO
SENTINEL_IDS = (
    "52aec824-96c1-4a03-8e44-bb70532e6cea",
    "c1faf5e8-6958-11ec-90d6-0242ac120003",
    "d2e8fd50-8d66-11ec-b909-0242ac120002",
    "56f3f35c-3aca-4437-a1fb-b7a84dc4af00",
    "d9f28fdf-abc8-4f1a-a7e7-1aaec87a2fc5",
)
ENTITIES = (
    EntityMapping("Host", (("HostName", "Computer"),)),
    EntityMapping("Account", (("Name", "TargetUserName"),)),
    EntityMapping("IP", (("Address", "IpAddress"),)),
)

SIGMA = (
    """title: Sdelete wiping recursively
id: 0b7d1c1e-8f52-4a0a-9e1f-3d3f1f0f2a01
status: test
level: high
logsource: {category: process_creation, product: windows}
detection:
  selection: {Image|endswith: '\\sdelete.exe', CommandLine|contains: ' -r'}
  condition: selection
tags: [attack.impact, attack.t1485]
""",
    """title: Computer account created by hand
id: 0b7d1c1e-8f52-4a0a-9e1f-3d3f1f0f2a02
status: test
level: medium
logsource: {product: windows, service: security}
detection:
  selection: {EventID: 4720, TargetUserName|endswith: '$'}
  condition: selection
""",
    """title: Failed su on Linux
id: 0b7d1c1e-8f52-4a0a-9e1f-3d3f1f0f2a03
status: test
level: low
logsource: {product: linux}
detection:
  keywords: ['FAILED SU']
  condition: keywords
""",
)


def _at(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def _security_events() -> list[dict[str, Any]]:
    admin_sd = '<Data Name="ObjectDN">CN=AdminSDHolder,CN=System,DC=corp,DC=example</Data>'
    registry = "\\REGISTRY\\USER\\S-1-5-21\\Software\\Classes\\ms-settings\\shell\\open\\command"
    return [
        {"TimeGenerated": _at(50), "EventID": 5136, "Computer": "dc1", "EventData": admin_sd,
         "SubjectAccount": "CORP\\eve", "SubjectUserSid": "S-1-5-21-9", "SubjectLogonId": "0x3e7"},
        {"TimeGenerated": _at(4), "EventID": 4720, "Computer": "dc1", "TargetUserName": "FAKE01$",
         "SubjectUserName": "eve", "SubjectUserSid": "S-1-5-21-9", "SubjectLogonId": "0x3e7", "TargetSid": "S-1-5-21-77"},
        {"TimeGenerated": _at(3), "EventID": 4720, "Computer": "dc1", "TargetUserName": "carol",
         "SubjectUserName": "eve", "TargetSid": "S-1-5-21-78"},
        {"TimeGenerated": _at(30), "EventID": 4624, "LogonType": 10, "IpAddress": "127.0.0.1", "Computer": "ws1",
         "TargetUserName": "bob", "TargetLogonId": "0x99"},
        {"TimeGenerated": _at(29), "EventID": 4624, "LogonType": 10, "IpAddress": "10.1.1.1", "Computer": "ws1",
         "TargetUserName": "bob", "TargetLogonId": "0x98"},
        {"TimeGenerated": _at(20), "EventID": 4657, "Computer": "ws1", "ObjectName": registry},
        {"TimeGenerated": _at(19), "EventID": 4688, "Computer": "ws1", "Process": "fodhelper.exe",
         "ParentProcessName": "C:\\Windows\\System32\\cmd.exe", "NewProcessId": "0x10"},
        {"TimeGenerated": _at(10), "EventID": 4688, "Computer": "ws2", "Process": "svchost.exe",
         "CommandLine": "svchost.exe -k GPSvcGroup", "NewProcessId": "0x1a4"},
        {"TimeGenerated": _at(10), "EventID": 4688, "Computer": "ws2", "Process": "sdelete.exe",
         "CommandLine": "sdelete.exe -s -r C:\\data", "ParentProcessName": "C:\\Windows\\System32\\svchost.exe",
         "ProcessId": "0x1a4", "NewProcessId": "0x1b0"},
    ]  # fmt: skip


def _other_events(ws: Workspace) -> None:
    ws.ingest("DeviceProcessEvents", [
        {"TimeGenerated": _at(3), "DeviceName": "ws2", "AccountName": "eve", "AccountDomain": "corp",
         "FolderPath": "C:\\tools\\sdelete.exe", "FileName": "sdelete.exe",
         "ProcessCommandLine": "sdelete.exe -s -r C:\\data", "ProcessId": 432},
        {"TimeGenerated": _at(2), "DeviceName": "ws2", "FolderPath": "C:\\tools\\sdelete.exe",
         "ProcessCommandLine": "sdelete.exe -?", "ProcessId": 433},
    ])  # fmt: skip
    ws.ingest("Syslog", [
        {"TimeGenerated": _at(1), "Computer": "web1", "Facility": "auth", "SyslogMessage": "FAILED SU (to root) alice on pts/0"},
        {"TimeGenerated": _at(1), "Computer": "web2", "Facility": "auth", "SyslogMessage": "session opened for alice"},
    ])  # fmt: skip


def _sentinel_rules() -> list[DetectionRule]:
    if not RULES.exists():
        pytest.skip(f"the Sentinel rule corpus is not at {RULES}")
    wanted = {}
    for line in RULES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["id"] in SENTINEL_IDS:
            wanted[record["id"]] = record
    return [
        DetectionRule(rule_id=r["id"], name=r["name"], source_format="sentinel", query=r["query"],
                      severity=r["severity"], query_period=timedelta(days=1), tactics=tuple(r["tactics"]),
                      entity_mappings=ENTITIES)
        for r in (wanted[i] for i in SENTINEL_IDS)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def rules() -> list[DetectionRule]:
    return _sentinel_rules() + [convert_sigma(text, f"sigma-{i}.yml") for i, text in enumerate(SIGMA)]


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Workspace]]:
    """The same events in a DuckDB and a ClickHouse (chdb) workspace."""
    from watchkeeper.store.clickhouse import ChdbEventStore

    opened = {"duckdb": Workspace.open(None), "chdb": Workspace(ChdbEventStore())}
    for ws in opened.values():
        ws.ingest("SecurityEvent", _security_events())
        _other_events(ws)
    yield opened
    for ws in opened.values():
        ws.close()


def _run(ws: Workspace, rule: DetectionRule) -> list[AlertDraft]:
    window = Window(NOW - rule.query_period, NOW)
    result = ws.query(rule.query, time_range=(window.start, window.end), now=window.end)
    return alert_drafts(rule, result, window)


def _summary(draft: AlertDraft) -> tuple[Any, ...]:
    """What an analyst sees of an alert; entities and details in a fixed order (row order is the
    engine's own where the query sorts nothing)."""
    entities = sorted(json.dumps(e, sort_keys=True, default=str) for e in draft.entities)
    details = {k: sorted(map(repr, v)) for k, v in draft.custom_details.items()}
    return (
        draft.title,
        draft.severity,
        draft.rows,
        tuple(entities),
        details,
        draft.first_event,
        draft.last_event,
    )


@pytest.mark.parametrize("name", ["duckdb", "chdb"])
def test_every_rule_raises_its_alert(
    engines: dict[str, Workspace], rules: list[DetectionRule], name: str
) -> None:
    """On each engine, each rule finds the attack its events hold, and only that."""
    fired = {rule.name: [_summary(d) for d in _run(engines[name], rule)] for rule in rules}
    assert all(len(alerts) == 1 for alerts in fired.values()), fired
    rows = {rule: alerts[0][2] for rule, alerts in fired.items()}
    assert rows["Potential Remote Desktop Tunneling"] == 1  # the logon from 10.1.1.1 is no tunnel
    assert rows["Fake computer account created"] == 1  # carol's account is no computer's
    assert rows["Sdelete wiping recursively"] == 1  # "sdelete -?" wipes nothing
    assert rows["Failed su on Linux"] == 1


def test_clickhouse_raises_the_alerts_duckdb_raises(
    engines: dict[str, Workspace], rules: list[DetectionRule]
) -> None:
    for rule in rules:
        on_duckdb = [_summary(d) for d in _run(engines["duckdb"], rule)]
        on_clickhouse = [_summary(d) for d in _run(engines["chdb"], rule)]
        assert on_clickhouse == on_duckdb, rule.name
