"""Security actions in the state database (``graph-security-api.md`` section 6 "securityAction").

A security action is a request, made through the API, that a provider carry out something on the
caller's behalf (``blockIp``, ``allowIp``, ...). The row keeps what was asked, who asked (stamped
from the token, never client input), which provider carries it out, the provider's reference to
its own work, and the status history the provider reported. The built-in provider's blocklist
(``automation.actions.blocklist``) has its own table here: one row per address a ``blockIp`` put on
it, lifted by an ``allowIp`` or by cancelling the action that put it there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, new_id, utc_now
from watchkeeper.state.db import UtcDateTime

__all__ = [
    "ACTION_STATUSES",
    "BlocklistEntry",
    "ResultInfo",
    "SecurityActionRead",
    "SecurityActionRecord",
]

# Graph's operationStatus; a cancelled action ends as Failed with errorInfo saying so (the
# enumeration has no "cancelled" member and the SDKs parse only these four)
ACTION_STATUSES = ("NotStarted", "Running", "Completed", "Failed")


class SecurityActionRecord(Base):
    """One requested security action of a tenant."""

    __tablename__ = "security_actions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    action_reason: Mapped[str | None] = mapped_column(Text, default=None)
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    client_context: Mapped[str | None] = mapped_column(String(256), default=None)
    app_id: Mapped[str] = mapped_column(String(64))
    user: Mapped[str | None] = mapped_column(String(256), default=None)
    provider: Mapped[str] = mapped_column(String(64))
    # the provider's own handle on the work it started (an indicator id, a ticket number, ...)
    provider_ref: Mapped[str | None] = mapped_column(String(256), default=None)
    status: Mapped[str] = mapped_column(String(16), default="NotStarted")
    error_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    states: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    last_action_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class BlocklistEntry(Base):
    """An address the built-in provider blocks for a tenant, while neither lifted nor expired."""

    __tablename__ = "blocklist_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)  # canonical text (ipaddress)
    action_id: Mapped[str] = mapped_column(ForeignKey("security_actions.id"), index=True)
    indicator_id: Mapped[str | None] = mapped_column(String(64), default=None)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    # the allowIp action that lifted it (cancelling that allowIp restores it), or the time its own
    # blockIp was cancelled
    lifted_by: Mapped[str | None] = mapped_column(String(36), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class ResultInfo(BaseModel):
    """Graph's ``resultInfo``: why an action failed."""

    model_config = ConfigDict(frozen=True)

    code: int
    message: str
    subcode: int = 0


class SecurityActionRead(BaseModel):
    """A security action as services hand it out."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    tenant_id: str
    name: str
    action_reason: str | None
    parameters: list[dict[str, Any]]
    client_context: str | None
    app_id: str
    user: str | None
    provider: str
    provider_ref: str | None
    status: str
    error_info: dict[str, Any] | None
    states: list[dict[str, Any]]
    created_at: datetime
    last_action_at: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None

    def parameter(self, name: str) -> str | None:
        """The value of a parameter, its name matched in any case."""
        wanted = name.lower()
        return next((str(p.get("value")) for p in self.parameters if str(p.get("name")).lower() == wanted),
                    None)  # fmt: skip
