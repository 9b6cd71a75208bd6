"""Sigma rules converted through pySigma's Kusto backend and our pipeline: the public Sigma rule pack
converts and compiles (most Windows process_creation rules must), the regression EVTX recordings
shipped with the pack raise the rule each was recorded for, matching stays case-insensitive, fields
land on the columns the Sysmon normaliser fills, and a rule that cannot be converted says why without
stopping the others.

The rules written in this file are our own; the Sigma pack itself is read from the shared datasets
(skipped, with the reason, where they are absent)."""

from __future__ import annotations

import csv
import tarfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.detections.models import (
    ENTITY_IDENTIFIERS,
    SEVERITIES,
    TACTICS,
    DetectionRule,
    RuleKind,
    RuleLoadError,
)
from watchkeeper.detections.sigma import ENTITIES, convert_collection, convert_sigma
from watchkeeper.detections.sigma_pipeline import table_columns
from watchkeeper.ingest.parsers.evtx import EvtxParser

SIGMA = SHARED / "datasets" / "sigma"
PACK = SIGMA / "sigma-rules.tar"
REGRESSION = SIGMA / "regression_data"
needs_pack = pytest.mark.skipif(not PACK.exists(), reason=f"the Sigma rule pack is not at {PACK}")
needs_regression = pytest.mark.skipif(
    not (REGRESSION / "labels.csv").exists(), reason=f"the Sigma regression data is not at {REGRESSION}"
)

PROCESS_RULE = """
title: Encoded PowerShell started by an Office application
id: 6a0f5c1e-2b7d-4a59-9d8e-0c2f4e1b7a10
status: experimental
description: A document spawned PowerShell with an encoded command.
tags: [attack.execution, attack.t1059.001, attack.stealth, attack.defense-impairment, attack.g0016]
logsource: {category: process_creation, product: windows}
detection:
    parent:
        ParentImage|endswith: ['\\winword.exe', '\\excel.exe']
    child:
        Image|endswith: '\\powershell.exe'
        CommandLine|contains: ' -enc '
    launcher:
        OriginalFileName: 'PowerShell.EXE'
    middle:
        CommandLine: '*-nop*hidden*'
    condition: parent and child and launcher and middle
level: critical
"""


def process_row(**overrides: Any) -> dict[str, Any]:
    row = {
        "TimeGenerated": "2026-01-05T10:00:00Z",
        "DeviceName": "ws-01",
        "InitiatingProcessFolderPath": "C:\\Program Files\\Microsoft Office\\WINWORD.EXE",
        "FolderPath": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\POWERSHELL.EXE",
        "ProcessCommandLine": "powershell.exe -NOP -W HIDDEN -ENC SQBFAFgA",
        "ProcessVersionInfoOriginalFileName": "powershell.exe",
    }
    return {**row, **overrides}


def run(rule: DetectionRule, rows: dict[str, list[dict[str, Any]]]) -> int:
    ws = Workspace.open(None)
    try:
        for table, table_rows in rows.items():
            ws.ingest(table, table_rows)
        return len(ws.query(rule.query).rows)
    finally:
        ws.close()


# ---------------------------------------------------------------- one rule


def test_sigma_metadata_becomes_the_rule_model() -> None:
    rule = convert_sigma(PROCESS_RULE, "office_powershell.yml")
    assert rule.rule_id == "6a0f5c1e-2b7d-4a59-9d8e-0c2f4e1b7a10"
    assert rule.name == "Encoded PowerShell started by an Office application"
    assert (rule.source_format, rule.status, rule.origin) == (
        "sigma",
        "experimental",
        "office_powershell.yml",
    )
    assert rule.description == "A document spawned PowerShell with an encoded command."
    assert rule.severity == "High"  # critical: the highest analytics rule severity
    assert rule.tactics == ("Execution", "DefenseEvasion")  # stealth and defense-impairment: one tactic
    assert rule.techniques == ("T1059.001",)
    assert rule.kind is RuleKind.SCHEDULED
    assert (rule.query_frequency, rule.query_period) == (timedelta(minutes=5), timedelta(minutes=5))
    assert rule.tables == ("DeviceProcessEvents",)
    assert rule.query.startswith("DeviceProcessEvents\n")
    assert rule.text == PROCESS_RULE
    assert ("HostName", "DeviceName") in rule.entity_mappings[0].fields


def test_entities_of_each_table_are_valid_and_its_columns() -> None:
    for table, mappings in ENTITIES.items():
        for mapping in mappings:
            identifiers, required = ENTITY_IDENTIFIERS[mapping.entity_type]
            named = {identifier for identifier, _ in mapping.fields}
            assert named <= set(identifiers), (table, mapping)
            assert any(set(needed) <= named for needed in required), (table, mapping)
            assert {column for _, column in mapping.fields} <= table_columns(table), (table, mapping)


