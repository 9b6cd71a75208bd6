"""Dashboards and saved queries of a tenant, as seen by one caller (a :class:`Viewer`).

Everything is tenant-scoped: another tenant's object is not found, with the same message as a
missing one. A private object is visible to its owner only; a shared one to the whole tenant. Only
the owner changes or deletes an object, or a tenant administrator (``AuditLog.Read.All``) a shared
one. Every write is audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.errors import NotFoundError, WatchkeeperError
from watchkeeper.state import utc_now
from watchkeeper.workbooks.builtin import BUILTIN_PREFIX, builtin_dashboards, find_builtin
from watchkeeper.workbooks.models import (
    DashboardDocument,
    DashboardRead,
    DashboardRecord,
    SavedQueryCreate,
    SavedQueryRead,
    SavedQueryRecord,
    SavedQueryUpdate,
)

__all__ = [
    "NotPermitted",
    "Viewer",
    "create_dashboard",
    "create_saved_query",
    "delete_dashboard",
    "delete_saved_query",
    "get_dashboard",
    "get_saved_query",
    "list_dashboards",
    "list_saved_queries",
    "update_dashboard",
    "update_saved_query",
]

_Record = TypeVar("_Record", DashboardRecord, SavedQueryRecord)


class NotPermitted(WatchkeeperError):
    """The caller sees the object but may not change it (not its owner, or a built-in dashboard)."""


@dataclass(frozen=True)
class Viewer:
    """Who asks: the tenant, the owner id (a user's name or an app's client id), whether the caller
    administers the tenant, and the audit actor."""

    tenant_id: str
    owner: str
    admin: bool
    actor: Actor

    def may_change(self, owner: str, shared: bool) -> bool:
        return owner == self.owner or (self.admin and shared)


def _visible(viewer: Viewer, model: type[_Record]) -> Any:
    return (model.tenant_id == viewer.tenant_id) & or_(model.shared.is_(True), model.owner == viewer.owner)


def _find(session: Session, viewer: Viewer, model: type[_Record], ref: str, kind: str) -> _Record:
    found = session.scalars(select(model).where(model.id == ref, _visible(viewer, model))).one_or_none()
    if found is None:
        raise NotFoundError(kind, ref)
    return found


def _changeable(viewer: Viewer, found: DashboardRecord | SavedQueryRecord, kind: str) -> None:
    if not viewer.may_change(found.owner, found.shared):
        raise NotPermitted(f"only the owner of {kind} '{found.id}' ({found.owner}) may change or delete it")


def _audit(session: Session, viewer: Viewer, action: str, target: str, **detail: Any) -> None:
    record(session, actor=viewer.actor, action=action, outcome="success", target=target, detail=detail)


# ---------------------------------------------------------------- dashboards


def _dashboard(viewer: Viewer, found: DashboardRecord) -> DashboardRead:
    definition = json.loads(found.definition)
    return DashboardRead(id=found.id, name=found.name, description=definition.get("description", ""),
                         owner=found.owner, shared=found.shared, editable=viewer.may_change(found.owner, found.shared),
                         created=found.created_at, updated=found.updated_at, definition=definition)  # fmt: skip


def list_dashboards(session: Session, *, viewer: Viewer) -> list[DashboardRead]:
    """The built-in dashboards, then the tenant's the viewer may see, by name."""
    query = select(DashboardRecord).where(_visible(viewer, DashboardRecord)).order_by(DashboardRecord.name)
    return [*builtin_dashboards(), *(_dashboard(viewer, d) for d in session.scalars(query))]


def get_dashboard(session: Session, *, viewer: Viewer, ref: str) -> DashboardRead:
    """One dashboard (built-in or the tenant's); NotFoundError when the viewer may not see it."""
    if ref.startswith(BUILTIN_PREFIX):
        builtin = find_builtin(ref)
        if builtin is None:
            raise NotFoundError("dashboard", ref)
        return builtin
    return _dashboard(viewer, _find(session, viewer, DashboardRecord, ref, "dashboard"))


def create_dashboard(
    session: Session, *, viewer: Viewer, document: DashboardDocument, shared: bool = False
) -> DashboardRead:
    """Save a new dashboard owned by the viewer."""
    found = DashboardRecord(tenant_id=viewer.tenant_id, name=document.name, owner=viewer.owner, shared=shared,
                            definition=document.model_dump_json(exclude_none=True))  # fmt: skip
    session.add(found)
    session.flush()
    _audit(session, viewer, "dashboard.create", found.id, name=found.name, shared=shared)
    return _dashboard(viewer, found)


