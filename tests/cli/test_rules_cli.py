"""``wk rules``, ``wk alerts`` and ``wk incidents`` on an embedded workspace folder: import a
Sentinel rule, retro-hunt, read the alerts in the pinned JSON form, work the incidents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Wk

RULE = """\
id: 7d2c3b4a-0000-4000-8000-0000000000aa
name: Repeated failed logons
kind: Scheduled
description: An account failed to log on several times.
severity: High
requiredDataConnectors: []
queryFrequency: 1h
queryPeriod: 1d
triggerOperator: gt
triggerThreshold: 0
tactics: [CredentialAccess]
relevantTechniques: [T1110.001]
query: |
  SecurityEvent | where EventID == 4625 | summarize Failures = count() by TargetUserName, Computer | where Failures >= 3
entityMappings:
  - entityType: Account
    fieldMappings: [{identifier: Name, columnName: TargetUserName}]
  - entityType: Host
    fieldMappings: [{identifier: HostName, columnName: Computer}]
eventGroupingSettings: {aggregationKind: AlertPerResult}
version: 1.0.0
"""


@pytest.fixture
def hunted(wk: Wk, scratch: Path) -> Path:
    """A workspace folder with failed logons for two accounts, the rule imported, and a retro-hunt run."""
    events = scratch / "events.ndjson"
    lines = [json.dumps({"TimeGenerated": f"2026-11-29T10:0{i}:00Z", "EventID": 4625, "TargetUserName": user,
                         "Computer": "dc1"}) for user in ("alice", "bob") for i in range(4)]  # fmt: skip
    events.write_text("\n".join(lines) + "\n")
    folder = scratch / "ws"
    assert wk("ingest", str(events), "--table", "SecurityEvent", "--workspace", str(folder)).exit_code == 0
    (scratch / "rule.yaml").write_text(RULE)
    imported = wk(
        "rules", "import", "sentinel", str(scratch / "rule.yaml"), "--workspace", str(folder), "-f", "json"
    )
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout) == {"imported": 1, "created": 1, "updated": 0, "skipped": []}
    ran = wk("rules", "run", "--from", "2026-11-29T00:00:00Z", "--to", "2026-11-30T00:00:00Z", "--workspace",
             str(folder), "-f", "json")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert [(r["rows"], r["alerts"], r["error"]) for r in json.loads(ran.stdout)] == [(2, 2, "")]
    return folder


def test_alerts_list_prints_the_pinned_json_form(wk: Wk, hunted: Path) -> None:
    listed = wk("alerts", "list", "--workspace", str(hunted), "--format", "json")
    assert listed.exit_code == 0, listed.output
    alerts = json.loads(listed.stdout)
    assert len(alerts) == 2
    for alert in alerts:
        assert {
            "id",
            "ruleId",
            "ruleName",
            "severity",
            "tactics",
            "techniques",
            "entities",
            "createdDateTime",
        } <= set(alert)
        assert (alert["ruleId"], alert["ruleName"], alert["severity"]) == (
            "7d2c3b4a-0000-4000-8000-0000000000aa", "Repeated failed logons", "high")  # fmt: skip
        assert (alert["tactics"], alert["techniques"]) == (["CredentialAccess"], ["T1110.001"])
    names = sorted(e["Name"] for a in alerts for e in a["entities"] if e["Type"] == "account")
    assert names == ["alice", "bob"]
    updated = wk("alerts", "update", alerts[0]["id"], "--status", "inProgress", "--assigned-to", "ana",
                 "--workspace", str(hunted))  # fmt: skip
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["status"] == "inProgress"
    bad = wk("alerts", "update", alerts[0]["id"], "--status", "done", "--workspace", str(hunted))
    assert bad.exit_code == 1
    assert "status must be one of new, inProgress, resolved" in bad.stderr


def test_incidents_are_worked_from_the_command_line(wk: Wk, hunted: Path) -> None:
    listed = json.loads(wk("incidents", "list", "--workspace", str(hunted), "-f", "json").stdout)
    assert sorted(i["incidentNumber"] for i in listed) == [1, 2]
    refused = wk("incidents", "update", "1", "--status", "Closed", "--workspace", str(hunted))
    assert refused.exit_code == 1
    assert "needs a classification" in refused.stderr
    assert wk("incidents", "comment", "1", "checked with the user", "--workspace", str(hunted)).exit_code == 0
    closed = wk("incidents", "update", "1", "--status", "Closed", "--classification", "BenignPositive",
                "--reason", "SuspiciousButExpected", "--owner", "ana", "--workspace", str(hunted))  # fmt: skip
    assert closed.exit_code == 0, closed.output
    assert (json.loads(closed.stdout)["status"], json.loads(closed.stdout)["owner"]) == ("Closed", "ana")
    merged = wk("incidents", "merge", "2", "1", "--workspace", str(hunted))
    assert merged.exit_code == 0, merged.output
    shown = json.loads(wk("incidents", "show", "1", "--workspace", str(hunted)).stdout)
    assert shown["alertsCount"] == 2
    assert [e["kind"] for e in shown["timeline"]] == [
        "created",
        "alert",
        "comment",
        "owner",
        "status",
        "alert",
        "merged",
    ]
    # every change is a row of the SecurityIncident table, so KQL sees the latest state
    latest = wk("query", "SecurityIncident | summarize arg_max(TimeGenerated, Status, Owner) by IncidentNumber"
                " | order by IncidentNumber asc | project IncidentNumber, Status", "--workspace", str(hunted),
                "--format", "json")  # fmt: skip
    assert latest.exit_code == 0, latest.output
    assert json.loads(latest.stdout)["rows"] == [[1, "Closed"], [2, "Closed"]]


def test_rules_are_listed_shown_and_switched_off(wk: Wk, hunted: Path) -> None:
    (rule,) = json.loads(wk("rules", "list", "--workspace", str(hunted), "-f", "json").stdout)
    assert (rule["id"], rule["enabled"], rule["kind"]) == (
        "7d2c3b4a-0000-4000-8000-0000000000aa",
        True,
        "Scheduled",
    )
    shown = json.loads(wk("rules", "show", rule["id"], "--workspace", str(hunted), "-f", "json").stdout)
    assert shown["query"].startswith("SecurityEvent")
    (run,) = shown["health"]["recentRuns"]  # the retro-hunt
    assert (run["kind"], run["rows"], run["alerts"], run["error"]) == ("retro", 2, 2, None)
    assert wk("rules", "disable", rule["id"], "--workspace", str(hunted)).exit_code == 0
    ran = wk("rules", "run", "--from", "2026-11-29T00:00:00Z", "--to", "2026-11-30T00:00:00Z", "--workspace",
             str(hunted), "-f", "json")  # fmt: skip
    assert json.loads(ran.stdout) == []  # no enabled rule
    missing = wk("rules", "show", "no-such-rule", "--workspace", str(hunted))
    assert missing.exit_code == 1
    assert "no rule 'no-such-rule'" in missing.stderr
    bad = wk("rules", "run", "--from", "yesterday", "--to", "2026-11-30", "--workspace", str(hunted))
    assert bad.exit_code == 1
    assert "--from must be an ISO 8601 time" in bad.stderr


def _rows(user: str, count: int) -> str:
    rows = [f'        - {{TimeGenerated: "2026-11-29T10:0{i}:00Z", EventID: 4625, TargetUserName: {user}, Computer: dc1}}'
            for i in range(count)]  # fmt: skip
    return "\n".join(["      SecurityEvent:", *rows])


def test_rules_test_runs_each_files_tests_and_fails_on_a_wrong_expectation(wk: Wk, scratch: Path) -> None:
    tests = "\n".join([
        "tests:",
        "  - name: three failures fire", "    events:", _rows("alice", 3),
        "    expect: {alerts: 1, entities: [{type: Account, identifier: Name, value: alice}]}",
        "  - name: two failures stay quiet", "    events:", _rows("bob", 2), "    expect: {alerts: 0}",
        "  - name: a wrong expectation", "    events:", _rows("carol", 3),
        "    expect: {entities: [{type: Account, identifier: Name, value: dave}]}",
    ])  # fmt: skip
    (scratch / "rules").mkdir()
    (scratch / "rules" / "failed.yaml").write_text(RULE + tests + "\n")
    result = wk("rules", "test", str(scratch / "rules"), "--format", "json")
    assert result.exit_code == 1, result.output
    outcomes = {r["test"]: (r["passed"], r["alerts"], r["problem"]) for r in json.loads(result.stdout)}
    assert outcomes["three failures fire"] == (True, 1, "")
    assert outcomes["two failures stay quiet"] == (True, 0, "")
    assert outcomes["a wrong expectation"][:2] == (False, 1)
    assert "Account entity with Name 'dave'" in outcomes["a wrong expectation"][2]
    (scratch / "rules" / "failed.yaml").write_text(RULE + tests.split("  - name: a wrong")[0])
    assert wk("rules", "test", str(scratch / "rules")).exit_code == 0


def test_coverage_lists_tactics_techniques_and_each_rules_data(wk: Wk, hunted: Path, scratch: Path) -> None:
    query = "SecurityEvent | where EventID == 4625 | summarize Failures = count() by TargetUserName, Computer"
    spray = "SigninLogs | where ResultType != '0' | summarize Failures = count() by TargetUserName = UserPrincipalName"
    other = (RULE.replace("0000000000aa", "0000000000bb").replace("Repeated failed logons", "Sign-in sprays")
             .replace(query, spray + ", Computer = IPAddress").replace("[CredentialAccess]", "[CredentialAccess, InitialAccess]"))  # fmt: skip
    assert spray in other
    (scratch / "other.yaml").write_text(other)
    assert (
        wk("rules", "import", "sentinel", str(scratch / "other.yaml"), "--workspace", str(hunted)).exit_code
        == 0
    )
    result = wk("coverage", "--workspace", str(hunted), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    tactics = {t["tactic"]: t for t in document["tactics"]}
    assert list(tactics) == ["InitialAccess", "CredentialAccess"]  # ATT&CK's order
    assert tactics["CredentialAccess"]["rules"] == 2
    assert tactics["CredentialAccess"]["techniques"] == [
        {
            "technique": "T1110.001",
            "rules": ["7d2c3b4a-0000-4000-8000-0000000000aa", "7d2c3b4a-0000-4000-8000-0000000000bb"],
        }
    ]
    rules = {r["name"]: r for r in document["rules"]}
    assert rules["Repeated failed logons"]["tablesWithData"] == ["SecurityEvent"]
    assert rules["Sign-in sprays"]["tablesWithoutData"] == ["SigninLogs"]
    assert rules["Sign-in sprays"]["tests"] == "none"