def test_matching_is_case_insensitive_like_sigma() -> None:
    rule = convert_sigma(PROCESS_RULE, "office_powershell.yml")
    # upper-case paths, command line and file name against the rule's lower-case values
    assert run(rule, {"DeviceProcessEvents": [process_row()]}) == 1
    assert (
        run(rule, {"DeviceProcessEvents": [process_row(ProcessCommandLine="powershell.exe -enc AAAA")]}) == 0
    )
    other_parent = process_row(InitiatingProcessFolderPath="C:\\Windows\\explorer.exe")
    assert run(rule, {"DeviceProcessEvents": [other_parent]}) == 0


def test_wildcards_inside_a_value_and_regular_expressions() -> None:
    text = r"""
title: Renamed binary run from a profile
logsource: {category: process_creation, product: windows}
detection:
    profile:
        Image: 'C:\Users\\*\AppData\x?.exe'
    pattern:
        CommandLine|re: '(?i)run\s+"now"'
    condition: profile and pattern
level: low
"""
    rule = convert_sigma(text, "wildcards.yml")
    row = process_row(FolderPath="c:\\users\\bob\\appdata\\X1.EXE", ProcessCommandLine='RUN   "now"')
    assert run(rule, {"DeviceProcessEvents": [row]}) == 1  # ? and * inside the value, any case
    longer = {**row, "FolderPath": "c:\\users\\bob\\appdata\\X12.EXE"}
    assert run(rule, {"DeviceProcessEvents": [longer]}) == 0


def test_linux_keywords_search_syslog_messages() -> None:
    text = """
title: Root logged in over SSH with a password
logsource: {product: linux, service: sshd}
detection:
    keywords: ['Accepted password for root']
    condition: keywords
level: medium
"""
    rule = convert_sigma(text, "sshd.yml")
    assert rule.tables == ("Syslog",)
    row = {"TimeGenerated": "2026-01-05T10:00:00Z", "Computer": "web-01", "ProcessName": "sshd",
           "SyslogMessage": "ACCEPTED PASSWORD FOR ROOT from 203.0.113.9 port 50122 ssh2"}  # fmt: skip
    assert run(rule, {"Syslog": [row]}) == 1
    assert run(rule, {"Syslog": [{**row, "ProcessName": "sudo"}]}) == 0  # another program's log


REGISTRY_RULE = """
title: Security notifications switched off
id: 0b4e7f52-9d3c-4f1a-8e26-71c5a9d0e3b4
logsource: {category: registry_set, product: windows}
detection:
    selection:
        EventType: SetValue
        TargetObject|startswith: 'HKLM\\SOFTWARE\\Policies\\Example\\'
        TargetObject|endswith: '\\DisableNotifications'
        Details: 'DWORD (0x00000001)'
    condition: selection
level: medium
"""


def registry_row(data: str) -> dict[str, Any]:
    return {
        "TimeGenerated": "2026-01-05T10:00:00Z",
        "DeviceName": "ws-01",
        "ActionType": "RegistryValueSet",
        "RegistryKey": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Example\\Center",
        "RegistryValueName": "DisableNotifications",
        "RegistryValueType": "Dword",
        "RegistryValueData": data,
    }


def test_registry_rule_reads_defender_registry_columns() -> None:
    rule = convert_sigma(REGISTRY_RULE, "registry.yml")
    assert rule.tables == ("DeviceRegistryEvents",)
    # HKLM\ is Defender's HKEY_LOCAL_MACHINE\, the value name is part of Sysmon's TargetObject,
    # DWORD (0x00000001) is stored as 1
    assert run(rule, {"DeviceRegistryEvents": [registry_row("1")]}) == 1
    assert run(rule, {"DeviceRegistryEvents": [registry_row("0")]}) == 0


def test_field_without_a_device_column_reads_the_sysmon_event() -> None:
    text = """
title: Unsigned module loaded by the spooler
logsource: {category: image_load, product: windows}
detection:
    selection: {Image|endswith: '\\spoolsv.exe', Signed: 'false'}
    condition: selection
level: high
"""
    rule = convert_sigma(text, "image_load.yml")
    assert rule.tables == ("Event",)  # DeviceImageLoadEvents has no signature column
    data = (
        '<DataItem type="System.XmlData" time="2026-01-05T10:00:00+00:00"><EventData xmlns="x">'
        '<Data Name="Image">C:\\Windows\\System32\\SPOOLSV.EXE</Data><Data Name="Signed">{}</Data>'
        "</EventData></DataItem>"
    )
    row = {"TimeGenerated": "2026-01-05T10:00:00Z", "EventLog": "Microsoft-Windows-Sysmon/Operational",
           "EventID": 7, "Computer": "ws-01"}  # fmt: skip
    assert run(rule, {"Event": [{**row, "EventData": data.format("FALSE")}]}) == 1
    assert run(rule, {"Event": [{**row, "EventData": data.format("true")}]}) == 0
    assert run(rule, {"Event": [{**row, "EventID": 1, "EventData": data.format("false")}]}) == 0


