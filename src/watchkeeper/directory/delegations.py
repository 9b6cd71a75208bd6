"""Delegated access (the managed security provider case, as Azure Lighthouse delegations): a user of
a managing tenant is granted roles in a customer tenant.

A delegation names one user, one customer tenant and the roles the user holds there; the user's
roles at home never carry over. Granting again replaces the roles; revoking deletes the row, and
the console checks the row on every request, so a revoke takes effect at the user's next request.
Every grant and revoke is audited in both tenants: the customer sees who was let in, the managing
tenant what its user may reach.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from watchkeeper.audit import Actor, record
from watchkeeper.directory.models import Tenant, UserAccount
from watchkeeper.directory.roles import unknown_roles
from watchkeeper.directory.service import DirectoryError
from watchkeeper.state import Base, new_id, utc_now

__all__ = [
    "DelegationRead",
    "TenantDelegation",
    "delegation_for",
    "delegations_into",
    "delegations_of",
    "grant_delegation",
    "revoke_delegation",
]


class TenantDelegation(Base):
    """Roles a managing tenant's user holds in a customer tenant (one row per user and customer)."""

    __tablename__ = "tenant_delegations"
    __table_args__ = (UniqueConstraint("user_id", "customer_tenant_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    managing_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    customer_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    roles: Mapped[list[str]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class DelegationRead(BaseModel):
    """A delegation with the names an operator reads."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    managing_tenant_id: str
    managing_tenant: str
    user_id: str
    username: str
    customer_tenant_id: str
    customer_tenant: str
    roles: list[str]
    created_by: str
    created_at: datetime


def _read(session: Session, row: TenantDelegation) -> DelegationRead:
    managing, customer = (
        session.get(Tenant, row.managing_tenant_id),
        session.get(Tenant, row.customer_tenant_id),
    )
    user = session.get(UserAccount, row.user_id)
    return DelegationRead(
        id=row.id, managing_tenant_id=row.managing_tenant_id, managing_tenant=managing.name if managing else "",
        user_id=row.user_id, username=user.username if user else "", customer_tenant_id=row.customer_tenant_id,
        customer_tenant=customer.name if customer else "", roles=list(row.roles), created_by=row.created_by,
        created_at=row.created_at,
    )  # fmt: skip


def _user(session: Session, tenant_id: str, username: str) -> UserAccount:
    query = select(UserAccount).where(UserAccount.tenant_id == tenant_id, UserAccount.username == username)
    user = session.scalar(query)
    if user is None:
        raise DirectoryError(f"no user {username!r} in the managing tenant")
    return user


def _check(session: Session, managing_tenant_id: str, customer_tenant_id: str, roles: list[str]) -> None:
    if managing_tenant_id == customer_tenant_id:
        raise DirectoryError("a delegation reaches another tenant: the customer is the user's own tenant")
    if session.get(Tenant, customer_tenant_id) is None or session.get(Tenant, managing_tenant_id) is None:
        raise DirectoryError("no such tenant")
    if not roles:
        raise DirectoryError("a delegation needs at least one role (--role)")
    unknown = unknown_roles(roles)
    if unknown:
        raise DirectoryError(f"unknown role(s): {', '.join(unknown)} (see `wk apps roles`)")


def _audit_both(session: Session, actor: Actor, action: str, found: DelegationRead) -> None:
    detail = {"user": found.username, "managingTenant": found.managing_tenant,
              "customerTenant": found.customer_tenant, "roles": found.roles}  # fmt: skip
    for tenant_id in (found.managing_tenant_id, found.customer_tenant_id):
        record(session, actor=actor, action=action, outcome="success", target=found.user_id,
               tenant_id=tenant_id, detail=detail)  # fmt: skip


def grant_delegation(session: Session, *, managing_tenant_id: str, username: str, customer_tenant_id: str,
                     roles: list[str], actor: Actor) -> DelegationRead:  # fmt: skip
    """Give the managing tenant's user ``roles`` in the customer tenant (replacing any roles
    granted there before); audited in both tenants."""
    _check(session, managing_tenant_id, customer_tenant_id, roles)
    user = _user(session, managing_tenant_id, username)
    row = session.scalar(
        select(TenantDelegation).where(
            TenantDelegation.user_id == user.id, TenantDelegation.customer_tenant_id == customer_tenant_id
        )
    )
    if row is None:
        row = TenantDelegation(managing_tenant_id=managing_tenant_id, user_id=user.id,
                               customer_tenant_id=customer_tenant_id, created_by=actor.id, created_at=utc_now())  # fmt: skip
        session.add(row)
    row.roles = sorted(set(roles))
    session.flush()
    found = _read(session, row)
    _audit_both(session, actor, "delegation.grant", found)
    return found


def revoke_delegation(
    session: Session, *, managing_tenant_id: str, username: str, customer_tenant_id: str, actor: Actor
) -> DelegationRead:
    """Take the user's access to the customer tenant away; audited in both tenants."""
    user = _user(session, managing_tenant_id, username)
    row = session.scalar(
        select(TenantDelegation).where(
            TenantDelegation.user_id == user.id, TenantDelegation.customer_tenant_id == customer_tenant_id
        )
    )
    if row is None:
        raise DirectoryError(f"user {username!r} has no delegation to that customer tenant")
    found = _read(session, row)
    session.delete(row)
    _audit_both(session, actor, "delegation.revoke", found)
    return found


def delegation_for(session: Session, *, user_id: str, customer_tenant_id: str) -> DelegationRead | None:
    """The user's delegation into ``customer_tenant_id``, if it exists now."""
    row = session.scalar(
        select(TenantDelegation).where(
            TenantDelegation.user_id == user_id, TenantDelegation.customer_tenant_id == customer_tenant_id
        )
    )
    return _read(session, row) if row is not None else None


def delegations_of(session: Session, *, user_id: str) -> list[DelegationRead]:
    """The customer tenants the user may act in, by tenant name."""
    rows = session.scalars(select(TenantDelegation).where(TenantDelegation.user_id == user_id))
    return sorted((_read(session, r) for r in rows), key=lambda d: d.customer_tenant)


def delegations_into(session: Session, *, tenant_id: str) -> list[DelegationRead]:
    """Every delegation a tenant gave or received (for ``wk users list``)."""
    rows = session.scalars(
        select(TenantDelegation).where(
            (TenantDelegation.managing_tenant_id == tenant_id)
            | (TenantDelegation.customer_tenant_id == tenant_id)
        )
    )
    return sorted(
        (_read(session, r) for r in rows), key=lambda d: (d.managing_tenant, d.username, d.customer_tenant)
    )
