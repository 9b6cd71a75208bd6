"""Detections end to end on a real runtime (state database, DuckDB workspace): import Sentinel rule
files, run them over windows on a controllable clock and as a retro-hunt, raise alerts grouped into
incidents, mirror them into SecurityAlert/SecurityIncident, and survive a restart without running a
window twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watchkeeper.audit import Actor
from watchkeeper.cases import AlertRead, list_alerts, list_incidents
from watchkeeper.detections.library import find_rule, set_enabled
from watchkeeper.detections.runs import recent_runs, schedule_of, take_lease
from watchkeeper.detections.scheduler import CatchUp
from watchkeeper.directory import WorkspaceRead, create_tenant, create_workspace
from watchkeeper.flows.detections import LEASE, import_rules, run_due_rules, run_rules_over
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

ACTOR = Actor("cli", "operator")
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
RULE = """\
id: 6c1b2d3e-0000-4000-8000-000000000001
name: Failed logons for {user}
kind: Scheduled
description: Several failed logons for one account.
severity: Medium
requiredDataConnectors: []
queryFrequency: 1h
queryPeriod: 1h
triggerOperator: gt
triggerThreshold: 0
tactics: [CredentialAccess]
relevantTechniques: [T1110]
query: |
  SecurityEvent
  | where EventID == 4625
  | summarize Failures = count(), Hosts = make_set(Computer) by TargetUserName, IpAddress
  | where Failures >= 2
entityMappings:
  - entityType: Account
    fieldMappings: [{identifier: Name, columnName: TargetUserName}]
  - entityType: IP
    fieldMappings: [{identifier: Address, columnName: IpAddress}]
customDetails: {FailureCount: Failures}
eventGroupingSettings: {aggregationKind: AlertPerResult}
incidentConfiguration:
  createIncident: true
  groupingConfiguration: {enabled: true, reopenClosedIncident: false, lookbackDuration: PT5H,
                          matchingMethod: Selected, groupByEntities: [Account]}
version: 1.0.0
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    made = Runtime(Settings(data_dir=tmp_path / "data"))
    yield made
    made.close()


@pytest.fixture
def workspace(runtime: Runtime, tmp_path: Path) -> WorkspaceRead:
    with runtime.database.session() as session:
        tenant = create_tenant(session, name="contoso", actor=ACTOR)
        found = create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "failed.yaml").write_text(RULE.replace("{user}", "an account"))
    (rules / "broken.yaml").write_text(RULE.replace("severity: Medium", "severity: Severe"))
    imported, saved = import_rules(runtime, ACTOR, found, "sentinel", rules)
    assert len(saved.created) == 1
    ((name, reason),) = imported.skipped
    assert name.endswith("broken.yaml")
    assert "severity" in reason
    return found


def failed_logons(runtime: Runtime, workspace: WorkspaceRead, hour: datetime, *users: str) -> None:
    ws = runtime.workspaces.get(workspace)
    ws.ingest("SecurityEvent", [
        {"TimeGenerated": hour + timedelta(minutes=i), "EventID": 4625, "TargetUserName": user,
         "IpAddress": "10.0.0.5", "Computer": "dc1"}
        for user in users for i in range(3)
    ])  # fmt: skip


def test_a_retro_hunt_raises_alerts_grouped_into_incidents_and_mirrored(
    runtime: Runtime, workspace: WorkspaceRead
) -> None:
    failed_logons(runtime, workspace, NOW - timedelta(hours=3), "alice", "bob")
    failed_logons(runtime, workspace, NOW - timedelta(hours=1), "alice")
    (outcome,) = run_rules_over(runtime, ACTOR, workspace, NOW - timedelta(days=1), NOW)
    assert (outcome.rows, outcome.error) == (2, None)
    with runtime.database.session() as session:
        alerts = list_alerts(session, tenant_id=workspace.tenant_id)
        incidents = list_incidents(session, tenant_id=workspace.tenant_id)
    assert sorted(e["Name"] for a in alerts for e in a.entities if e["Type"] == "account") == ["alice", "bob"]
    assert {a.custom_details["FailureCount"][0] for a in alerts} == {6, 3}
    assert len(incidents) == 2  # grouped by account: one each
    # the alert's query over its window gives its rows again
    ws = runtime.workspaces.get(workspace)
    again = ws.query(alerts[0].query, time_range=(alerts[0].window_start, alerts[0].window_end))
    assert len(again.rows) == 2
    assert ws.query("SecurityAlert | summarize dcount(SystemAlertId)").rows == [(2,)]
    assert ws.query("SecurityIncident | summarize max(IncidentNumber)").rows == [(2,)]
    assert ws.query("SecurityAlert | where Entities has 'alice' | project Tactics").rows == [
        ("CredentialAccess",)
    ]