def test_classic_powershell_rule_reads_every_unnamed_data_item() -> None:
    text = """
title: Defender real-time monitoring turned off from PowerShell
logsource: {category: ps_classic_provider_start, product: windows}
detection:
    selection: {Data|contains|all: ['Set-MpPreference', '-DisableRealtimeMonitoring $true']}
    condition: selection
level: high
"""
    rule = convert_sigma(text, "posh_pc.yml")
    assert rule.tables == ("Event",)
    # provider start (600): the provider's name, its state, then the engine's details in one text
    data = (
        "<EventData><Data>Registry</Data><Data>Started</Data><Data>ProviderName=Registry\n"
        "HostApplication=powershell.exe -c Set-MpPreference {} $true</Data></EventData>"
    )
    row = {"TimeGenerated": "2026-01-05T10:00:00Z", "EventLog": "Windows PowerShell", "EventID": 600,
           "Computer": "ws-01"}  # fmt: skip
    assert run(rule, {"Event": [{**row, "EventData": data.format("-DisableRealtimeMonitoring")}]}) == 1
    assert run(rule, {"Event": [{**row, "EventData": data.format("-DisableIOAVProtection")}]}) == 0
    assert (
        run(
            rule, {"Event": [{**row, "EventID": 400, "EventData": data.format("-DisableRealtimeMonitoring")}]}
        )
        == 0
    )


def test_security_rule_reads_columns_and_event_data() -> None:
    text = """
title: Directory object read with a suspicious access
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4662
        SubjectUserName|endswith: '$'
        ObjectDN|contains: 'a&b'
    condition: selection
level: low
"""
    rule = convert_sigma(text, "security.yml")
    assert rule.tables == ("SecurityEvent",)
    row = {"TimeGenerated": "2026-01-05T10:00:00Z", "EventID": 4662, "Computer": "dc-01",
           "SubjectUserName": "WS-01$", "EventData": '<EventData><Data Name="ObjectDN">x A&amp;B y</Data></EventData>'}  # fmt: skip
    assert run(rule, {"SecurityEvent": [row]}) == 1
    assert run(rule, {"SecurityEvent": [{**row, "SubjectUserName": "alice"}]}) == 0


def test_cloud_rule_fields_in_any_case_and_inside_dynamic_columns() -> None:
    text = """
title: Password spray against a non-compliant device
logsource: {product: azure, service: signinlogs}
detection:
    selection:
        resultType: 50126
        DeviceDetail.isCompliant: 'false'
    condition: selection
level: medium
"""
    rule = convert_sigma(text, "signin.yml")
    row = {
        "TimeGenerated": "2026-01-05T10:00:00Z",
        "ResultType": "50126",
        "DeviceDetail": {"isCompliant": False},
    }
    assert run(rule, {"SigninLogs": [row]}) == 1
    assert run(rule, {"SigninLogs": [{**row, "DeviceDetail": {"isCompliant": True}}]}) == 0


def test_rule_tests_section_is_parsed() -> None:
    text = (
        PROCESS_RULE
        + """
tests:
    - name: word launches encoded powershell
      events:
          DeviceProcessEvents:
              - {DeviceName: ws-01, ProcessCommandLine: powershell -enc AAAA}
      expect: {alerts: 1, entities: [{type: Host, identifier: HostName, value: ws-01}]}
"""
    )
    (test,) = convert_sigma(text, "with_tests.yml").tests
    assert test.name == "word launches encoded powershell"
    assert test.events == (
        ("DeviceProcessEvents", ({"DeviceName": "ws-01", "ProcessCommandLine": "powershell -enc AAAA"},)),
    )
    assert (test.expect_alerts, test.expect_entities) == (1, (("Host", "HostName", "ws-01"),))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("title: [unclosed", "not YAML"),
        ("title: no detection\nlogsource: {product: windows}\n", "not a Sigma rule"),
        (PROCESS_RULE.replace("category: process_creation", "category: webserver").replace("product: windows", "product: nginx"),
         "no table holds log source product: nginx, category: webserver"),
        (PROCESS_RULE.replace("CommandLine|contains:", "CommandLine|cased:"), "cannot convert: Case-sensitive"),
        ("title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {bogusField: x}\n  condition: s\n",
         "field 'bogusField' has no column in AWSCloudTrail"),
        ("title: t\nlogsource: {product: windows, service: nosuchchannel}\ndetection:\n  s: {EventID: 1}\n  condition: s\n",
         "no Windows event log channel is known for service 'nosuchchannel'"),
    ],
)  # fmt: skip
def test_a_rule_that_cannot_be_converted_says_why(text: str, reason: str) -> None:
    with pytest.raises(RuleLoadError) as caught:
        convert_sigma(text, "bad.yml")
    assert caught.value.source == "bad.yml"
    assert reason in caught.value.message
    assert "(while" not in caught.value.message  # pySigma's "(while converting rule None)" is dropped


