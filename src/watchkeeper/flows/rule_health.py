"""Rule runs as data: each run of an analytics rule appends a ``SentinelHealth`` row to its
workspace, as Microsoft Sentinel's health monitoring records "Scheduled analytics rule run" and
"NRT analytics rule run" operations, so a KQL query (a dashboard's rule-health tile, a hunting
query) sees which rules fail and why, with Sentinel's columns.

A batch of runs (a retro-hunt, the NRT rules of one write, one scheduled window) writes its health
rows in the same event-store transaction as the ``SecurityAlert``/``SecurityIncident`` rows of the
alerts and incidents it raised: one write a batch, not one a rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from watchkeeper.audit import Actor
from watchkeeper.cases import AlertRead, IncidentRead
from watchkeeper.cases.mirror import alert_row, incident_row
from watchkeeper.detections.models import RuleKind
from watchkeeper.directory import WorkspaceRead
from watchkeeper.runtime import Runtime
from watchkeeper.state import new_id, utc_now

if TYPE_CHECKING:  # flows.detections imports this module to write its runs
    from watchkeeper.flows.detections import Assessment, RuleRunOutcome

__all__ = ["HEALTH_TABLE", "health_row", "record_runs"]

HEALTH_TABLE = "SentinelHealth"
# SentinelHealth's OperationName for analytics rules (Sentinel docs, "Monitor the health of your
# analytics rules": "Scheduled analytics rule run" / "NRT analytics rule run")
_OPERATIONS = {RuleKind.NRT: "NRT analytics rule run"}
_SCHEDULED = "Scheduled analytics rule run"


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


def health_row(workspace: WorkspaceRead, done: Assessment, outcome: RuleRunOutcome) -> dict[str, Any]:
    """The ``SentinelHealth`` row of one run: Status ``Success`` or ``Failure`` (with the error as
    its Reason); ExtendedProperties carry the counts and the query window as Sentinel names them."""
    rule, kind = outcome.rule, outcome.rule.rule.kind
    failed = outcome.error is not None
    details = {"RuleId": rule.rule_id, "RuleLibraryId": rule.id, "RunKind": done.kind,
               "AlertsGeneratedAmount": len(outcome.alerts), "QueryResultAmount": outcome.rows,
               "QueryStartTimeUTC": _iso(outcome.window.start), "QueryEndTimeUTC": _iso(outcome.window.end),
               "QueryFrequency": _seconds(rule.rule.query_frequency), "QueryPeriod": _seconds(rule.rule.query_period),
               "TriggerOperator": rule.rule.trigger_operator, "TriggerThreshold": rule.rule.trigger_threshold,
               "AlertsSuppressed": outcome.suppressed, "DurationSeconds": round(done.seconds, 3)}  # fmt: skip
    return {
        "TimeGenerated": done.started + timedelta(seconds=done.seconds), "RecordId": new_id(),
        "OperationName": _OPERATIONS.get(kind, _SCHEDULED), "SentinelResourceType": "Analytics Rule",
        "SentinelResourceKind": "NRT" if kind is RuleKind.NRT else "Scheduled",
        "SentinelResourceId": f"/workspaces/{workspace.id}/alertRules/{rule.id}", "SentinelResourceName": rule.name,
        "Status": "Failure" if failed else "Success",
        "Description": "The rule's query failed to run" if failed else "The rule ran successfully",
        "Reason": outcome.error or "", "ExtendedProperties": json.dumps(details),
        "WorkspaceId": workspace.id, "TenantId": workspace.id,  # TenantId: the Log Analytics workspace's id
    }  # fmt: skip


def record_runs(
    runtime: Runtime, workspace: WorkspaceRead, *, actor: Actor, runs: Sequence[tuple[Assessment, RuleRunOutcome]],
    alerts: Sequence[AlertRead] = (), incidents: Sequence[IncidentRead] = (),
) -> None:  # fmt: skip
    """Append the runs' ``SentinelHealth`` rows and the raised alerts' and incidents'
    ``SecurityAlert``/``SecurityIncident`` rows in one event-store transaction."""
    if not (runs or alerts or incidents):
        return
    now, ws = utc_now(), runtime.workspaces.get(workspace)
    with ws.store.write_unit(None):
        if alerts:
            ws.ingest("SecurityAlert", [alert_row(a, now=now) for a in alerts])
        if incidents:
            modified_by = f"{actor.kind}:{actor.id}"
            ws.ingest(
                "SecurityIncident", [incident_row(i, now=now, modified_by=modified_by) for i in incidents]
            )
        if runs:
            ws.ingest(HEALTH_TABLE, [health_row(workspace, done, outcome) for done, outcome in runs])
