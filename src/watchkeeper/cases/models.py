"""Alerts and incidents in the state database.

An alert is what one rule run raised (``cases.alerts``); an incident groups alerts for an
analyst (``cases.incidents``), numbered in sequence per workspace, with a timeline of everything
that happened to it (alerts joining, comments, status, owner and severity changes, merges: who and
when) and tasks. The values follow Sentinel's incident model and the Graph ``security.alert``
resource (``../shared/specs/sentinel-content.md`` section 4, ``graph-security-api.md`` section 3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, new_id, utc_now
from watchkeeper.state.db import UtcDateTime

__all__ = [
    "ALERT_CLASSIFICATIONS",
    "ALERT_STATUSES",
    "INCIDENT_CLASSIFICATIONS",
    "INCIDENT_STATUSES",
    "AlertComment",
    "AlertRecord",
    "IncidentEvent",
    "IncidentRecord",
    "IncidentTask",
]

ALERT_STATUSES = ("new", "inProgress", "resolved")
ALERT_CLASSIFICATIONS = ("unknown", "falsePositive", "truePositive", "informationalExpectedActivity")
INCIDENT_STATUSES = ("New", "Active", "Closed")
# classification -> the reasons that go with it
INCIDENT_CLASSIFICATIONS = {
    "Undetermined": (),
    "TruePositive": ("SuspiciousActivity",),
    "BenignPositive": ("SuspiciousButExpected",),
    "FalsePositive": ("IncorrectAlertLogic", "InaccurateData"),
}


class AlertRecord(Base):
    """An alert a rule raised."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    rule_ref: Mapped[str | None] = mapped_column(ForeignKey("analytics_rules.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_name: Mapped[str] = mapped_column(String(256))
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new")
    classification: Mapped[str] = mapped_column(String(32), default="unknown")
    determination: Mapped[str] = mapped_column(String(32), default="unknown")
    assigned_to: Mapped[str | None] = mapped_column(String(256), default=None)
    tactics: Mapped[list[str]] = mapped_column(JSON, default=list)
    techniques: Mapped[list[str]] = mapped_column(JSON, default=list)
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    custom_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    query: Mapped[str] = mapped_column(Text, default="")
    window_start: Mapped[datetime] = mapped_column(UtcDateTime())
    window_end: Mapped[datetime] = mapped_column(UtcDateTime())
    first_activity: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_activity: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class AlertComment(Base):
    """A comment on an alert (Graph's ``alertComment``)."""

    __tablename__ = "alert_comments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    comment: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class IncidentRecord(Base):
    """An incident: alerts grouped for an analyst."""

    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("workspace_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="New")
    classification: Mapped[str | None] = mapped_column(String(32), default=None)
    classification_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    classification_comment: Mapped[str | None] = mapped_column(Text, default=None)
    determination: Mapped[str | None] = mapped_column(String(32), default=None)  # Graph's, beside ours
    owner: Mapped[str | None] = mapped_column(String(256), default=None)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the rule whose alerts it groups, and the key its alerts match on (grouping configuration)
    rule_ref: Mapped[str | None] = mapped_column(ForeignKey("analytics_rules.id"), index=True, default=None)
    grouping_key: Mapped[str | None] = mapped_column(Text, default=None)
    merged_into: Mapped[str | None] = mapped_column(String(36), default=None)
    first_activity: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_activity: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class IncidentEvent(Base):
    """One entry of an incident's timeline: ``kind`` is ``created``, ``alert``, ``comment``,
    ``status``, ``owner``, ``severity``, ``classification``, ``labels``, ``reopened``, ``merged``."""

    __tablename__ = "incident_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # the entry's place in the incident's timeline
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(256))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class IncidentTask(Base):
    """A task on an incident (Sentinel's incident tasks)."""

    __tablename__ = "incident_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    title: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="New")  # New, Completed
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