def test_collection_keeps_going_past_bad_rules(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    (folder / "windows").mkdir(parents=True)
    (folder / "windows" / "good.yml").write_text(PROCESS_RULE)
    (folder / "windows" / "broken.yml").write_text("title: [unclosed")
    (folder / "binary.yaml").write_bytes(b"\xff\xfe\x00garbage")
    (folder / "notes.txt").write_text("not a rule file")
    archive = tmp_path / "rules.tar"
    with tarfile.open(archive, "w") as tar:
        for file in folder.rglob("*"):
            tar.add(file, arcname=str(file.relative_to(folder)), recursive=False)
    for source in (folder, archive):
        rules, skipped = convert_collection(source)
        assert [r.name for r in rules] == ["Encoded PowerShell started by an Office application"]
        assert sorted(Path(s.rpartition(":")[2]).name for s, _ in skipped) == ["binary.yaml", "broken.yml"]
        assert all(reason for _, reason in skipped)


# ---------------------------------------------------------------- the Sigma pack


@pytest.fixture
def pack(
    sigma_pack: tuple[list[DetectionRule], list[tuple[str, str]]],
) -> tuple[list[DetectionRule], list[tuple[str, str]]]:
    return sigma_pack


def _pack_members() -> list[str]:
    with tarfile.open(PACK) as tar:
        return [m.name for m in tar if m.isfile() and m.name.endswith((".yml", ".yaml"))]


@needs_pack
def test_sigma_pack_converts_and_compiles(pack: tuple[list[DetectionRule], list[tuple[str, str]]]) -> None:
    rules, skipped = pack
    members = _pack_members()
    assert len(rules) + len(skipped) == len(members)
    process = [m for m in members if "/windows/process_creation/" in m]
    converted_process = [r for r in rules if "/windows/process_creation/" in r.origin]
    reasons = Counter(reason for _, reason in skipped)
    summary = f"{len(rules)} converted, {len(skipped)} skipped; top reasons {reasons.most_common(8)}"
    assert len(converted_process) >= 0.98 * len(process), summary
    assert len(rules) >= 0.75 * len(members), summary
    assert all(reason and "Traceback" not in reason for _, reason in skipped)
    for rule in rules:
        assert rule.source_format == "sigma"
        assert rule.severity in SEVERITIES
        assert set(rule.tactics) <= set(TACTICS)
        assert rule.query.startswith(rule.tables[0] + "\n")
    assert len({r.rule_id for r in rules}) == len(rules)


def _regression_cases() -> list[tuple[Path, str, int | None]]:
    cases = []
    with (REGRESSION / "labels.csv").open() as labels:
        for row in csv.DictReader(labels):
            evtx = REGRESSION / row["file"]
            info = yaml.safe_load((evtx.parent / "info.yml").read_text())
            expected = (info.get("regression_tests_info") or [{}])[0].get("match_count")
            cases.append((evtx, row["rule_id"], expected))
    return cases


def _matches(rule: DetectionRule, evtx: Path) -> int:
    ws = Workspace.open(None)
    try:
        with evtx.open("rb") as stream:
            for batch in EvtxParser().parse(stream, evtx.name):
                ws.ingest_parsed(batch, source=evtx.name, input_format="evtx")
        return len(ws.query(rule.query).rows)
    finally:
        ws.close()


@needs_pack
@needs_regression
def test_regression_recordings_raise_their_rule(
    pack: tuple[list[DetectionRule], list[tuple[str, str]]],
) -> None:
    rules = {r.rule_id: r for r in pack[0]}
    cases = _regression_cases()
    misses = []
    for evtx, rule_id, expected in cases:
        rule = rules.get(rule_id)
        if rule is None:
            misses.append(f"{evtx.name}: rule {rule_id} was not converted")
            continue
        found = _matches(rule, evtx)
        # a recording's match_count is the least it must raise (one counts 1 of 3 matching files)
        if found == 0 or (expected is not None and found < expected):
            misses.append(f"{evtx.name}: {rule.name} matched {found}, expected {expected}")
    assert len(cases) >= 70
    assert len(misses) <= 0.05 * len(cases), misses
