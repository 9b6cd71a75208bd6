"""Alerts: stored from the drafts a rule run made, placed in incidents as the rule configures,
read and updated. Every lookup is scoped to a tenant; every change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.cases.incidents import place_alert
from watchkeeper.cases.models import ALERT_CLASSIFICATIONS, ALERT_STATUSES, AlertComment, AlertRecord
from watchkeeper.detections.alerting import AlertDraft
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state import utc_now

__all__ = ["AlertRead", "comment_alert", "find_alert", "list_alerts", "raise_alerts", "update_alert"]

# Graph's alertDetermination values (the update documentation's two spellings accepted)
DETERMINATIONS = (
    "unknown", "apt", "malware", "securityPersonnel", "securityTesting", "unwantedSoftware", "other",
    "multiStagedAttack", "compromisedAccount", "phishing", "maliciousUserActivity", "notMalicious",
    "notEnoughDataToValidate", "confirmedActivity", "lineOfBusinessApplication",
)  # fmt: skip
_DETERMINATION_ALIASES = {
    "compromisedUser": "compromisedAccount",
    "confirmedUserActivity": "confirmedActivity",
}


class AlertRead(BaseModel):
    """An alert as callers see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    workspace_id: str
    rule_ref: str | None
    rule_id: str
    rule_name: str
    title: str
    description: str
    severity: str
    status: str
    classification: str
    determination: str
    assigned_to: str | None
    tactics: list[str]
    techniques: list[str]
    entities: list[dict[str, Any]]
    custom_details: dict[str, Any]
    properties: dict[str, Any]
    query: str
    window_start: datetime
    window_end: datetime
    first_activity: datetime | None
    last_activity: datetime | None
    rows: int
    incident_id: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """The alert in the Graph ``security.alert`` spelling (camelCase, ISO 8601 times), with the
        rule's ids and the query window that reproduces it."""
        return {
            "id": self.id, "ruleId": self.rule_id, "ruleName": self.rule_name, "title": self.title,
            "description": self.description, "severity": self.severity.lower(), "status": self.status,
            "classification": self.classification, "determination": self.determination,
            "assignedTo": self.assigned_to, "tactics": self.tactics, "techniques": self.techniques,
            "entities": self.entities, "customDetails": self.custom_details, "providerName": "watchkeeper",
            "detectionSource": "scheduledAlerts", "serviceSource": "watchkeeper", "incidentId": self.incident_id,
            "query": self.query, "queryStartDateTime": _iso(self.window_start),
            "queryEndDateTime": _iso(self.window_end), "firstActivityDateTime": _iso(self.first_activity),
            "lastActivityDateTime": _iso(self.last_activity), "createdDateTime": _iso(self.created_at),
            "lastUpdateDateTime": _iso(self.updated_at), "resolvedDateTime": _iso(self.resolved_at),
            "resultRows": self.rows, "workspaceId": self.workspace_id,
        }  # fmt: skip


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def raise_alerts(
    session: Session, *, tenant_id: str, workspace_id: str, rule_ref: str | None, drafts: list[AlertDraft],
    actor: Actor, now: datetime | None = None,
) -> list[AlertRead]:  # fmt: skip
    """Store ``drafts`` as alerts and place each in an incident as its rule says; audited."""
    now = now or utc_now()
    raised: list[AlertRead] = []
    for draft in drafts:
        alert = AlertRecord(
            tenant_id=tenant_id, workspace_id=workspace_id, rule_ref=rule_ref, rule_id=draft.rule.rule_id,
            rule_name=draft.rule.name, title=draft.title[:256], description=draft.description,
            severity=draft.severity, tactics=list(draft.tactics), techniques=list(draft.techniques),
            entities=list(draft.entities), custom_details=_jsonable(draft.custom_details),
            properties=_jsonable(draft.dynamic_properties), query=draft.rule.query,
            window_start=draft.window.start, window_end=draft.window.end, first_activity=draft.first_event,
            last_activity=draft.last_event, rows=draft.rows, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(alert)
        session.flush()
        if draft.rule.incident.create_incident:
            alert.incident_id = place_alert(session, alert, draft, actor=actor, now=now)
        record(session, actor=actor, action="alert.create", outcome="success", target=alert.id, tenant_id=tenant_id,
               detail={"ruleId": draft.rule.rule_id, "incident": alert.incident_id})  # fmt: skip
        raised.append(AlertRead.model_validate(alert))
    session.flush()
    return raised


def list_alerts(
    session: Session, *, tenant_id: str, workspace_id: str | None = None, status: str | None = None,
    incident_id: str | None = None, limit: int = 1000,
) -> list[AlertRead]:  # fmt: skip
    """The tenant's alerts, newest first."""
    query = select(AlertRecord).where(AlertRecord.tenant_id == tenant_id)
    if workspace_id is not None:
        query = query.where(AlertRecord.workspace_id == workspace_id)
    if status is not None:
        query = query.where(AlertRecord.status == status)
    if incident_id is not None:
        query = query.where(AlertRecord.incident_id == incident_id)
    ordered = query.order_by(AlertRecord.created_at.desc(), AlertRecord.id).limit(limit)
    return [AlertRead.model_validate(a) for a in session.scalars(ordered)]


def find_alert(session: Session, *, tenant_id: str, alert_id: str) -> AlertRead | None:
    found = _alert(session, tenant_id, alert_id)
    return AlertRead.model_validate(found) if found is not None else None


def update_alert(
    session: Session, *, tenant_id: str, alert_id: str, changes: Mapping[str, str | None], actor: Actor
) -> AlertRead | None:
    """Change ``status``, ``classification``, ``determination`` and/or ``assignedTo``; audited.
    None if the tenant has no such alert; InvalidRequestError naming a bad field or value."""
    found = _alert(session, tenant_id, alert_id)
    if found is None:
        return None
    for name, value in changes.items():
        _apply(found, name, value)
    found.updated_at = utc_now()
    if found.status == "resolved" and found.resolved_at is None:
        found.resolved_at = found.updated_at
    session.flush()
    record(session, actor=actor, action="alert.update", outcome="success", target=found.id, tenant_id=tenant_id,
           detail={"changes": dict(changes)})  # fmt: skip
    return AlertRead.model_validate(found)


def comment_alert(
    session: Session, *, tenant_id: str, alert_id: str, comment: str, actor: Actor
) -> AlertRead | None:
    """Add a comment to an alert (audited without its text); None if the tenant has no such alert."""
    found = _alert(session, tenant_id, alert_id)
    if found is None:
        return None
    if not comment.strip() or len(comment) > 30_000:
        raise InvalidRequestError("a comment needs 1 to 30,000 characters")
    found.updated_at = utc_now()
    session.add(AlertComment(alert_id=found.id, comment=comment, created_by=f"{actor.kind}:{actor.id}",
                             created_at=found.updated_at))  # fmt: skip
    session.flush()
    record(
        session, actor=actor, action="alert.comment", outcome="success", target=found.id, tenant_id=tenant_id
    )
    return AlertRead.model_validate(found)


def _apply(alert: AlertRecord, name: str, value: str | None) -> None:
    allowed = {
        "status": ALERT_STATUSES,
        "classification": ALERT_CLASSIFICATIONS,
        "determination": DETERMINATIONS,
    }
    if name == "assignedTo":
        alert.assigned_to = value or None
        return
    if name not in allowed:
        raise InvalidRequestError(f"alert property {name!r} cannot be updated (status, classification, "
                                  "determination, assignedTo can)")  # fmt: skip
    value = _DETERMINATION_ALIASES.get(value or "", value) if name == "determination" else value
    if value not in allowed[name]:
        raise InvalidRequestError(f"{name} must be one of {', '.join(allowed[name])}, not {value!r}")
    setattr(alert, name, value)


def _alert(session: Session, tenant_id: str, alert_id: str) -> AlertRecord | None:
    found = session.get(AlertRecord, alert_id)
    return found if found is not None and found.tenant_id == tenant_id else None


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    import json

    return dict(json.loads(json.dumps(values, default=str)))
