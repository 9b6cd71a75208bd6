"""The audit table and its read models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, utc_now

__all__ = ["Actor", "AuditEntry", "AuditPage", "AuditRead"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: an app (``client id``), a console user, or an operator at the CLI."""

    kind: str  # "app", "user", "cli", "system", "anonymous"
    id: str
    tenant_id: str | None = None
    request_id: str | None = None

    @classmethod
    def cli(cls) -> Actor:
        """The operator running ``wk`` on the server (the OS account)."""
        import getpass

        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (containers)
            user = "unknown"
        return cls("cli", user)


class AuditEntry(Base):
    """One audited action. Rows are only ever inserted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant_id", "at"),)

    # BigInteger on PostgreSQL, INTEGER (the rowid alias) on SQLite
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now)
    tenant_id: Mapped[str | None] = mapped_column(String(36))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(256))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))


class AuditRead(BaseModel):
    """An audit entry as the API and CLI show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    tenant_id: str | None
    actor_kind: str
    actor: str
    action: str
    target: str | None
    outcome: str
    detail: dict[str, Any]
    request_id: str | None


class AuditPage(BaseModel):
    """A page of entries, newest first; ``next_before`` continues the listing."""

    entries: list[AuditRead]
    next_before: int | None
