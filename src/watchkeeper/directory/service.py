"""Directory operations. Keyword-only functions taking a session; every write is audited in the
same transaction. Lookups by id are always scoped to a tenant."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.directory.models import (
    AppCreated,
    AppRead,
    AppRegistration,
    Tenant,
    TenantRead,
    UserAccount,
    UserRead,
    WorkspaceRead,
    WorkspaceRecord,
)
from watchkeeper.directory.roles import unknown_roles
from watchkeeper.directory.secrets import hash_secret, new_client_secret, verify_secret
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state import new_id

__all__ = [
    "DirectoryError",
    "authenticate_app",
    "authenticate_user",
    "create_app",
    "create_tenant",
    "create_user",
    "create_workspace",
    "find_tenant",
    "find_workspace",
    "list_apps",
    "list_tenants",
    "list_users",
    "list_workspaces",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class DirectoryError(InvalidRequestError):
    """A directory change that cannot be made (a taken name, an unknown role, a bad name)."""


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise DirectoryError(
            f"{kind} name {name!r} is not valid: 1-128 letters, digits, spaces, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def _check_roles(roles: list[str]) -> None:
    unknown = unknown_roles(roles)
    if unknown:
        raise DirectoryError(f"unknown role(s): {', '.join(unknown)} (see `wk apps roles`)")


def _flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise DirectoryError(f"{what} already exists") from None


# ---------------------------------------------------------------------------- tenants


def create_tenant(session: Session, *, name: str, actor: Actor) -> TenantRead:
    _check_name("tenant", name)
    tenant = Tenant(name=name)
    session.add(tenant)
    _flush(session, f"a tenant named {name!r}")
    record(session, actor=actor, action="tenant.create", outcome="success", target=tenant.id,
           tenant_id=tenant.id, detail={"name": name})  # fmt: skip
    return TenantRead.model_validate(tenant)


def find_tenant(session: Session, *, ref: str) -> TenantRead | None:
    """The tenant whose id (GUID) or name is ``ref``."""
    column = Tenant.id if _GUID.match(ref) else Tenant.name
    found = session.scalar(select(Tenant).where(column == (ref.lower() if _GUID.match(ref) else ref)))
    return TenantRead.model_validate(found) if found else None


def list_tenants(session: Session) -> list[TenantRead]:
    return [TenantRead.model_validate(t) for t in session.scalars(select(Tenant).order_by(Tenant.name))]


# ---------------------------------------------------------------------------- workspaces


def create_workspace(
    session: Session, *, tenant_id: str, name: str, actor: Actor, folder: str | None = None
) -> WorkspaceRead:
    """A new workspace of the tenant; its events go to ``workspaces/<id>`` unless ``folder`` says."""
    _check_name("workspace", name)
    _require_tenant(session, tenant_id)
    workspace_id = new_id()
    workspace = WorkspaceRecord(
        id=workspace_id, tenant_id=tenant_id, name=name, folder=folder or f"workspaces/{workspace_id}"
    )
    session.add(workspace)
    _flush(session, f"a workspace named {name!r} (or its folder)")
    record(session, actor=actor, action="workspace.create", outcome="success", target=workspace.id,
           tenant_id=tenant_id, detail={"name": name, "folder": workspace.folder})  # fmt: skip
    return WorkspaceRead.model_validate(workspace)


def find_workspace(session: Session, *, tenant_id: str, ref: str) -> WorkspaceRead | None:
    """The tenant's workspace whose id or name is ``ref``; another tenant's is never found."""
    column = WorkspaceRecord.id if _GUID.match(ref) else WorkspaceRecord.name
    value = ref.lower() if _GUID.match(ref) else ref
    query = select(WorkspaceRecord).where(WorkspaceRecord.tenant_id == tenant_id, column == value)
    found = session.scalar(query)
    return WorkspaceRead.model_validate(found) if found else None


def list_workspaces(session: Session, *, tenant_id: str) -> list[WorkspaceRead]:
    query = select(WorkspaceRecord).where(WorkspaceRecord.tenant_id == tenant_id)
    return [WorkspaceRead.model_validate(w) for w in session.scalars(query.order_by(WorkspaceRecord.name))]


def every_workspace(session: Session) -> list[WorkspaceRead]:
    """All tenants' workspaces: for the server's own housekeeping (journal recovery), never for
    answering a caller."""
    query = select(WorkspaceRecord).order_by(WorkspaceRecord.tenant_id, WorkspaceRecord.name)
    return [WorkspaceRead.model_validate(w) for w in session.scalars(query)]


def workspace_at_folder(session: Session, folder: str) -> WorkspaceRead | None:
    """The workspace whose events are in ``folder`` (relative to the data directory): for the
    ``wk`` commands that name a workspace by its folder, run by the server's operator."""
    found = session.scalar(select(WorkspaceRecord).where(WorkspaceRecord.folder == folder).limit(1))
    return WorkspaceRead.model_validate(found) if found else None