def _writable_dashboard(session: Session, viewer: Viewer, ref: str) -> DashboardRecord:
    if ref.startswith(BUILTIN_PREFIX) and find_builtin(ref) is not None:
        raise NotPermitted(f"dashboard '{ref}' is built in and read-only; save a copy to change it")
    found = _find(session, viewer, DashboardRecord, ref, "dashboard")
    _changeable(viewer, found, "dashboard")
    return found


def update_dashboard(
    session: Session, *, viewer: Viewer, ref: str, document: DashboardDocument, shared: bool | None = None
) -> DashboardRead:
    """Replace a dashboard's document (and its sharing when ``shared`` is given)."""
    found = _writable_dashboard(session, viewer, ref)
    found.name, found.definition = document.name, document.model_dump_json(exclude_none=True)
    found.shared = found.shared if shared is None else shared
    found.updated_at = utc_now()
    _audit(session, viewer, "dashboard.update", found.id, name=found.name, shared=found.shared)
    return _dashboard(viewer, found)


def delete_dashboard(session: Session, *, viewer: Viewer, ref: str) -> None:
    """Delete a dashboard."""
    found = _writable_dashboard(session, viewer, ref)
    session.delete(found)
    _audit(session, viewer, "dashboard.delete", found.id, name=found.name)


# ---------------------------------------------------------------- saved queries


def _saved(viewer: Viewer, found: SavedQueryRecord) -> SavedQueryRead:
    return SavedQueryRead(id=found.id, workspace_id=found.workspace_id, name=found.name, query=found.query,
                          description=found.description, shared=found.shared, owner=found.owner,
                          editable=viewer.may_change(found.owner, found.shared), created=found.created_at,
                          updated=found.updated_at)  # fmt: skip


def list_saved_queries(session: Session, *, viewer: Viewer, workspace_id: str) -> list[SavedQueryRead]:
    """The saved queries of one of the tenant's workspaces that the viewer may see, by name."""
    query = (
        select(SavedQueryRecord)
        .where(_visible(viewer, SavedQueryRecord), SavedQueryRecord.workspace_id == workspace_id)
        .order_by(SavedQueryRecord.name)
    )
    return [_saved(viewer, found) for found in session.scalars(query)]


def get_saved_query(session: Session, *, viewer: Viewer, ref: str) -> SavedQueryRead:
    """One saved query; NotFoundError when the viewer may not see it."""
    return _saved(viewer, _find(session, viewer, SavedQueryRecord, ref, "saved query"))


def create_saved_query(
    session: Session, *, viewer: Viewer, workspace_id: str, body: SavedQueryCreate
) -> SavedQueryRead:
    """Save a query for ``workspace_id`` (a workspace of the viewer's tenant), owned by the viewer."""
    found = SavedQueryRecord(tenant_id=viewer.tenant_id, workspace_id=workspace_id, name=body.name,
                             query=body.query, description=body.description, shared=body.shared,
                             owner=viewer.owner)  # fmt: skip
    session.add(found)
    session.flush()
    _audit(session, viewer, "savedQuery.create", found.id, name=found.name, workspace=workspace_id,
           shared=found.shared)  # fmt: skip
    return _saved(viewer, found)


def update_saved_query(
    session: Session, *, viewer: Viewer, ref: str, changes: SavedQueryUpdate
) -> SavedQueryRead:
    """Change a saved query's name, text, description or sharing."""
    found = _find(session, viewer, SavedQueryRecord, ref, "saved query")
    _changeable(viewer, found, "saved query")
    for name, value in changes.model_dump(exclude_none=True).items():
        setattr(found, name, value)
    found.updated_at = utc_now()
    _audit(session, viewer, "savedQuery.update", found.id, changed=sorted(changes.model_fields_set))
    return _saved(viewer, found)


def delete_saved_query(session: Session, *, viewer: Viewer, ref: str) -> None:
    """Delete a saved query."""
    found = _find(session, viewer, SavedQueryRecord, ref, "saved query")
    _changeable(viewer, found, "saved query")
    session.delete(found)
    _audit(session, viewer, "savedQuery.delete", found.id, name=found.name)
