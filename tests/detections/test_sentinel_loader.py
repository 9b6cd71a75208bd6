"""Sentinel analytics rule YAML -> DetectionRule: every key of the spec's table (sentinel-content.md
section 1) read and checked, each problem reported with the file, line and field; the real rule
corpus loads."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import SHARED
from watchkeeper.detections.durations import format_duration, iso_duration, parse_duration
from watchkeeper.detections.models import (
    AlertDetailsOverride,
    EntityMapping,
    GroupingConfiguration,
    IncidentConfiguration,
    RuleKind,
    RuleLoadError,
)
from watchkeeper.detections.sentinel import load_sentinel, load_sentinel_file

# the example of sentinel-content.md section 1, line for line (line numbers below refer to it)
EXAMPLE = """\
id: 3e3d8f26-5d3a-4a6f-9a0b-8d3b9a4c0f11
name: Brute force followed by success
description: |
  Multiple failed sign-ins followed by a success from the same IP.
severity: Medium
requiredDataConnectors:
  - connectorId: AzureActiveDirectory
    dataTypes: [SigninLogs]
queryFrequency: 1h
queryPeriod: 1d
triggerOperator: gt
triggerThreshold: 0
tactics: [CredentialAccess]
relevantTechniques: [T1110]
query: |
  SigninLogs | where ResultType != "0" | summarize Failures=count() by UserPrincipalName, IPAddress | where Failures > 10
entityMappings:
  - entityType: Account
    fieldMappings: [{identifier: FullName, columnName: UserPrincipalName}]
  - entityType: IP
    fieldMappings: [{identifier: Address, columnName: IPAddress}]
customDetails: {FailureCount: Failures}
eventGroupingSettings: {aggregationKind: AlertPerResult}
incidentConfiguration:
  createIncident: true
  groupingConfiguration: {enabled: true, reopenClosedIncident: false, lookbackDuration: PT5H, matchingMethod: Selected, groupByEntities: [Account]}
version: 1.0.0
kind: Scheduled
"""

OVERRIDE = """\
alertDetailsOverride:
  alertDisplayNameFormat: "{{UserPrincipalName}} failed {{Failures}} times"
  alertDescriptionFormat: Sign-in failures from {{IPAddress}}
  alertTacticsColumnName: Tactics
  alertSeverityColumnName: Severity
  alertDynamicProperties:
    - {alertProperty: ProductName, value: Product}
    - {alertProperty: ConfidenceScore, value: Score}
suppressionEnabled: true
suppressionDuration: 2h
enabled: false
status: Available
tags: [Brute force]
metadata: {source: {kind: Community}, author: {name: someone}}
sentinelEntitiesMappings: [{columnName: UserPrincipalName}]
"""

TESTS = """\
tests:
  - name: ten failures fire once
    events:
      SigninLogs:
        - {UserPrincipalName: alice@contoso.com, IPAddress: 10.0.0.5, ResultType: "50126", TimeGenerated: 2025-12-01T08:00:00Z}
        - {UserPrincipalName: bob@contoso.com, IPAddress: 10.0.0.6, ResultType: "0"}
    expect:
      alerts: 1
      entities:
        - {type: account, identifier: FullName, value: alice@contoso.com}
        - {type: IP, identifier: Address, value: 10.0.0.5}
  - name: a quiet day
    fixture: fixtures/quiet.ndjson
    expect: {alerts: 0}
  - name: anything at all
    fixture: fixtures/noisy.ndjson
