"""Incidents: created and grouped as rules configure, then worked by analysts: status (closing
needs a classification and its reason), owner, severity, labels, comments, tasks, merges; every
change a timeline entry (who, when) and an audit record. Scoped to a tenant throughout."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.cases.grouping import grouping_key
from watchkeeper.cases.models import (
    INCIDENT_CLASSIFICATIONS,
    INCIDENT_STATUSES,
    AlertRecord,
    IncidentEvent,
    IncidentRecord,
    IncidentTask,
)
from watchkeeper.detections.alerting import AlertDraft, entity_key
from watchkeeper.detections.models import SEVERITIES
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state import utc_now

__all__ = [
    "IncidentRead",
    "add_task",
    "comment_incident",
    "find_incident",
    "incident_timeline",
    "list_incidents",
    "merge_incidents",
    "place_alert",
    "read_incidents",
    "update_incident",
]


class IncidentRead(BaseModel):
    """An incident as callers see it, with what its alerts add up to."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    workspace_id: str
    number: int
    title: str
    description: str
    severity: str
    status: str
    classification: str | None
    classification_reason: str | None
    classification_comment: str | None
    determination: str | None = None
    owner: str | None
    labels: list[str]
    rule_ref: str | None
    merged_into: str | None
    first_activity: datetime | None
    last_activity: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    alert_ids: list[str] = []
    entities: list[dict[str, Any]] = []
    tactics: list[str] = []
    techniques: list[str] = []

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "incidentNumber": self.number, "title": self.title, "description": self.description,
            "severity": self.severity, "status": self.status, "classification": self.classification,
            "classificationReason": self.classification_reason, "classificationComment": self.classification_comment,
            "owner": self.owner, "labels": self.labels, "mergedInto": self.merged_into, "alertIds": self.alert_ids,
            "alertsCount": len(self.alert_ids), "entities": self.entities, "tactics": self.tactics,
            "techniques": self.techniques, "firstActivityTimeUtc": _iso(self.first_activity),
            "lastActivityTimeUtc": _iso(self.last_activity), "createdTimeUtc": _iso(self.created_at),
            "lastModifiedTimeUtc": _iso(self.updated_at), "closedTimeUtc": _iso(self.closed_at),
            "workspaceId": self.workspace_id,
        }  # fmt: skip


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


_RANK = {s: i for i, s in enumerate(SEVERITIES)}


# ---------------------------------------------------------------------------- placing alerts


def place_alert(
    session: Session, alert: AlertRecord, draft: AlertDraft, *, actor: Actor, now: datetime
) -> str:
    """The incident ``alert`` joins: the rule's most recent matching incident within the lookback
    when grouping is on (a closed one is reopened only if the rule says so), else a new one."""
    grouping = draft.rule.incident.grouping
    key = grouping_key(grouping, draft) if grouping.enabled else None
    incident = _grouping_target(session, alert, key, draft, now) if key is not None else None
    if incident is None:
        incident = _new_incident(session, alert, key, actor, now)
    elif incident.status == "Closed":
        incident.status, incident.closed_at = "Active", None
        _event(session, incident, "reopened", actor, {"alert": alert.id}, now)
    _join(session, incident, alert, actor, now)
    return incident.id


def _grouping_target(
    session: Session, alert: AlertRecord, key: str, draft: AlertDraft, now: datetime
) -> IncidentRecord | None:
    grouping = draft.rule.incident.grouping
    query = select(IncidentRecord).where(
        IncidentRecord.workspace_id == alert.workspace_id, IncidentRecord.rule_ref == alert.rule_ref,
        IncidentRecord.grouping_key == key, IncidentRecord.created_at >= now - grouping.lookback,
        IncidentRecord.merged_into.is_(None),
    )  # fmt: skip
    if not grouping.reopen_closed_incident:
        query = query.where(IncidentRecord.status != "Closed")
    return session.scalar(query.order_by(IncidentRecord.created_at.desc()).limit(1))


