"""Secure score in the state database: snapshots (one per tenant per day, history kept) and the
states administrators set on controls. Keyword-only functions taking a session; every read is
scoped to one tenant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from watchkeeper.posture.controls import STATES, ControlScore
from watchkeeper.posture.models import ControlStateRead, ControlStateRecord, ScoreSnapshotRecord, SnapshotRead
from watchkeeper.state.odata import Field, ODataQuery, Page, select_page

__all__ = [
    "HISTORY_DAYS",
    "SCORE_FIELDS",
    "SnapshotFacts",
    "control_states",
    "find_snapshot",
    "has_snapshot",
    "list_snapshots",
    "record_control_state",
    "save_snapshot",
    "snapshot_id",
    "snapshots_page",
]

# the window of a tenant's own history its comparative average covers
HISTORY_DAYS = 90
# averageComparativeScores basis: the tenant's own history (comparing with other tenants would tell
# one tenant about another's posture)
HISTORY_BASIS = "TenantHistory"


@dataclass(frozen=True)
class SnapshotFacts:
    """What a snapshot records besides the control scores."""

    taken_at: datetime
    active_user_count: int = 0
    licensed_user_count: int = 0
    enabled_services: tuple[str, ...] = ()


def snapshot_id(tenant_id: str, day: str) -> str:
    """Graph's secureScore id: ``{tenantId}_{yyyy-mm-dd}``."""
    return f"{tenant_id}_{day}"


def _stored_scores(scores: list[ControlScore], states: dict[str, str]) -> list[dict[str, object]]:
    return [{"control": s.control.id, "category": s.control.category, "score": s.score,
             "maxScore": s.control.max_score, "description": s.description, "passed": s.measure.passed,
             "total": s.measure.total, "state": states.get(s.control.id, "Default")}
            for s in scores]  # fmt: skip


def _history_average(session: Session, tenant_id: str, day: str, current: float) -> float:
    since = (datetime.fromisoformat(day) - timedelta(days=HISTORY_DAYS - 1)).date().isoformat()
    earlier = select(func.sum(ScoreSnapshotRecord.current_score), func.count()).where(
        ScoreSnapshotRecord.tenant_id == tenant_id,
        ScoreSnapshotRecord.day >= since,
        ScoreSnapshotRecord.day != day,
    )
    total, count = session.execute(earlier).one()
    return round(((total or 0.0) + current) / ((count or 0) + 1), 2)


def save_snapshot(
    session: Session, *, tenant_id: str, scores: list[ControlScore], facts: SnapshotFacts,
    states: dict[str, str] | None = None,
) -> SnapshotRead:  # fmt: skip
    """Record the tenant's score for the (UTC) day of ``facts.taken_at``; a second snapshot on the
    same day replaces the first."""
    day = facts.taken_at.date().isoformat()
    current = round(sum(s.score for s in scores), 2)
    found = session.scalar(
        select(ScoreSnapshotRecord).where(
            ScoreSnapshotRecord.tenant_id == tenant_id, ScoreSnapshotRecord.day == day
        )
    )
    record = found or ScoreSnapshotRecord(id=snapshot_id(tenant_id, day), tenant_id=tenant_id, day=day)
    record.current_score = current
    record.max_score = round(sum(s.control.max_score for s in scores), 2)
    record.control_scores = _stored_scores(scores, states or {})
    record.enabled_services = list(facts.enabled_services)
    record.active_user_count, record.licensed_user_count = facts.active_user_count, facts.licensed_user_count
    average = _history_average(session, tenant_id, day, current)
    record.average_comparative_scores = [{"basis": HISTORY_BASIS, "averageScore": average}]
    record.created_at = facts.taken_at
    if found is None:
        session.add(record)
    session.flush()
    return SnapshotRead.model_validate(record)


def _shown(column: ColumnElement[Any], kind: str = "string") -> Field:
    return Field(column, kind, filterable=False, sortable=False)


