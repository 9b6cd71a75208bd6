"""What changed in a tenant's incidents since a moment: the feed a live incident queue follows
(``api/routes/incident_events.py``). Incidents are read in the order they last changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.cases.incidents import IncidentRead, read_incidents
from watchkeeper.cases.models import IncidentRecord

__all__ = ["changed_incidents"]


def changed_incidents(session: Session, *, tenant_id: str, since: datetime, limit: int) -> list[IncidentRead]:
    """The tenant's incidents created or changed after ``since`` (at most ``limit``, the earliest
    changes first), each with what its alerts add up to."""
    ids = session.scalars(
        select(IncidentRecord.id)
        .where(IncidentRecord.tenant_id == tenant_id, IncidentRecord.updated_at > since)
        .order_by(IncidentRecord.updated_at, IncidentRecord.id)
        .limit(limit)
    ).all()
    found = read_incidents(session, tenant_id=tenant_id, ids=ids)
    return sorted(found, key=lambda i: (i.updated_at, i.id))