def _new_incident(
    session: Session, alert: AlertRecord, key: str | None, actor: Actor, now: datetime
) -> IncidentRecord:
    for _ in range(5):  # the number is sequential per workspace: another writer may take it first
        number = (session.scalar(select(func.max(IncidentRecord.number)).where(
            IncidentRecord.workspace_id == alert.workspace_id)) or 0) + 1  # fmt: skip
        incident = IncidentRecord(tenant_id=alert.tenant_id, workspace_id=alert.workspace_id, number=number,
                                  title=alert.title, description=alert.description, severity=alert.severity,
                                  rule_ref=alert.rule_ref, grouping_key=key, created_at=now, updated_at=now)  # fmt: skip
        try:
            with session.begin_nested():
                session.add(incident)
        except IntegrityError:
            continue
        _event(session, incident, "created", actor, {"rule": alert.rule_id}, now)
        record(session, actor=actor, action="incident.create", outcome="success", target=incident.id,
               tenant_id=alert.tenant_id, detail={"number": number})  # fmt: skip
        return incident
    raise InvalidRequestError("could not number a new incident: too many created at once; try again")


def _join(
    session: Session, incident: IncidentRecord, alert: AlertRecord, actor: Actor, now: datetime
) -> None:
    alert.incident_id = incident.id
    if _RANK.get(alert.severity, 0) > _RANK.get(incident.severity, 0):
        incident.severity = alert.severity
    firsts = [t for t in (incident.first_activity, alert.first_activity) if t is not None]
    lasts = [t for t in (incident.last_activity, alert.last_activity) if t is not None]
    incident.first_activity, incident.last_activity = min(firsts, default=None), max(lasts, default=None)
    incident.updated_at = now
    _event(session, incident, "alert", actor, {"alert": alert.id, "title": alert.title}, now)


def _event(session: Session, incident: IncidentRecord, kind: str, actor: Actor, detail: dict[str, Any],
           now: datetime | None = None) -> None:  # fmt: skip
    """Append to the incident's timeline. Its last sequence number is read once per transaction
    and then counted on (a rule run adds two events to each incident it creates)."""
    if incident.id is None:
        session.flush()
    numbered: dict[str, int] = session.info.setdefault(_TIMELINE_SEQ, {})
    seq = numbered.get(incident.id)
    if seq is None:
        session.flush()
        seq = (
            session.scalar(
                select(func.count())
                .select_from(IncidentEvent)
                .where(IncidentEvent.incident_id == incident.id)
            )
            or 0
        )
    numbered[incident.id] = seq + 1
    session.add(IncidentEvent(incident_id=incident.id, seq=seq + 1, kind=kind, actor=f"{actor.kind}:{actor.id}",
                              detail=detail, at=now or utc_now()))  # fmt: skip


# session.info key: the last timeline sequence number of each incident the transaction added to
_TIMELINE_SEQ = "wk_incident_timeline_seq"


# ---------------------------------------------------------------------------- reading


def list_incidents(
    session: Session,
    *,
    tenant_id: str,
    workspace_id: str | None = None,
    status: str | None = None,
    limit: int = 1000,
) -> list[IncidentRead]:
    """The tenant's incidents (merged ones left out), newest first."""
    query = select(IncidentRecord).where(
        IncidentRecord.tenant_id == tenant_id, IncidentRecord.merged_into.is_(None)
    )
    if workspace_id is not None:
        query = query.where(IncidentRecord.workspace_id == workspace_id)
    if status is not None:
        query = query.where(IncidentRecord.status == status)
    ordered = query.order_by(IncidentRecord.created_at.desc(), IncidentRecord.number.desc()).limit(limit)
    return [_read(session, i) for i in session.scalars(ordered)]


def find_incident(
    session: Session, *, tenant_id: str, ref: str, workspace_id: str | None = None
) -> IncidentRead | None:
    """The tenant's incident whose id, or number (in ``workspace_id``), is ``ref``."""
    found = _incident(session, tenant_id, ref, workspace_id)
    return _read(session, found) if found is not None else None