# secureScore properties for OData options ($filter, $orderby, $select)
SCORE_FIELDS: Mapping[str, Field] = {
    "id": Field(ScoreSnapshotRecord.id.expression, "string"),
    "azureTenantId": Field(ScoreSnapshotRecord.tenant_id.expression, "string"),
    "createdDateTime": Field(ScoreSnapshotRecord.created_at.expression, "datetime"),
    "currentScore": Field(ScoreSnapshotRecord.current_score.expression, "number"),
    "maxScore": Field(ScoreSnapshotRecord.max_score.expression, "number"),
    "activeUserCount": Field(ScoreSnapshotRecord.active_user_count.expression, "number"),
    "licensedUserCount": Field(ScoreSnapshotRecord.licensed_user_count.expression, "number"),
    "enabledServices": Field(ScoreSnapshotRecord.enabled_services.expression, "strings", sortable=False),
    "averageComparativeScores": _shown(ScoreSnapshotRecord.average_comparative_scores.expression),
    "controlScores": _shown(ScoreSnapshotRecord.control_scores.expression),
    "vendorInformation": _shown(ScoreSnapshotRecord.id.expression),
}


def list_snapshots(session: Session, *, tenant_id: str, limit: int) -> list[SnapshotRead]:
    """The tenant's latest ``limit`` snapshots, newest day first."""
    query = (
        select(ScoreSnapshotRecord)
        .where(ScoreSnapshotRecord.tenant_id == tenant_id)
        .order_by(ScoreSnapshotRecord.day.desc())
        .limit(limit)
    )
    return [SnapshotRead.model_validate(r) for r in session.scalars(query)]


def snapshots_page(session: Session, *, tenant_id: str, query: ODataQuery) -> tuple[list[SnapshotRead], Page]:
    """One page of the tenant's snapshots under OData options (newest day first unless ``$orderby``)."""
    statement = (
        select(ScoreSnapshotRecord)
        .where(ScoreSnapshotRecord.tenant_id == tenant_id)
        .order_by(ScoreSnapshotRecord.day.desc())
    )
    page = select_page(session, statement, query, SCORE_FIELDS, key=ScoreSnapshotRecord.id.expression)
    return [SnapshotRead.model_validate(r) for r in page.rows], page


def find_snapshot(session: Session, *, tenant_id: str, snapshot: str) -> SnapshotRead | None:
    """The tenant's snapshot with id ``snapshot``; None when missing or another tenant's."""
    query = select(ScoreSnapshotRecord).where(
        ScoreSnapshotRecord.id == snapshot, ScoreSnapshotRecord.tenant_id == tenant_id
    )
    found = session.scalar(query)
    return SnapshotRead.model_validate(found) if found else None


def has_snapshot(session: Session, *, tenant_id: str, day: str) -> bool:
    """Whether the tenant has a snapshot for ``day`` (yyyy-mm-dd)."""
    query = select(ScoreSnapshotRecord.id).where(
        ScoreSnapshotRecord.tenant_id == tenant_id, ScoreSnapshotRecord.day == day
    )
    return session.scalar(query) is not None


def record_control_state(
    session: Session, *, tenant_id: str, control_id: str, state: str, assigned_to: str | None,
    comment: str | None, updated_by: str, at: datetime,
) -> ControlStateRead:  # fmt: skip
    """Append a state change of a control (the caller has checked that the control exists)."""
    if state not in STATES:
        raise ValueError(f"unknown control state {state!r}")
    record = ControlStateRecord(tenant_id=tenant_id, control_id=control_id, state=state, assigned_to=assigned_to,
                                comment=comment, updated_by=updated_by, updated_at=at)  # fmt: skip
    session.add(record)
    session.flush()
    return ControlStateRead.model_validate(record)


def control_states(session: Session, *, tenant_id: str) -> dict[str, list[ControlStateRead]]:
    """Each control's state changes in the tenant, oldest first (the last is the current state)."""
    query = (
        select(ControlStateRecord)
        .where(ControlStateRecord.tenant_id == tenant_id)
        .order_by(ControlStateRecord.updated_at, ControlStateRecord.id)
    )
    history: dict[str, list[ControlStateRead]] = {}
    for record in session.scalars(query):
        history.setdefault(record.control_id, []).append(ControlStateRead.model_validate(record))
    return history