def _require_tenant(session: Session, tenant_id: str) -> None:
    if session.get(Tenant, tenant_id) is None:
        raise DirectoryError(f"no tenant with id {tenant_id!r}")


# ---------------------------------------------------------------------------- apps


def create_app(session: Session, *, tenant_id: str, name: str, roles: list[str], actor: Actor) -> AppCreated:
    """Register an app; the returned secret is shown this once and stored only as a hash."""
    _check_name("app", name)
    _check_roles(roles)
    _require_tenant(session, tenant_id)
    secret = new_client_secret()
    app = AppRegistration(
        tenant_id=tenant_id, name=name, roles=sorted(set(roles)), secret_hash=hash_secret(secret)
    )
    session.add(app)
    _flush(session, f"an app named {name!r}")
    record(session, actor=actor, action="app.create", outcome="success", target=app.client_id,
           tenant_id=tenant_id, detail={"name": name, "roles": app.roles})  # fmt: skip
    return AppCreated(**AppRead.model_validate(app).model_dump(), client_secret=secret)


def list_apps(session: Session, *, tenant_id: str) -> list[AppRead]:
    query = (
        select(AppRegistration).where(AppRegistration.tenant_id == tenant_id).order_by(AppRegistration.name)
    )
    return [AppRead.model_validate(a) for a in session.scalars(query)]


def authenticate_app(session: Session, *, tenant_id: str, client_id: str, secret: str) -> AppRead | None:
    """The tenant's enabled app with this client id and secret, or None (same cost either way)."""
    query = select(AppRegistration).where(
        AppRegistration.tenant_id == tenant_id, AppRegistration.client_id == client_id.lower()
    )
    app = session.scalar(query) if _GUID.match(client_id) else None
    if not verify_secret(app.secret_hash if app else None, secret) or app is None or app.disabled:
        return None
    return AppRead.model_validate(app)


# ---------------------------------------------------------------------------- users


def create_user(
    session: Session, *, tenant_id: str, username: str, password: str, roles: list[str], actor: Actor
) -> UserRead:
    """A console user; the password is stored only as an argon2id hash."""
    if not 1 <= len(username) <= 256 or any(c.isspace() for c in username):
        raise DirectoryError("a username is 1-256 characters without spaces")
    if len(password) < 12:
        raise DirectoryError("a password needs at least 12 characters")
    _check_roles(roles)
    _require_tenant(session, tenant_id)
    user = UserAccount(tenant_id=tenant_id, username=username, password_hash=hash_secret(password),
                       roles=sorted(set(roles)))  # fmt: skip
    session.add(user)
    _flush(session, f"a user named {username!r} in this tenant")
    record(session, actor=actor, action="user.create", outcome="success", target=user.id,
           tenant_id=tenant_id, detail={"username": username, "roles": user.roles})  # fmt: skip
    return UserRead.model_validate(user)


def list_users(session: Session, *, tenant_id: str) -> list[UserRead]:
    """A tenant's console users, by username."""
    query = select(UserAccount).where(UserAccount.tenant_id == tenant_id).order_by(UserAccount.username)
    return [UserRead.model_validate(u) for u in session.scalars(query)]


def authenticate_user(session: Session, *, tenant_id: str, username: str, password: str) -> UserRead | None:
    query = select(UserAccount).where(UserAccount.tenant_id == tenant_id, UserAccount.username == username)
    user = session.scalar(query)
    if not verify_secret(user.password_hash if user else None, password) or user is None or user.disabled:
        return None
    return UserRead.model_validate(user)