def read_incidents(session: Session, *, tenant_id: str, ids: Collection[str]) -> list[IncidentRead]:
    """The tenant's incidents with these ids, in id order, read with two queries however many
    (what a run that placed many alerts reports and mirrors)."""
    records = list(session.scalars(select(IncidentRecord).where(
        IncidentRecord.tenant_id == tenant_id, IncidentRecord.id.in_(sorted(ids))).order_by(IncidentRecord.id)))  # fmt: skip
    alerts: dict[str, list[AlertRecord]] = {r.id: [] for r in records}
    found = (
        select(AlertRecord).where(AlertRecord.incident_id.in_(list(alerts))).order_by(AlertRecord.created_at)
    )
    for alert in session.scalars(found):
        alerts[str(alert.incident_id)].append(alert)
    return [_summarised(record, alerts[record.id]) for record in records]


def incident_timeline(
    session: Session, *, tenant_id: str, ref: str, workspace_id: str | None = None
) -> list[dict[str, Any]]:
    found = _incident(session, tenant_id, ref, workspace_id)
    if found is None:
        return []
    events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == found.id)
                             .order_by(IncidentEvent.seq))  # fmt: skip
    return [{"kind": e.kind, "actor": e.actor, "at": _iso(e.at), **e.detail} for e in events]


def _read(session: Session, incident: IncidentRecord) -> IncidentRead:
    alerts = list(session.scalars(select(AlertRecord).where(AlertRecord.incident_id == incident.id)
                                  .order_by(AlertRecord.created_at)))  # fmt: skip
    return _summarised(incident, alerts)


def _summarised(incident: IncidentRecord, alerts: list[AlertRecord]) -> IncidentRead:
    entities: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for alert in alerts:
        for entity in alert.entities:
            entities.setdefault(entity_key(entity), entity)
    read = IncidentRead.model_validate(incident)
    read.alert_ids = [a.id for a in alerts]
    read.entities = list(entities.values())
    read.tactics = sorted({t for a in alerts for t in a.tactics})
    read.techniques = sorted({t for a in alerts for t in a.techniques})
    return read


def _incident(session: Session, tenant_id: str, ref: str, workspace_id: str | None) -> IncidentRecord | None:
    if ref.isdigit():
        query = select(IncidentRecord).where(
            IncidentRecord.tenant_id == tenant_id, IncidentRecord.number == int(ref)
        )
        if workspace_id is not None:
            query = query.where(IncidentRecord.workspace_id == workspace_id)
        return session.scalar(query.limit(1))
    found = session.get(IncidentRecord, ref)
    return found if found is not None and found.tenant_id == tenant_id else None


# ---------------------------------------------------------------------------- working incidents


def update_incident(
    session: Session, *, tenant_id: str, ref: str, changes: dict[str, Any], actor: Actor,
    workspace_id: str | None = None,
) -> IncidentRead | None:  # fmt: skip
    """Change ``status``, ``classification``/``classificationReason``/``classificationComment``,
    ``determination``, ``owner``, ``severity``, ``labels`` or ``title``: one timeline entry per change, audited.
    Closing needs a classification and, except ``Undetermined``, a reason that goes with it."""
    found = _incident(session, tenant_id, ref, workspace_id)
    if found is None:
        return None
    now = utc_now()
    _classify(found, changes)
    for name, column in (
        ("owner", "owner"),
        ("severity", "severity"),
        ("labels", "labels"),
        ("title", "title"),
    ):
        if name in changes and changes[name] != getattr(found, column):
            _check(name, changes[name])
            _event(session, found, name, actor, {"from": getattr(found, column), "to": changes[name]}, now)
            setattr(found, column, changes[name])
    if "status" in changes and changes["status"] != found.status:
        _set_status(session, found, changes["status"], actor, now)
    found.updated_at = now
    session.flush()
    record(session, actor=actor, action="incident.update", outcome="success", target=found.id, tenant_id=tenant_id,
           detail={"changes": {k: v for k, v in changes.items() if k != "classificationComment"}})  # fmt: skip
    return _read(session, found)


def _check(name: str, value: Any) -> None:
    if name == "severity" and value not in SEVERITIES:
        raise InvalidRequestError(f"severity must be one of {', '.join(SEVERITIES)}, not {value!r}")
    if name == "labels" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise InvalidRequestError("labels must be a list of strings")