"""


def load(text: str = EXAMPLE):
    return load_sentinel(text, "rules/brute.yaml")


def test_the_spec_example_loads_with_every_field():
    rule = load()
    assert (rule.rule_id, rule.name, rule.source_format) == (
        "3e3d8f26-5d3a-4a6f-9a0b-8d3b9a4c0f11", "Brute force followed by success", "sentinel",
    )  # fmt: skip
    assert rule.kind is RuleKind.SCHEDULED
    assert rule.description == "Multiple failed sign-ins followed by a success from the same IP.\n"
    assert rule.severity == "Medium"
    assert (rule.query_frequency, rule.query_period) == (timedelta(hours=1), timedelta(days=1))
    assert (rule.trigger_operator, rule.trigger_threshold) == ("gt", 0)
    assert (rule.tactics, rule.techniques) == (("CredentialAccess",), ("T1110",))
    assert rule.query.startswith('SigninLogs | where ResultType != "0"')
    assert rule.entity_mappings == (
        EntityMapping("Account", (("FullName", "UserPrincipalName"),)),
        EntityMapping("IP", (("Address", "IPAddress"),)),
    )
    assert rule.custom_details == (("FailureCount", "Failures"),)
    assert rule.aggregation == "AlertPerResult"
    assert rule.incident == IncidentConfiguration(
        create_incident=True,
        grouping=GroupingConfiguration(
            enabled=True, reopen_closed_incident=False, lookback=timedelta(hours=5),
            matching_method="Selected", group_by_entities=("Account",),
        ),
    )  # fmt: skip
    assert (rule.version, rule.enabled, rule.status) == ("1.0.0", True, "")
    assert (rule.alert_details_override, rule.suppression_enabled) == (None, False)
    assert rule.tables == ("SigninLogs",)
    assert (rule.origin, rule.text, rule.tests) == ("rules/brute.yaml", EXAMPLE, ())
    # what the rule then does with a run's row count
    assert rule.triggered(1)
    assert not rule.triggered(0)


def test_overrides_suppression_and_content_metadata_load():
    rule = load(EXAMPLE + OVERRIDE)
    assert rule.alert_details_override == AlertDetailsOverride(
        display_name_format="{{UserPrincipalName}} failed {{Failures}} times",
        description_format="Sign-in failures from {{IPAddress}}",
        tactics_column="Tactics", severity_column="Severity",
        dynamic_properties=(("ProductName", "Product"), ("ConfidenceScore", "Score")),
    )  # fmt: skip
    assert (rule.suppression_enabled, rule.suppression_duration) == (True, timedelta(hours=2))
    assert (rule.enabled, rule.status) == (False, "Available")


def test_the_tests_section_becomes_rule_tests():
    first, second, third = load(EXAMPLE + TESTS).tests
    assert first.name == "ten failures fire once"
    ((table, rows),) = first.events
    assert table == "SigninLogs"
    # dates stay text as written (ingestion parses them), quoted numbers stay text
    assert rows[0] == {"UserPrincipalName": "alice@contoso.com", "IPAddress": "10.0.0.5", "ResultType": "50126",
                       "TimeGenerated": "2025-12-01T08:00:00Z"}  # fmt: skip
    assert first.expect_alerts == 1
    assert first.expect_entities == (
        ("Account", "FullName", "alice@contoso.com"),
        ("IP", "Address", "10.0.0.5"),
    )
    assert (second.fixture, second.events, second.expect_alerts) == ("fixtures/quiet.ndjson", (), 0)
    assert (third.expect_alerts, third.expect_entities) == (None, ())


def test_names_are_matched_regardless_of_case_and_come_out_as_the_spec_spells_them():
    text = (
        EXAMPLE.replace("severity: Medium", "severity: high")
        .replace("triggerOperator: gt", "triggerOperator: GreaterThan")
        .replace(
            "tactics: [CredentialAccess]", "tactics: [commandandcontrol, CredentialAccess, CommandAndControl]"
        )
        .replace("entityType: IP", "entityType: ip")
        .replace("relevantTechniques: [T1110]", "relevantTechniques: [t1110.001, T1110]")
    )
    rule = load(text)
    assert (rule.severity, rule.trigger_operator) == ("High", "gt")
    assert rule.tactics == ("CommandAndControl", "CredentialAccess")
    assert rule.techniques == ("T1110.001", "T1110")
    assert rule.entity_mappings[1].entity_type == "IP"


@pytest.mark.parametrize("written", ["1h", "60m", "01:00:00", "0.01:00:00", "PT1H", "PT60M", "1:00"])
def test_every_duration_form_means_the_same(written: str):
    rule = load(EXAMPLE.replace("queryFrequency: 1h", f"queryFrequency: {written}"))
    assert rule.query_frequency == timedelta(hours=1)


NRT = """\
id: 0b3e2a4d-0c6f-4f0e-9d59-7a2f4c1e0a11
name: Rejected MFA
description: A user rejected an MFA prompt.
severity: Medium
requiredDataConnectors: []
tactics: [InitialAccess]
query: SigninLogs | where ResultType == "500121"
kind: NRT
"""


def test_an_nrt_rule_runs_every_minute_without_schedule_keys():
    rule = load(NRT)
    assert rule.kind is RuleKind.NRT
    assert (rule.query_frequency, rule.query_period) == (timedelta(minutes=1), timedelta(minutes=1))
    assert rule.tables == ("SigninLogs",)
    assert rule.triggered(1)
    assert not rule.triggered(0)


def test_a_query_the_compiler_cannot_read_still_loads_with_the_declared_tables():
    rule = load(EXAMPLE.replace("  SigninLogs | where", "  SigninLogs | frobnicate | where"))
    assert rule.tables == ("SigninLogs",)


def lines_with(text: str, line: int, new: str) -> str:
    """``text`` with line ``line`` (1-based) replaced by ``new`` (several lines allowed)."""
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def without(text: str, line: int) -> str:
    lines = text.splitlines()
    del lines[line - 1]
    return "\n".join(lines) + "\n"


FOUR_PLACEHOLDERS = 'alertDetailsOverride: {alertDisplayNameFormat: "{{a}} {{b}} {{c}} {{d}}"}'
SIX_ENTITIES = (
    "entityMappings:\n" + "  - {entityType: IP, fieldMappings: [{identifier: Address, columnName: A}]}\n" * 6
)

# (id, broken text, line, field, words the message must hold)
BROKEN = [
    ("id-not-guid", lines_with(EXAMPLE, 1, "id: brute-force-1"), 1, "id", "not a GUID"),
    ("name-too-long", lines_with(EXAMPLE, 2, "name: " + "n" * 257), 2, "name", "at most 256"),
    ("description-missing", without(without(EXAMPLE, 4), 3), 1, "description", "is required"),
    ("severity-unknown", lines_with(EXAMPLE, 5, "severity: Critical"), 5, "severity", "unknown severity 'Critical'"),
    ("severity-missing", without(EXAMPLE, 5), 1, "severity", "is required"),
    ("severity-typo-key", lines_with(EXAMPLE, 5, "severty: Medium"), 5, "severty", "did you mean 'severity'"),
    ("connectors-missing", without(without(without(EXAMPLE, 8), 7), 6), 1, "requiredDataConnectors",
     "required for a Scheduled rule"),
    ("connector-no-datatypes", without(lines_with(EXAMPLE, 7, "  - connectorId: AzureActiveDirectory"), 8), 7,
     "requiredDataConnectors[0].dataTypes", "is required"),
    ("frequency-too-short", lines_with(EXAMPLE, 9, "queryFrequency: 2m"), 9, "queryFrequency",
     "2m is out of range 5m to 14d"),
    ("frequency-too-long", lines_with(EXAMPLE, 9, "queryFrequency: 15d"), 9, "queryFrequency", "out of range"),
    ("frequency-upper-unit", lines_with(EXAMPLE, 9, "queryFrequency: 5M"), 9, "queryFrequency", "lower-case"),
    ("frequency-no-unit", lines_with(EXAMPLE, 9, "queryFrequency: 5"), 9, "queryFrequency", "has no unit"),
    ("frequency-weeks", lines_with(EXAMPLE, 9, "queryFrequency: 1w"), 9, "queryFrequency", "not a duration"),
    ("frequency-months", lines_with(EXAMPLE, 9, "queryFrequency: P1M"), 9, "queryFrequency", "months"),
    ("frequency-bad-clock", lines_with(EXAMPLE, 9, "queryFrequency: 01:75:00"), 9, "queryFrequency", "0-59"),
    ("period-shorter", lines_with(EXAMPLE, 10, "queryPeriod: 30m"), 10, "queryPeriod",
     "shorter than queryFrequency 1h"),
    ("trigger-unknown", lines_with(EXAMPLE, 11, "triggerOperator: gte"), 11, "triggerOperator",
     "did you mean 'gt'"),
    ("trigger-missing", without(EXAMPLE, 11), 1, "triggerOperator", "required for a Scheduled rule"),
    ("threshold-high", lines_with(EXAMPLE, 12, "triggerThreshold: 10001"), 12, "triggerThreshold",
     "out of range 0 to 10000"),
    ("threshold-negative", lines_with(EXAMPLE, 12, "triggerThreshold: -1"), 12, "triggerThreshold", "out of range"),
    ("threshold-text", lines_with(EXAMPLE, 12, "triggerThreshold: many"), 12, "triggerThreshold", "whole number"),
    ("threshold-bool", lines_with(EXAMPLE, 12, "triggerThreshold: true"), 12, "triggerThreshold", "whole number"),
    ("tactic-typo", lines_with(EXAMPLE, 13, "tactics: [CredentialAcess]"), 13, "tactics[0]",
     "did you mean 'CredentialAccess'"),
    ("tactics-not-list", lines_with(EXAMPLE, 13, "tactics: CredentialAccess"), 13, "tactics", "must be a list"),
    ("technique-bad", lines_with(EXAMPLE, 14, "relevantTechniques: [T1110, T11101]"), 14, "relevantTechniques[1]",
     "not a MITRE ATT&CK technique id"),
    ("query-empty", without(lines_with(EXAMPLE, 15, 'query: ""'), 16), 15, "query", "must not be empty"),
    ("query-too-long", lines_with(EXAMPLE, 16, "  SigninLogs" + " " * 10_000), 15, "query", "at most 10000"),
    ("entity-type-unknown", lines_with(EXAMPLE, 20, "  - entityType: IPAddress"), 20, "entityMappings[1].entityType",
     "unknown entity type 'IPAddress'"),
    ("identifier-typo", lines_with(EXAMPLE, 21, "    fieldMappings: [{identifier: Adress, columnName: IPAddress}]"),
     21, "entityMappings[1].fieldMappings[0].identifier", "did you mean 'Address'"),
    ("identifier-not-required-set", lines_with(EXAMPLE, 19, "    fieldMappings: [{identifier: UPNSuffix, columnName: X}]"),
     19, "entityMappings[0].fieldMappings", "needs FullName or Sid or Name or AadUserId or PUID or ObjectGuid"),
    ("identifier-twice", lines_with(EXAMPLE, 21, "    fieldMappings: [{identifier: Address, columnName: A}, "
     "{identifier: Address, columnName: B}]"), 21, "entityMappings[1].fieldMappings[1].identifier", "mapped twice"),
    ("four-field-mappings", lines_with(EXAMPLE, 19, "    fieldMappings: [{identifier: FullName, columnName: A}, "
     "{identifier: Sid, columnName: B}, {identifier: Name, columnName: C}, {identifier: PUID, columnName: D}]"), 19,
     "entityMappings[0].fieldMappings", "holds 4 items; 1 to 3"),
    ("yaml-tab", lines_with(EXAMPLE, 25, "\tcreateIncident: true"), 25, None, "not valid YAML"),
    ("field-mapping-no-column", lines_with(EXAMPLE, 21, "    fieldMappings: [{identifier: Address}]"), 21,
     "entityMappings[1].fieldMappings[0].columnName", "is required"),
    ("column-with-space", lines_with(EXAMPLE, 21, "    fieldMappings: [{identifier: Address, columnName: IP Address}]"),
     21, "entityMappings[1].fieldMappings[0].columnName", "not a column name"),
    ("six-entities", "\n".join([*EXAMPLE.splitlines()[:16], SIX_ENTITIES, *EXAMPLE.splitlines()[21:]]), 17, "entityMappings",
     "holds 6 items; 1 to 5"),
    ("detail-key-bad", lines_with(EXAMPLE, 22, "customDetails: {1stFailure: Failures}"), 22, "customDetails.1stFailure",
     "detail name"),
    ("detail-column-bad", lines_with(EXAMPLE, 22, "customDetails: {FailureCount: Fail-ures}"), 22,
     "customDetails.FailureCount", "not a column name"),
    ("details-21", lines_with(EXAMPLE, 22, "customDetails: {" + ", ".join(f"K{i}: C{i}" for i in range(21)) + "}"),
     22, "customDetails", "at most 20"),
    ("aggregation-unknown", lines_with(EXAMPLE, 23, "eventGroupingSettings: {aggregationKind: PerResult}"), 23,
     "eventGroupingSettings.aggregationKind", "unknown aggregation kind 'PerResult'"),
    ("create-incident-text", lines_with(EXAMPLE, 25, "  createIncident: yes please"), 25,
     "incidentConfiguration.createIncident", "true or false"),
    ("lookback-short", EXAMPLE.replace("lookbackDuration: PT5H", "lookbackDuration: PT2M"), 26,
     "incidentConfiguration.groupingConfiguration.lookbackDuration", "out of range 5m to 7d"),
    ("lookback-long", EXAMPLE.replace("lookbackDuration: PT5H", "lookbackDuration: P8D"), 26,
     "incidentConfiguration.groupingConfiguration.lookbackDuration", "8d is out of range"),
    ("matching-typo", EXAMPLE.replace("matchingMethod: Selected", "matchingMethod: AllEntity"), 26,
     "incidentConfiguration.groupingConfiguration.matchingMethod", "did you mean 'AllEntities'"),
    ("selected-nothing", EXAMPLE.replace("groupByEntities: [Account]", "groupByEntities: []"), 26,
     "incidentConfiguration.groupingConfiguration.matchingMethod", "at least one of groupByEntities"),
    ("group-unmapped-entity", EXAMPLE.replace("groupByEntities: [Account]", "groupByEntities: [Host]"), 26,
     "incidentConfiguration.groupingConfiguration.groupByEntities[0]", "not mapped in entityMappings"),
    ("group-custom-unknown", EXAMPLE.replace("groupByEntities: [Account]", "groupByCustomDetails: [Failure]"), 26,
     "incidentConfiguration.groupingConfiguration.groupByCustomDetails[0]", "not a key of customDetails"),
    ("group-detail-unknown", EXAMPLE.replace("groupByEntities: [Account]", "groupByAlertDetails: [Name]"), 26,
     "incidentConfiguration.groupingConfiguration.groupByAlertDetails[0]", "DisplayName, Severity"),
    ("grouping-key-typo", EXAMPLE.replace("reopenClosedIncident:", "reopenClosedIncidents:"), 26,
     "incidentConfiguration.groupingConfiguration.reopenClosedIncidents", "did you mean 'reopenClosedIncident'"),
    ("version-bad", lines_with(EXAMPLE, 27, "version: one"), 27, "version", "not a version"),
    ("kind-not-query-rule", lines_with(EXAMPLE, 28, "kind: Fusion"), 28, "kind", "Scheduled and NRT"),
    ("kind-typo", lines_with(EXAMPLE, 28, "kind: Scheduld"), 28, "kind", "did you mean 'Scheduled'"),
    ("nrt-with-frequency", lines_with(EXAMPLE, 28, "kind: NRT"), 9, "queryFrequency", "NRT rule"),
    ("nrt-two-tables", NRT.replace('query: SigninLogs | where ResultType == "500121"',
     "query: union SigninLogs, AuditLogs"), 7, "query", "an NRT rule reads one table; this query reads"),
    ("unknown-key-typo", EXAMPLE + "queryPeriods: 1d\n", 29, "queryPeriods", "did you mean 'queryPeriod'"),
    ("key-twice", EXAMPLE + "severity: High\n", 29, "severity", "written twice"),
    ("enabled-text", EXAMPLE + "enabled: maybe\n", 29, "enabled", "true or false"),
    ("suppression-long", EXAMPLE + "suppressionEnabled: true\nsuppressionDuration: 2d\n", 30, "suppressionDuration",
     "out of range 5m to 1d"),
    ("placeholders-4", EXAMPLE + FOUR_PLACEHOLDERS + "\n", 29, "alertDetailsOverride.alertDisplayNameFormat",
     "4 {{Column}} placeholders; at most 3"),
    ("dynamic-property-unknown", EXAMPLE + "alertDetailsOverride:\n  alertDynamicProperties:\n"
     "    - {alertProperty: Bogus, value: X}\n", 31, "alertDetailsOverride.alertDynamicProperties[0].alertProperty",
     "unknown alert property 'Bogus'"),
    ("override-key-typo", EXAMPLE + "alertDetailsOverride: {alertDisplayName: x}\n", 29,
     "alertDetailsOverride.alertDisplayName", "did you mean 'alertDisplayNameFormat'"),
    ("metadata-not-mapping", EXAMPLE + "metadata: [a]\n", 29, "metadata", "must be a mapping"),
    ("test-events-and-fixture", EXAMPLE + "tests:\n  - name: t\n    fixture: f.ndjson\n    events: {Syslog: [{a: 1}]}\n",
     30, "tests[0]", "either 'events'"),
    ("test-fixture-escapes", EXAMPLE + "tests:\n  - name: t\n    fixture: ../../etc/passwd\n", 31, "tests[0].fixture",
     "relative to the rule file"),
    ("test-fixture-absolute", EXAMPLE + "tests:\n  - name: t\n    fixture: /etc/passwd\n", 31, "tests[0].fixture",
     "relative to the rule file"),
    ("test-alerts-negative", EXAMPLE + "tests:\n  - name: t\n    fixture: f.ndjson\n    expect: {alerts: -1}\n", 32,
     "tests[0].expect.alerts", "out of range"),
    ("test-entity-type", EXAMPLE + "tests:\n  - name: t\n    fixture: f.ndjson\n    expect:\n      entities:\n"
     "        - {type: Acount, identifier: Name, value: x}\n", 34, "tests[0].expect.entities[0].type",
     "did you mean 'Account'"),
    ("test-row-not-mapping", EXAMPLE + "tests:\n  - name: t\n    events:\n      Syslog: [just text]\n", 32,
     "tests[0].events.Syslog[0]", "a row must be a mapping"),
    ("test-names-twice", EXAMPLE + "tests:\n  - {name: t, fixture: a.ndjson}\n  - {name: t, fixture: b.ndjson}\n",
     31, "tests[1].name", "already named 't'"),
    ("test-key-typo", EXAMPLE + "tests:\n  - {name: t, fixture: a.ndjson, expected: {alerts: 1}}\n", 30,
     "tests[0].expected", "did you mean 'expect'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "field", "words"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_a_broken_rule_is_refused_naming_line_and_field(text: str, line: int, field: str | None, words: str):
    with pytest.raises(RuleLoadError) as caught:
        load(text)
    error = caught.value
    assert (error.source, error.line, error.field_path) == ("rules/brute.yaml", line, field), str(error)
    assert words in error.message
    assert str(error).startswith(f"rules/brute.yaml:{line}: " + (f"{field}: " if field else ""))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "a YAML mapping of keys"),
        ("- just\n- a list\n", "a YAML mapping of keys"),
        ("id: [unclosed\n", "not valid YAML"),
        ("a: 1\n---\nb: 2\n", "not valid YAML"),
        ("a: &x [*x]\n", "nested too deeply"),
        ("!!python/object:os.system {}\n", "not valid YAML"),
    ],
    ids=["empty", "list", "syntax", "two-documents", "recursive-alias", "python-tag"],
)
def test_text_that_is_not_a_rule_mapping_is_refused(text: str, words: str):
    with pytest.raises(RuleLoadError, match=r"rules/brute\.yaml") as caught:
        load(text)
    assert words in caught.value.message


def test_files_are_read_as_utf8_and_refused_when_unreadable(tmp_path: Path):
    rule_file = tmp_path / "brute.yaml"
    rule_file.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.encode())  # a BOM, as Windows editors write
    assert load_sentinel_file(rule_file).origin == str(rule_file)
    rule_file.write_bytes(EXAMPLE.encode().replace(b"Brute", b"\xff"))
    with pytest.raises(RuleLoadError, match="not UTF-8"):
        load_sentinel_file(rule_file)
    with pytest.raises(RuleLoadError, match="cannot read"):
        load_sentinel_file(tmp_path / "missing.yaml")


DURATIONS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=99_999))


@given(DURATIONS)
def test_durations_round_trip_through_every_written_form(duration: timedelta):
    assert parse_duration(format_duration(duration)) == duration
    assert parse_duration(iso_duration(duration)) == duration


@given(st.integers(min_value=5, max_value=14 * 24 * 60))
def test_a_rule_written_with_any_whole_minute_frequency_loads_it(minutes: int):
    written = format_duration(timedelta(minutes=minutes))
    text = EXAMPLE.replace("queryFrequency: 1h", f"queryFrequency: {written}").replace(
        "queryPeriod: 1d", "queryPeriod: 14d"
    )
    assert load(text).query_frequency == timedelta(minutes=minutes)


CORPUS = SHARED / "kql" / "sentinel_rules.jsonl"
# corpus field -> rule YAML key
CORPUS_KEYS = {
    "id": "id", "name": "name", "rule_kind": "kind", "severity": "severity", "query_frequency": "queryFrequency",
    "query_period": "queryPeriod", "trigger_operator": "triggerOperator", "trigger_threshold": "triggerThreshold",
    "tactics": "tactics", "techniques": "relevantTechniques", "query": "query",
}  # fmt: skip


def corpus_yaml(record: dict[str, object]) -> str:
    """The rule file a corpus record stands for. The corpus keeps no description, so the name serves;
    its required_tables are the connectors' dataTypes."""
    rule = {key: record[field] for field, key in CORPUS_KEYS.items() if record.get(field) is not None}
    rule["description"] = record["name"]
    if record["rule_kind"] == "Scheduled":
        tables = record["required_tables"]
        rule["requiredDataConnectors"] = [{"connectorId": "Corpus", "dataTypes": tables}] if tables else []
    return yaml.dump(rule, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.exists(), reason=f"the shared Sentinel rule corpus is absent ({CORPUS})")
