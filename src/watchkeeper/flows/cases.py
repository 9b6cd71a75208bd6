"""Working alerts and incidents across the layers: each change is made in the state database and,
like every create, appended as a row to the workspace's ``SecurityAlert``/``SecurityIncident``
tables, so that KQL sees the latest state (the CLI and the API both come through here)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.audit import Actor
from watchkeeper.cases import (
    AlertRead,
    IncidentRead,
    comment_alert,
    comment_incident,
    find_incident,
    merge_incidents,
    update_alert,
    update_incident,
)
from watchkeeper.cases.mirror import alert_row, incident_row
from watchkeeper.directory import WorkspaceRead
from watchkeeper.notifications import enqueue_changes
from watchkeeper.runtime import Runtime
from watchkeeper.state import utc_now

__all__ = ["change_alert", "change_incident", "comment_on_alert", "comment_on_incident", "merge", "mirror"]

# what a provider that takes changes back (Graph's alerts_v2 PATCH) is sent
_PUSHED = frozenset({"status", "classification", "determination", "assignedTo"})


def mirror(
    runtime: Runtime, workspace: WorkspaceRead, *, actor: Actor, alerts: Sequence[AlertRead] = (),
    incidents: Sequence[IncidentRead] = (),
) -> None:  # fmt: skip
    """Append the alerts' and incidents' current state to ``SecurityAlert``/``SecurityIncident``."""
    now, ws = utc_now(), runtime.workspaces.get(workspace)
    modified_by = f"{actor.kind}:{actor.id}"
    with ws.store.write_unit(None):  # one event-store transaction for both tables
        if alerts:
            ws.ingest("SecurityAlert", [alert_row(a, now=now) for a in alerts])
        if incidents:
            ws.ingest(
                "SecurityIncident", [incident_row(i, now=now, modified_by=modified_by) for i in incidents]
            )


def _notify_updated(
    session: Session, workspace: WorkspaceRead, *, alerts: Sequence[AlertRead] = (),
    incidents: Sequence[IncidentRead] = (),
) -> None:  # fmt: skip
    """Change notifications for subscribers, written in the change's own transaction (no network here)."""
    enqueue_changes(
        session, tenant_id=workspace.tenant_id, change_type="updated", alerts=alerts, incidents=incidents
    )


def _alert_change(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, change: Callable[[Session], AlertRead | None]
) -> AlertRead | None:
    """Make ``change`` to an alert, queue its notification in the same transaction, then mirror it."""
    with runtime.database.session() as session:
        changed = change(session)
        _notify_updated(session, workspace, alerts=[changed] if changed else [])
    if changed is not None:
        mirror(runtime, workspace, alerts=[changed], actor=actor)
    return changed


def _incident_change(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, change: Callable[[Session], IncidentRead | None]
) -> IncidentRead | None:
    """Make ``change`` to an incident, queue its notification in the same transaction, then mirror it."""
    with runtime.database.session() as session:
        changed = change(session)
        _notify_updated(session, workspace, incidents=[changed] if changed else [])
    if changed is not None:
        mirror(runtime, workspace, incidents=[changed], actor=actor)
    return changed


def change_alert(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, alert_id: str, changes: Mapping[str, str | None]
) -> AlertRead | None:
    """Update an alert of the workspace's tenant (None if it has no such alert), and mirror it."""
    changed = _alert_change(runtime, actor, workspace, lambda session: update_alert(
        session, tenant_id=workspace.tenant_id, alert_id=alert_id, changes=changes, actor=actor))  # fmt: skip
    if changed is not None:
        _push_back(runtime, actor, changed, changes)
    return changed


def _push_back(runtime: Runtime, actor: Actor, alert: AlertRead, changes: Mapping[str, str | None]) -> None:
    """An analyst's change to an alert another product raised goes back to that product when its
    provider takes changes (issue #6 part 4). A refusal is recorded on the alert by the providers
    flow and never undoes or fails the change made here."""
    if "providerAlertId" not in alert.properties or not _PUSHED.intersection(changes):
        return
    # flows.providers builds on this module (mirror): imported here, not at the top
    from watchkeeper.flows.providers import push_alert_change

    push_alert_change(runtime, actor, alert)


def change_incident(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, ref: str, changes: dict[str, Any]
) -> IncidentRead | None:
    """Update an incident of the workspace (id or number; None if none), and mirror it."""
    return _incident_change(runtime, actor, workspace, lambda session: update_incident(
        session, tenant_id=workspace.tenant_id, ref=ref, changes=changes, actor=actor,
        workspace_id=workspace.id))  # fmt: skip


def comment_on_alert(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, alert_id: str, comment: str
) -> AlertRead | None:
    """Comment on an alert of the workspace's tenant (None if it has no such alert), and mirror it."""
    return _alert_change(runtime, actor, workspace, lambda session: comment_alert(
        session, tenant_id=workspace.tenant_id, alert_id=alert_id, comment=comment, actor=actor))  # fmt: skip


def comment_on_incident(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, ref: str, comment: str
) -> IncidentRead | None:
    """Comment on an incident of the workspace (id or number; None if none), and mirror it."""
    return _incident_change(runtime, actor, workspace, lambda session: comment_incident(
        session, tenant_id=workspace.tenant_id, ref=ref, message=comment, actor=actor,
        workspace_id=workspace.id))  # fmt: skip


def merge(
    runtime: Runtime, actor: Actor, workspace: WorkspaceRead, source: str, target: str
) -> IncidentRead | None:
    """Merge incident ``source`` into ``target`` (ids or numbers), and mirror both."""
    with runtime.database.session() as session:
        merged = merge_incidents(session, tenant_id=workspace.tenant_id, source=source, target=target, actor=actor,
                                 workspace_id=workspace.id)  # fmt: skip
        closed = find_incident(session, tenant_id=workspace.tenant_id, ref=source, workspace_id=workspace.id)
        _notify_updated(session, workspace, incidents=[i for i in (merged, closed) if i is not None])
    if merged is not None and closed is not None:
        mirror(runtime, workspace, incidents=[merged, closed], actor=actor)
    return merged