def test_scheduled_windows_run_once_each_across_a_restart(
    runtime: Runtime, workspace: WorkspaceRead, tmp_path: Path
) -> None:
    failed_logons(runtime, workspace, NOW - timedelta(minutes=50), "alice")
    first = run_due_rules(runtime, node="a", now=NOW + timedelta(minutes=1))
    assert [(o.window.end, len(o.alerts)) for o in first] == [(NOW, 1)]
    assert run_due_rules(runtime, node="a", now=NOW + timedelta(minutes=30)) == []  # nothing new is due
    runtime.close()
    restarted = Runtime(Settings(data_dir=tmp_path / "data"))  # the process restarts 3 h later
    try:
        failed_logons(restarted, workspace, NOW + timedelta(hours=1, minutes=10), "carol")
        later = run_due_rules(restarted, node="a", now=NOW + timedelta(hours=3, minutes=5))
        assert [o.window.end for o in later] == [
            NOW + timedelta(hours=h) for h in (1, 2, 3)
        ]  # caught up, in order
        assert [len(o.alerts) for o in later] == [0, 1, 0]
        assert (
            run_due_rules(restarted, node="b", now=NOW + timedelta(hours=3, minutes=6)) == []
        )  # a holds the lease
        with restarted.database.session() as session:
            rule = find_rule(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id,
                             ref="6c1b2d3e-0000-4000-8000-000000000001")  # fmt: skip
            assert rule is not None
            runs = recent_runs(session, tenant_id=workspace.tenant_id, rule_ref=rule.id)
            assert sorted(r.window_end for r in runs) == [NOW + timedelta(hours=h) for h in range(4)]
    finally:
        restarted.close()


def test_a_dead_nodes_lease_runs_out_and_another_node_takes_the_rule_over(
    runtime: Runtime, workspace: WorkspaceRead
) -> None:
    failed_logons(runtime, workspace, NOW - timedelta(minutes=50), "alice")
    failed_logons(runtime, workspace, NOW + timedelta(minutes=20), "bob")
    assert [o.window.end for o in run_due_rules(runtime, node="a", now=NOW + timedelta(minutes=1))] == [NOW]
    with runtime.database.session() as session:
        rule = find_rule(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id,
                         ref="6c1b2d3e-0000-4000-8000-000000000001")  # fmt: skip
        assert rule is not None
        # node a renews its lease for the next window and dies before running it
        assert take_lease(session, rule.id, node="a", now=NOW + timedelta(hours=1, minutes=1), ttl=LEASE)
    assert run_due_rules(runtime, node="b", now=NOW + timedelta(hours=1, minutes=2)) == []  # still a's
    taken = run_due_rules(runtime, node="b", now=NOW + timedelta(hours=1, minutes=1) + LEASE)
    assert [(o.window.end, len(o.alerts)) for o in taken] == [(NOW + timedelta(hours=1), 1)]  # no gap
    # a comes back: the rule is b's now, and the window b ran is not run again
    assert run_due_rules(runtime, node="a", now=NOW + timedelta(hours=1, minutes=8)) == []
    with runtime.database.session() as session:
        runs = recent_runs(session, tenant_id=workspace.tenant_id, rule_ref=rule.id)
    assert sorted(r.window_end for r in runs) == [NOW, NOW + timedelta(hours=1)]


def test_a_failing_rule_backs_off_and_is_disabled_after_repeated_failures(
    runtime: Runtime, workspace: WorkspaceRead, tmp_path: Path
) -> None:
    broken = tmp_path / "broken-query.yaml"
    broken.write_text(RULE.replace("6c1b2d3e-0000-4000-8000-000000000001", "6c1b2d3e-0000-4000-8000-000000000002")
                      .replace("| where Failures >= 2", "| where NoSuchColumn > 1"))  # fmt: skip
    import_rules(runtime, ACTOR, workspace, "sentinel", broken)
    with runtime.database.session() as session:
        set_enabled(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id,
                    ref="6c1b2d3e-0000-4000-8000-000000000001", enabled=False, actor=ACTOR)  # fmt: skip
        rule = find_rule(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id,
                         ref="6c1b2d3e-0000-4000-8000-000000000002")  # fmt: skip
    assert rule is not None
    moment, outcomes = NOW, []
    for _ in range(40):  # ticks every 10 minutes; retries wait 1, 2, 4, 8 minutes...
        outcomes += run_due_rules(runtime, node="a", now=moment, catch_up=CatchUp(per_tick=1))
        moment += timedelta(minutes=10)
    assert len(outcomes) == 5
    assert all(o.error is not None and "NoSuchColumn" in o.error for o in outcomes)
    with runtime.database.session() as session:
        schedule = schedule_of(session, rule.id)
        assert schedule.failures == 5
        assert schedule.last_window_end is None  # no window counted as done
        again = find_rule(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, ref=rule.id)
    assert again is not None
    assert not again.enabled


