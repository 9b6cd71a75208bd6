"""Rule runs as data: every run appends a ``SentinelHealth`` row to its workspace with Sentinel's
columns (a run that raised alerts: Success with its counts and window; a rule whose query fails:
Failure with the reason), in the same event-store write as the alerts' mirror rows; and the run
summaries the rules API shows (latest run, hits over a span, failing streak) come from the run
records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watchkeeper.audit import Actor
from watchkeeper.detections.library import find_rule
from watchkeeper.detections.run_summary import latest_runs, summarize_runs
from watchkeeper.directory import WorkspaceRead, create_tenant, create_workspace
from watchkeeper.flows import ingest_batch
from watchkeeper.flows.detections import import_rules, run_rules_over
from watchkeeper.flows.nrt import NearRealTime, attach_near_real_time
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

ACTOR = Actor("cli", "operator")
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
RULE = """\
id: {id}
name: {name}
kind: {kind}
description: Failed logons.
severity: High
requiredDataConnectors: []
{schedule}tactics: [CredentialAccess]
relevantTechniques: [T1110]
query: |
  SecurityEvent
  | where EventID == 4625
  {extra}
entityMappings:
  - entityType: Account
    fieldMappings: [{{identifier: Name, columnName: TargetUserName}}]
eventGroupingSettings: {{aggregationKind: AlertPerResult}}
incidentConfiguration: {{createIncident: false}}
"""
SCHEDULE = "queryFrequency: 1h\nqueryPeriod: 1h\ntriggerOperator: gt\ntriggerThreshold: 0\n"
GOOD = "6c1b2d3e-0000-4000-8000-00000000aaa1"
BROKEN = "6c1b2d3e-0000-4000-8000-00000000aaa2"
NRT = "6c1b2d3e-0000-4000-8000-00000000aaa3"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    made = Runtime(Settings(data_dir=tmp_path / "data", detection_tick=0))
    yield made
    made.close()


@pytest.fixture
def workspace(runtime: Runtime, tmp_path: Path) -> WorkspaceRead:
    with runtime.database.session() as session:
        tenant = create_tenant(session, name="contoso", actor=ACTOR)
        found = create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
    rules = tmp_path / "rules"
    rules.mkdir()
    for rule_id, name, kind, extra in [
        (GOOD, "Failed logons", "Scheduled", ""),
        (BROKEN, "Broken rule", "Scheduled", "| where NoSuchColumn > 1"),
        (NRT, "Failed logons now", "NRT", ""),
    ]:
        schedule = "" if kind == "NRT" else SCHEDULE
        (rules / f"{rule_id}.yaml").write_text(RULE.format(id=rule_id, name=name, kind=kind, extra=extra,
                                                           schedule=schedule))  # fmt: skip
    imported, saved = import_rules(runtime, ACTOR, found, "sentinel", rules)
    assert (len(saved.created), imported.skipped) == (3, [])
    return found


def failed_logons(runtime: Runtime, workspace: WorkspaceRead, at: datetime, *users: str) -> None:
    rows = [{"TimeGenerated": at + timedelta(minutes=i), "EventID": 4625, "TargetUserName": user, "Computer": "dc1"}
            for i, user in enumerate(users)]  # fmt: skip
    runtime.workspaces.get(workspace).ingest("SecurityEvent", rows)


def health(runtime: Runtime, workspace: WorkspaceRead) -> dict[str, list[dict[str, object]]]:
    """SentinelHealth rows by resource name, oldest first, ExtendedProperties read as JSON."""
    result = runtime.workspaces.get(workspace).query(
        "SentinelHealth | sort by TimeGenerated asc | project SentinelResourceName, OperationName, "
        "SentinelResourceType, SentinelResourceKind, Status, Reason, Description, ExtendedProperties, WorkspaceId"
    )
    found: dict[str, list[dict[str, object]]] = {}
    for row in result.rows:
        record = dict(zip([c[0] for c in result.columns], row, strict=True))
        props = record["ExtendedProperties"]
        record["ExtendedProperties"] = json.loads(props) if isinstance(props, str) else props
        found.setdefault(str(record["SentinelResourceName"]), []).append(record)
    return found


def test_each_run_writes_a_sentinel_health_row_with_its_status_counts_and_reason(
    runtime: Runtime, workspace: WorkspaceRead
) -> None:
    failed_logons(runtime, workspace, NOW - timedelta(minutes=30), "alice", "bob", "carol")
    outcomes = run_rules_over(runtime, ACTOR, workspace, NOW - timedelta(hours=1), NOW)
    assert sorted((o.rule.name, o.error is None, len(o.alerts)) for o in outcomes) == [
        ("Broken rule", False, 0), ("Failed logons", True, 3), ("Failed logons now", True, 3)]  # fmt: skip
    rows = health(runtime, workspace)
    (good,) = rows["Failed logons"]
    assert (good["Status"], good["OperationName"], good["SentinelResourceType"], good["Reason"]) == (
        "Success", "Scheduled analytics rule run", "Analytics Rule", "")  # fmt: skip
    props = good["ExtendedProperties"]
    assert isinstance(props, dict)
    assert (props["RuleId"], props["AlertsGeneratedAmount"], props["QueryResultAmount"]) == (GOOD, 3, 3)
    assert (props["QueryStartTimeUTC"], props["QueryEndTimeUTC"]) == (
        "2026-11-30T05:00:00Z",
        "2026-11-30T06:00:00Z",
    )
    (nrt,) = rows["Failed logons now"]
    assert (nrt["OperationName"], nrt["SentinelResourceKind"]) == ("NRT analytics rule run", "NRT")
    (broken,) = rows["Broken rule"]
    assert (broken["Status"], broken["Description"]) == ("Failure", "The rule's query failed to run")
    assert "NoSuchColumn" in str(broken["Reason"])
    broken_props = broken["ExtendedProperties"]
    assert isinstance(broken_props, dict)
    assert (broken_props["AlertsGeneratedAmount"], broken_props["QueryResultAmount"]) == (0, 0)
    assert {r["WorkspaceId"] for rs in rows.values() for r in rs} == {workspace.id}
    # a dashboard's rule-health tile is a KQL query over the rows
    tile = runtime.workspaces.get(workspace).query(
        "SentinelHealth | where SentinelResourceType == 'Analytics Rule' "
        "| summarize Failures = countif(Status == 'Failure'), Alerts = sum(toint(ExtendedProperties.AlertsGeneratedAmount))"
    )
    assert tile.rows == [(1, 6)]


def test_nrt_runs_on_a_committed_write_record_their_health_too(
    runtime: Runtime, workspace: WorkspaceRead
) -> None:
    attach_near_real_time(runtime)
    ws = runtime.workspaces.get(workspace)
    (nrt,) = [listener for listener in ws._listeners if isinstance(listener, NearRealTime)]
    batch = Parsed()
    batch.add(
        "SecurityEvent", {"TimeGenerated": NOW, "EventID": 4625, "TargetUserName": "dave", "Computer": "dc1"}
    )
    ingest_batch(runtime, ACTOR, workspace, batch, source="test", input_format="test")
    assert ws.flush(timeout=30)
    nrt.wait()
    (row,) = health(runtime, workspace)["Failed logons now"]
    props = row["ExtendedProperties"]
    assert isinstance(props, dict)
    assert (row["Status"], row["OperationName"], props["RunKind"], props["AlertsGeneratedAmount"]) == (
        "Success", "NRT analytics rule run", "nrt", 1)  # fmt: skip
    assert "Failed logons" not in health(runtime, workspace)  # scheduled rules do not run on writes


def test_run_summaries_give_the_latest_run_recent_hits_and_the_failing_streak(
    runtime: Runtime, workspace: WorkspaceRead
) -> None:
    failed_logons(runtime, workspace, NOW - timedelta(minutes=30), "alice", "bob")
    for _ in range(3):
        run_rules_over(runtime, ACTOR, workspace, NOW - timedelta(hours=1), NOW)
    with runtime.database.session() as session:
        refs = {ref: find_rule(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, ref=ref)
                for ref in (GOOD, BROKEN)}  # fmt: skip
        ids = {ref: rule.id for ref, rule in refs.items() if rule is not None}
        since = datetime.now(UTC) - timedelta(hours=1)
        summaries = summarize_runs(
            session, tenant_id=workspace.tenant_id, rule_refs=list(ids.values()), since=since
        )
        later = summarize_runs(session, tenant_id=workspace.tenant_id, rule_refs=list(ids.values()),
                               since=datetime.now(UTC) + timedelta(minutes=1))  # fmt: skip
        other = summarize_runs(session, tenant_id="another-tenant", rule_refs=list(ids.values()), since=since)
        newest = latest_runs(session, tenant_id=workspace.tenant_id, rule_ref=ids[GOOD], limit=2)
    good, broken = summaries[ids[GOOD]], summaries[ids[BROKEN]]
    assert (good.rows_since, good.runs_since, good.failing_streak) == (6, 3, 0)
    assert good.last is not None
    assert (good.last.error, good.last.rows) == (None, 2)
    assert (broken.runs_since, broken.failing_streak) == (3, 3)
    assert broken.last is not None
    assert "NoSuchColumn" in (broken.last.error or "")
    assert (later[ids[GOOD]].rows_since, later[ids[GOOD]].failing_streak) == (0, 0)
    assert all(s.last is None and s.runs_since == 0 for s in other.values())  # scoped to the tenant
    assert len(newest) == 2
    assert newest[0].started_at >= newest[1].started_at
    assert newest[0].id == good.last.id
