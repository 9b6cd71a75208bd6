"""Incident tasks (Sentinel's incident tasks): an analyst's checklist on an incident, listed, added,
renamed, completed and reopened. Every change is a timeline entry of the incident and an audit
record; a task is reached only through its incident, so only within the incident's tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.cases.incidents import _event, _incident, add_task
from watchkeeper.cases.models import IncidentTask
from watchkeeper.errors import InvalidRequestError

__all__ = ["TASK_STATUSES", "TITLE_LIMIT", "TaskRead", "change_task", "create_task", "list_tasks"]

TASK_STATUSES = ("New", "Completed")
TITLE_LIMIT = 256  # the column's width: a longer title is refused, not cut
_EDITABLE = frozenset({"title", "status"})


class TaskRead(BaseModel):
    """A task as callers see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    incident_id: str
    title: str
    status: str
    created_by: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The task in the API's camelCase spelling."""
        return {"id": self.id, "incidentId": self.incident_id, "title": self.title, "status": self.status,
                "createdBy": self.created_by,
                "createdDateTime": self.created_at.isoformat().replace("+00:00", "Z")}  # fmt: skip


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError("a task needs a title (a non-empty string)")
    if len(value) > TITLE_LIMIT:
        raise InvalidRequestError(f"a task's title has at most {TITLE_LIMIT} characters, not {len(value)}")
    return value.strip()


def list_tasks(session: Session, *, tenant_id: str, ref: str) -> list[TaskRead] | None:
    """The tasks of the tenant's incident ``ref``, oldest first (None if it has no such incident)."""
    found = _incident(session, tenant_id, ref, None)
    if found is None:
        return None
    tasks = session.scalars(select(IncidentTask).where(IncidentTask.incident_id == found.id)
                            .order_by(IncidentTask.created_at, IncidentTask.id))  # fmt: skip
    return [TaskRead.model_validate(t) for t in tasks]


def create_task(session: Session, *, tenant_id: str, ref: str, title: Any, actor: Actor) -> TaskRead | None:
    """Add a task titled ``title`` to the tenant's incident ``ref`` (None if none); audited."""
    task = add_task(session, tenant_id=tenant_id, ref=ref, title=_title(title), actor=actor)
    return TaskRead.model_validate(task) if task is not None else None


def change_task(
    session: Session, *, tenant_id: str, ref: str, task_id: str, changes: dict[str, Any], actor: Actor
) -> TaskRead | None:
    """Rename a task or set its status (``New`` or ``Completed``); None if the tenant's incident
    ``ref`` has no such task. One timeline entry per change, one audit record."""
    unknown = sorted(set(changes) - _EDITABLE)
    if unknown:
        raise InvalidRequestError(f"a task's {unknown[0]} cannot be changed; title and status can")
    found = _incident(session, tenant_id, ref, None)
    task = session.get(IncidentTask, task_id) if found is not None else None
    if found is None or task is None or task.incident_id != found.id:
        return None
    if "status" in changes and changes["status"] not in TASK_STATUSES:
        raise InvalidRequestError(f"a task's status is New or Completed, not {changes['status']!r}")
    wanted = {"title": _title(changes["title"])} if "title" in changes else {}
    wanted |= {"status": changes["status"]} if "status" in changes else {}
    for name, value in wanted.items():
        if value != getattr(task, name):
            detail = (
                {"from": task.title, "title": value}
                if name == "title"
                else {"title": task.title, name: value}
            )
            _event(session, found, "task", actor, {"task": task.id, **detail})
            setattr(task, name, value)
    session.flush()
    record(session, actor=actor, action="incident.task.update", outcome="success", target=found.id,
           tenant_id=tenant_id, detail={"task": task.id, "changes": sorted(wanted)})  # fmt: skip
    return TaskRead.model_validate(task)
