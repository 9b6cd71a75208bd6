"""Directory tables (tenants, workspaces, apps, users) and their read models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, new_id, utc_now

__all__ = [
    "AppCreated",
    "AppRead",
    "AppRegistration",
    "Tenant",
    "TenantRead",
    "UserAccount",
    "UserRead",
    "WorkspaceRead",
    "WorkspaceRecord",
]


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class WorkspaceRecord(Base):
    """A workspace: its events live in ``folder`` (relative to the data directory)."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    folder: Mapped[str] = mapped_column(String(512), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class AppRegistration(Base):
    """An application that signs in with client credentials (``client_id`` + secret)."""

    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)  # the object id (oid)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128))
    secret_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[list[str]] = mapped_column(default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class UserAccount(Base):
    """A console user of one tenant."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    username: Mapped[str] = mapped_column(String(256))
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[list[str]] = mapped_column(default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TenantRead(_Read):
    id: str
    name: str
    created_at: datetime


class WorkspaceRead(_Read):
    id: str
    tenant_id: str
    name: str
    folder: str
    created_at: datetime


class AppRead(_Read):
    id: str
    tenant_id: str
    client_id: str
    name: str
    roles: list[str]
    disabled: bool
    created_at: datetime


class AppCreated(AppRead):
    """An app just registered: the only time its secret is ever shown."""

    client_secret: str


class UserRead(_Read):
    id: str
    tenant_id: str
    username: str
    roles: list[str]
    disabled: bool
    created_at: datetime
