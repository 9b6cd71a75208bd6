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

__all__ = ["ConsoleSession", "SessionUser", "SignInFailure"]


class ConsoleSession(Base):
    """A signed-in console user: valid until ``expires_at`` or sign-out (the row is deleted)."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
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
class SessionUser:
    """The user a live session speaks for, with the roles the user holds now."""

    tenant_id: str
    user_id: str
    username: str
    roles: frozenset[str]
    csrf_token: str

    def principal(self) -> Principal:
        """The user as an API caller: the user's own roles, nothing more."""
        # the username is the caller id (audit entries, comment authors), unique within the tenant
        return Principal(self.tenant_id, self.username, self.user_id, self.roles, "console", kind="user")