def test_the_real_sentinel_rule_corpus_loads():
    records = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    rules = [r for r in records if r.get("rule_kind") in ("Scheduled", "NRT")]
    loaded, refused = [], []
    for record in rules:
        try:
            loaded.append((record, load_sentinel(corpus_yaml(record), record["path"])))
        except RuleLoadError as exc:
            refused.append(str(exc))
    print(f"\nSentinel corpus: {len(loaded)} of {len(rules)} Scheduled/NRT rules load; refused:")
    print("\n".join(f"  {reason}" for reason in refused))
    assert len(loaded) >= 0.99 * len(rules), refused
    for record, rule in loaded:
        assert (rule.rule_id, rule.name, rule.kind.value) == (
            record["id"],
            record["name"],
            record["rule_kind"],
        )
        assert (rule.severity, rule.techniques) == (record["severity"], tuple(record["techniques"]))
        assert rule.trigger_threshold == (record["trigger_threshold"] or 0)
        assert {t.lower() for t in rule.tactics} == {t.lower() for t in record["tactics"]}
    by_kind = {kind: sum(r.kind.value == kind for _, r in loaded) for kind in ("Scheduled", "NRT")}
    assert by_kind["NRT"] == sum(r["rule_kind"] == "NRT" for r in rules)  # every NRT rule loads


def test_yaml_merge_keys_and_aliases_load_as_yaml_means_them():
    text = EXAMPLE.replace(
        "entityMappings:\n  - entityType: Account",
        "entityMappings:\n  - &account\n    entityType: Account",
    ).replace(
        "customDetails: {FailureCount: Failures}",
        "customDetails:\n  <<: {FailureCount: Ignored, Address: IPAddress}\n  FailureCount: Failures",
    )
    rule = load(text)
    assert rule.custom_details == (("FailureCount", "Failures"), ("Address", "IPAddress"))
    assert rule.entity_mappings[0] == EntityMapping("Account", (("FullName", "UserPrincipalName"),))
