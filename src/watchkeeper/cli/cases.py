"""``wk alerts`` and ``wk incidents``: read and work the alerts rules raised and their incidents.

``wk alerts list --format json`` prints a JSON array whose items carry at least ``id``,
``ruleId``, ``ruleName``, ``severity``, ``tactics``, ``techniques``, ``entities`` and
``createdDateTime`` (scripts and benchmarks rely on it). Changes are audited and, like every
create, appended to the workspace's ``SecurityAlert``/``SecurityIncident`` tables.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from watchkeeper.cases import (
    AlertRead,
    IncidentRead,
    comment_incident,
    find_alert,
    find_incident,
    incident_timeline,
    list_alerts,
    list_incidents,
)
from watchkeeper.cli.console import fail
from watchkeeper.cli.detections import Target, open_target
from watchkeeper.cli.platform import Format, FormatOption, emit
from watchkeeper.cli.query import WorkspaceOption

__all__ = ["alerts", "incidents"]

alerts = typer.Typer(help="Alerts raised by the rules: list, show, update.", no_args_is_help=True)
incidents = typer.Typer(help="Incidents: list, show, update, comment, merge.", no_args_is_help=True)
IncidentArgument = Annotated[str, typer.Argument(help="The incident's number (or id).")]


def _alert_line(alert: AlertRead) -> dict[str, Any]:
    return {"id": alert.id, "created": alert.created_at.isoformat(timespec="seconds"), "severity": alert.severity,
            "status": alert.status, "rule": alert.rule_name, "title": alert.title,
            "entities": [next(iter(v for k, v in e.items() if k != "Type"), "") for e in alert.entities][:5]}  # fmt: skip


@alerts.command("list")
def alerts_list(
    status: Annotated[str | None, typer.Option(help="new, inProgress or resolved.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 1000,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The workspace's alerts, newest first."""
    with open_target(workspace) as target, target.runtime.database.session() as session:
        found = list_alerts(session, tenant_id=target.workspace.tenant_id, workspace_id=target.workspace.id,
                            status=status, limit=limit)  # fmt: skip
    if fmt is Format.json:
        emit([a.to_json() for a in found], fmt)
        return
    emit([_alert_line(a) for a in found], fmt, columns=["id", "created", "severity", "status", "rule", "title",
                                                        "entities"])  # fmt: skip


def _alert(target: Target, alert_id: str) -> AlertRead:
    with target.runtime.database.session() as session:
        found = find_alert(session, tenant_id=target.workspace.tenant_id, alert_id=alert_id)
    if found is None:
        raise fail(f"error: no alert {alert_id!r} (see `wk alerts list`)")
    return found


@alerts.command("show")
def alerts_show(
    alert_id: Annotated[str, typer.Argument(help="The alert's id.")], workspace: WorkspaceOption = None
) -> None:
    """One alert, whole (JSON)."""
    with open_target(workspace) as target:
        emit(_alert(target, alert_id).to_json(), Format.json)