def _classify(incident: IncidentRecord, changes: dict[str, Any]) -> None:
    classification = changes.get("classification", incident.classification)
    reason = changes.get("classificationReason", incident.classification_reason)
    if "classification" in changes or "classificationReason" in changes:
        if classification not in INCIDENT_CLASSIFICATIONS:
            raise InvalidRequestError(f"classification must be one of {', '.join(INCIDENT_CLASSIFICATIONS)}, "
                                      f"not {classification!r}")  # fmt: skip
        reasons = INCIDENT_CLASSIFICATIONS[classification]
        if reasons and reason not in reasons:
            raise InvalidRequestError(f"a {classification} incident's classificationReason must be one of "
                                      f"{', '.join(reasons)}, not {reason!r}")  # fmt: skip
    if changes.get("status") == "Closed" and classification is None:
        raise InvalidRequestError("closing an incident needs a classification (and its classificationReason)")
    incident.classification, incident.classification_reason = classification, reason
    if "classificationComment" in changes:
        incident.classification_comment = changes["classificationComment"]
    if "determination" in changes:  # Graph's finer verdict beside the classification (graph_incidents)
        if not isinstance(changes["determination"], str | None) or len(changes["determination"] or "") > 32:
            raise InvalidRequestError("determination must be a name of at most 32 characters")
        incident.determination = changes["determination"]


def _set_status(session: Session, incident: IncidentRecord, status: str, actor: Actor, now: datetime) -> None:
    if status not in INCIDENT_STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(INCIDENT_STATUSES)}, not {status!r}")
    _event(session, incident, "status", actor, {"from": incident.status, "to": status,
                                                 "classification": incident.classification}, now)  # fmt: skip
    incident.status = status
    incident.closed_at = now if status == "Closed" else None


def comment_incident(session: Session, *, tenant_id: str, ref: str, message: str, actor: Actor,
                     workspace_id: str | None = None) -> IncidentRead | None:  # fmt: skip
    """Add a comment to the timeline (audited without its text)."""
    found = _incident(session, tenant_id, ref, workspace_id)
    if found is None:
        return None
    if not message.strip() or len(message) > 30_000:
        raise InvalidRequestError("a comment needs 1 to 30,000 characters")
    _event(session, found, "comment", actor, {"message": message})
    found.updated_at = utc_now()
    session.flush()
    record(
        session,
        actor=actor,
        action="incident.comment",
        outcome="success",
        target=found.id,
        tenant_id=tenant_id,
    )
    return _read(session, found)


def add_task(session: Session, *, tenant_id: str, ref: str, title: str, actor: Actor,
             workspace_id: str | None = None) -> IncidentTask | None:  # fmt: skip
    found = _incident(session, tenant_id, ref, workspace_id)
    if found is None:
        return None
    task = IncidentTask(incident_id=found.id, title=title[:256], created_by=f"{actor.kind}:{actor.id}")
    session.add(task)
    _event(session, found, "task", actor, {"title": title[:256]})
    session.flush()
    record(
        session, actor=actor, action="incident.task", outcome="success", target=found.id, tenant_id=tenant_id
    )
    return task


def merge_incidents(session: Session, *, tenant_id: str, source: str, target: str, actor: Actor,
                    workspace_id: str | None = None) -> IncidentRead | None:  # fmt: skip
    """Move ``source``'s alerts into ``target`` and close ``source`` as merged; both timelines say so."""
    moving, keeping = (_incident(session, tenant_id, ref, workspace_id) for ref in (source, target))
    if moving is None or keeping is None:
        return None
    if moving.id == keeping.id or moving.workspace_id != keeping.workspace_id:
        raise InvalidRequestError("only two different incidents of one workspace can be merged")
    now = utc_now()
    for alert in session.scalars(select(AlertRecord).where(AlertRecord.incident_id == moving.id)):
        _join(session, keeping, alert, actor, now)
    moving.status, moving.closed_at, moving.merged_into = "Closed", now, keeping.id
    moving.classification = moving.classification or "Undetermined"
    _event(session, moving, "merged", actor, {"into": keeping.id, "number": keeping.number}, now)
    _event(session, keeping, "merged", actor, {"from": moving.id, "number": moving.number}, now)
    session.flush()
    record(session, actor=actor, action="incident.merge", outcome="success", target=keeping.id, tenant_id=tenant_id,
           detail={"merged": moving.id})  # fmt: skip
    return _read(session, keeping)
