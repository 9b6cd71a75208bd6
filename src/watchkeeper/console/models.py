"""Console sessions and failed sign-ins in the state database.

A session row holds only the SHA-256 of its cookie's token (a copy of the database opens no
session) and the per-session CSRF token the pages send back on every state-changing request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.identity import Principal
from watchkeeper.state import Base, utc_now

__all__ = ["ConsoleSession", "SessionUser", "SignInFailure", "TenantChoice"]


class ConsoleSession(Base):
    """A signed-in console user: valid until ``expires_at`` or sign-out (the row is deleted)."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    # the tenant the user works in: None is the user's own; else a customer tenant the user holds a
    # delegation into (checked again on every request)
    active_tenant_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime] = mapped_column()


class SignInFailure(Base):
    """Failed sign-ins of one username in one tenant since its last success or lockout."""

    __tablename__ = "console_sign_in_failures"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(256), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


@dataclass(frozen=True)
class TenantChoice:
    """A tenant the user may work in: the user's own, or a customer's by delegation."""

    id: str
    name: str


@dataclass(frozen=True)
class SessionUser:
    """The user a live session speaks for, in the session's active tenant, with the roles the user
    holds there now: at home the user's own roles; in a customer tenant only the delegated ones."""

    tenant_id: str  # the active tenant
    user_id: str
    username: str
    roles: frozenset[str]
    csrf_token: str
    home_tenant_id: str = ""  # the user's own tenant ("" when the same as tenant_id)
    home_tenant_name: str = ""
    choices: tuple[TenantChoice, ...] = ()  # own tenant first, then the delegated ones; () without any

    @property
    def delegated(self) -> bool:
        """Whether the user works in a customer tenant (by delegation) rather than at home."""
        return bool(self.home_tenant_id) and self.home_tenant_id != self.tenant_id

    @property
    def caller(self) -> str:
        """The name the API knows the user by: ``username`` at home; ``username (home tenant)`` in a
        customer tenant. Usernames hold no spaces, so audit entries, comments and owners written
        there never pass for one of the customer's own users."""
        return f"{self.username} ({self.home_tenant_name})" if self.delegated else self.username

    def principal(self) -> Principal:
        """The user as an API caller in the active tenant: its roles there, nothing more."""
        # the caller name is the caller id (audit entries, comment authors), unique within the tenant
        return Principal(self.tenant_id, self.caller, self.user_id, self.roles, "console", kind="user")
