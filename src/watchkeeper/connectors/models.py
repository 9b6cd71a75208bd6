"""Alert providers in the state database: their configuration, their checkpoint, and which stored
alert each provider alert became.

- ``alert_providers``: a provider of a tenant (name unique in the tenant), the workspace its alerts
  go to, its kind (``suricata``, ``graph``, ``webhook``, or a plugin's), ``settings`` (JSON) and
  ``secrets`` (JSON, apart: never in :class:`ProviderRead`, logs or API reads; only the connector
  that needs them reads them, through ``provider_secrets``).
- ``provider_checkpoints``: where the provider's next pull resumes (opaque text).
- ``provider_alerts``: provider alert id -> alert id (unique per provider: what makes intake
  idempotent), and the outcome of the last status change pushed back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, new_id, utc_now
from watchkeeper.state.db import UtcDateTime

__all__ = ["ProviderAlertLink", "ProviderCheckpoint", "ProviderRead", "ProviderRecord"]


class ProviderRecord(Base):
    """A configured alert provider."""

    __tablename__ = "alert_providers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class ProviderCheckpoint(Base):
    """Where a provider's next pull resumes."""

    __tablename__ = "provider_checkpoints"

    provider_id: Mapped[str] = mapped_column(ForeignKey("alert_providers.id"), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    alerts: Mapped[int] = mapped_column(default=0)  # alerts taken in so far
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class ProviderAlertLink(Base):
    """A provider's alert and the alert it became here."""

    __tablename__ = "provider_alerts"
    __table_args__ = (UniqueConstraint("provider_id", "provider_alert_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    provider_id: Mapped[str] = mapped_column(ForeignKey("alert_providers.id"), index=True)
    provider_alert_id: Mapped[str] = mapped_column(String(256))
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class ProviderRead(BaseModel):
    """A provider as callers see it: no secrets, only the names of the ones it has."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    workspace_id: str
    name: str
    kind: str
    settings: dict[str, Any]
    secret_names: list[str]
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, record: ProviderRecord) -> ProviderRead:
        return cls(
            id=record.id, tenant_id=record.tenant_id, workspace_id=record.workspace_id, name=record.name,
            kind=record.kind, settings=dict(record.settings), secret_names=sorted(record.secrets),
            enabled=record.enabled, created_at=record.created_at,
        )  # fmt: skip
