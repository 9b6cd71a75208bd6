"""Recording and reading audit entries. Callers pass the session of the change they audit, so an
action and its audit entry commit together or not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.audit.models import Actor, AuditEntry, AuditPage, AuditRead

__all__ = ["OUTCOMES", "list_entries", "record"]

OUTCOMES = frozenset({"success", "failure", "denied"})
_TEXT_LIMIT = 8192  # a query text longer than this is kept in part, with its length


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    outcome: str,
    target: str | None = None,
    tenant_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry. ``tenant_id`` defaults to the actor's tenant."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    session.add(
        AuditEntry(
            tenant_id=tenant_id if tenant_id is not None else actor.tenant_id,
            actor_kind=actor.kind,
            actor=actor.id,
            action=action,
            target=target,
            outcome=outcome,
            detail=_bounded(detail or {}),
            request_id=actor.request_id,
        )
    )


def _bounded(detail: dict[str, Any]) -> dict[str, Any]:
    out = dict(detail)
    for key, value in detail.items():
        if isinstance(value, str) and len(value) > _TEXT_LIMIT:
            out[key] = value[:_TEXT_LIMIT]
            out[f"{key}_length"] = len(value)
    return out


def list_entries(
    session: Session,
    *,
    tenant_id: str | None,
    limit: int = 100,
    before: int | None = None,
    since: datetime | None = None,
    action: str | None = None,
) -> AuditPage:
    """Entries of one tenant (``None``: the entries of no tenant, e.g. server administration), newest
    first, at most ``limit``; ``before`` is the ``next_before`` of the previous page."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    query = query.where(
        AuditEntry.tenant_id == tenant_id if tenant_id is not None else AuditEntry.tenant_id.is_(None)
    )
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    entries = [AuditRead.model_validate(row) for row in rows[:limit]]
    return AuditPage(entries=entries, next_before=entries[-1].id if more else None)