def test_the_server_runs_due_rules_on_its_own(tmp_path: Path) -> None:
    """`wk serve`'s scheduler (here with a tick of 0.1 s) runs a newly imported rule over its first
    window without anyone asking."""
    import asyncio

    from watchkeeper.api.app import create_app

    runtime = Runtime(Settings(data_dir=tmp_path / "data", detection_tick=0.1))
    try:
        with runtime.database.session() as session:
            tenant = create_tenant(session, name="contoso", actor=ACTOR)
            found = create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
        (tmp_path / "rule.yaml").write_text(RULE.replace("{user}", "an account").replace("queryFrequency: 1h",
                                                                                          "queryFrequency: 5m"))  # fmt: skip
        import_rules(runtime, ACTOR, found, "sentinel", tmp_path / "rule.yaml")
        failed_logons(runtime, found, datetime.now(UTC) - timedelta(minutes=40), "alice")
        app = create_app(runtime=runtime)

        async def serve_until_an_alert() -> list[AlertRead]:
            async with app.router.lifespan_context(app):  # the server's start-up and shut-down
                for _ in range(200):
                    await asyncio.sleep(0.1)
                    with runtime.database.session() as session:
                        if raised := list_alerts(session, tenant_id=found.tenant_id):
                            return raised
            return []

        alerts = asyncio.run(serve_until_an_alert())
        assert len(alerts) == 1
        assert alerts[0].entities[0]["Name"] == "alice"
    finally:
        runtime.close()


NRT_RULE = """\
id: 6c1b2d3e-0000-4000-8000-0000000000f1
name: Audit log cleared
kind: NRT
description: Someone cleared the Security log.
severity: High
requiredDataConnectors: []
tactics: [DefenseEvasion]
relevantTechniques: [T1070.001]
query: |
  SecurityEvent | where EventID == 1102 | project TimeGenerated, Computer, SubjectUserName
entityMappings:
  - entityType: Host
    fieldMappings: [{identifier: HostName, columnName: Computer}]
version: 1.0.0
"""


def test_nrt_rules_run_on_each_committed_write_and_see_late_events(
    runtime: Runtime, workspace: WorkspaceRead, tmp_path: Path
) -> None:
    from watchkeeper.flows import ingest_batch
    from watchkeeper.flows.nrt import NearRealTime, attach_near_real_time
    from watchkeeper.ingest.parsers.base import Parsed

    (tmp_path / "nrt.yaml").write_text(NRT_RULE)
    import_rules(runtime, ACTOR, workspace, "sentinel", tmp_path / "nrt.yaml")
    attach_near_real_time(runtime)
    ws = runtime.workspaces.get(workspace)
    (nrt,) = [listener for listener in ws._listeners if isinstance(listener, NearRealTime)]
    for when, computer in [(NOW - timedelta(days=3), "dc1"), (NOW, "dc2")]:  # one event three days late
        batch = Parsed()
        batch.add("SecurityEvent", {"TimeGenerated": when, "EventID": 1102, "Computer": computer,
                                    "SubjectUserName": "mallory"})  # fmt: skip
        batch.add("SecurityEvent", {"TimeGenerated": when, "EventID": 4624, "Computer": "quiet"})
        ingest_batch(runtime, ACTOR, workspace, batch, source="test", input_format="test")
        assert ws.flush(timeout=30)
        nrt.wait()
    with runtime.database.session() as session:
        alerts = sorted(list_alerts(session, tenant_id=workspace.tenant_id), key=lambda a: a.window_start)
    assert [a.entities for a in alerts] == [
        [{"HostName": "dc1", "Type": "host"}],
        [{"HostName": "dc2", "Type": "host"}],
    ]
    assert [o.rows for o in nrt.outcomes] == [1, 1]
    assert alerts[0].window_start == NOW - timedelta(days=3)