@alerts.command("update")
def alerts_update(
    alert_id: Annotated[str, typer.Argument(help="The alert's id.")],
    status: Annotated[str | None, typer.Option(help="new, inProgress, resolved.")] = None,
    classification: Annotated[
        str | None, typer.Option(help="unknown, falsePositive, truePositive, informationalExpectedActivity.")
    ] = None,
    determination: Annotated[str | None, typer.Option(help="Graph's alertDetermination values.")] = None,
    assigned_to: Annotated[str | None, typer.Option("--assigned-to", help="Who works on it.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Change an alert's status, classification, determination or owner."""
    changes = {k: v for k, v in {"status": status, "classification": classification, "determination": determination,
                                 "assignedTo": assigned_to}.items() if v is not None}  # fmt: skip
    if not changes:
        raise fail("error: give at least one of --status, --classification, --determination, --assigned-to")
    from watchkeeper.flows.cases import change_alert

    with open_target(workspace) as target:
        _alert(target, alert_id)
        changed = change_alert(target.runtime, target.actor, target.workspace, alert_id, changes)
    assert changed is not None
    emit(changed.to_json(), Format.json)


# ---------------------------------------------------------------------------- incidents


def _incident(target: Target, ref: str) -> IncidentRead:
    with target.runtime.database.session() as session:
        found = find_incident(
            session, tenant_id=target.workspace.tenant_id, ref=ref, workspace_id=target.workspace.id
        )
    if found is None:
        raise fail(f"error: no incident {ref!r} (see `wk incidents list`)")
    return found


@incidents.command("list")
def incidents_list(
    status: Annotated[str | None, typer.Option(help="New, Active or Closed.")] = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The workspace's incidents, newest first (merged ones left out)."""
    with open_target(workspace) as target, target.runtime.database.session() as session:
        found = list_incidents(session, tenant_id=target.workspace.tenant_id, workspace_id=target.workspace.id,
                               status=status)  # fmt: skip
    if fmt is Format.json:
        emit([i.to_json() for i in found], fmt)
        return
    emit([{"number": i.number, "severity": i.severity, "status": i.status, "owner": i.owner or "",
           "alerts": len(i.alert_ids), "title": i.title} for i in found], fmt)  # fmt: skip


@incidents.command("show")
def incidents_show(incident: IncidentArgument, workspace: WorkspaceOption = None) -> None:
    """One incident with its timeline (JSON)."""
    with open_target(workspace) as target:
        found = _incident(target, incident)
        with target.runtime.database.session() as session:
            timeline = incident_timeline(session, tenant_id=found.tenant_id, ref=found.id)
    emit(found.to_json() | {"timeline": timeline}, Format.json)


@incidents.command("update")
def incidents_update(
    incident: IncidentArgument,
    status: Annotated[str | None, typer.Option(help="New, Active or Closed.")] = None,
    classification: Annotated[
        str | None,
        typer.Option(help="Undetermined, TruePositive, BenignPositive, FalsePositive (needed to close)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="The classification's reason, e.g. SuspiciousActivity.")
    ] = None,
    comment: Annotated[str | None, typer.Option("--classification-comment", help="Why.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who works on it.")] = None,
    severity: Annotated[str | None, typer.Option(help="Informational, Low, Medium, High.")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="A label (repeat for several).")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Change an incident's status (closing needs --classification and --reason), owner,
    severity or labels."""
    changes: dict[str, Any] = {k: v for k, v in {
        "status": status, "classification": classification, "classificationReason": reason,
        "classificationComment": comment, "owner": owner, "severity": severity, "labels": label,
    }.items() if v is not None}  # fmt: skip
    if not changes:
        raise fail("error: nothing to change (see `wk incidents update --help`)")
    from watchkeeper.flows.cases import change_incident

    with open_target(workspace) as target:
        found = _incident(target, incident)
        changed = change_incident(target.runtime, target.actor, target.workspace, found.id, changes)
    assert changed is not None
    emit(changed.to_json(), Format.json)


@incidents.command("comment")
def incidents_comment(
    incident: IncidentArgument,
    message: Annotated[str, typer.Argument(help="The comment.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Add a comment to an incident's timeline."""
    with open_target(workspace) as target:
        found = _incident(target, incident)
        with target.runtime.database.session() as session:
            comment_incident(
                session, tenant_id=found.tenant_id, ref=found.id, message=message, actor=target.actor
            )
    typer.echo(f"commented on incident {found.number}")


@incidents.command("merge")
def incidents_merge(
    source: Annotated[str, typer.Argument(help="The incident to merge (it is closed as merged).")],
    into: Annotated[str, typer.Argument(help="The incident that takes its alerts.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Merge one incident into another: its alerts move, it is closed as merged."""
    from watchkeeper.flows.cases import merge

    with open_target(workspace) as target:
        moving, keeping = _incident(target, source), _incident(target, into)
        merged = merge(target.runtime, target.actor, target.workspace, moving.id, keeping.id)
    assert merged is not None
    typer.echo(f"merged incident {moving.number} into {keeping.number} ({len(merged.alert_ids)} alerts)")
