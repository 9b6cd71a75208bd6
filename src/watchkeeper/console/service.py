"""Sign-in, session lookup and sign-out for the console, each audited.

Lockout: :data:`MAX_FAILURES` wrong passwords for one username in one tenant lock that username
for :data:`LOCKOUT`; while locked, no password is checked (so guessing cannot go on), and the
count starts again after the lock. A success clears the count. Unknown usernames count the same
way as known ones, so the answers do not tell which usernames exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.console.models import ConsoleSession, SessionUser, SignInFailure, TenantChoice
from watchkeeper.directory import Tenant, UserAccount, UserRead, authenticate_user, find_tenant
from watchkeeper.directory.delegations import delegation_for, delegations_of

__all__ = [
    "CSRF_HEADER",
    "LOCKOUT",
    "MAX_FAILURES",
    "SESSION_COOKIE",
    "SESSION_LIFETIME",
    "SignIn",
    "csrf_matches",
    "find_session",
    "sign_in",
    "sign_out",
    "switch_tenant",
]

SESSION_COOKIE = "wk_console"
CSRF_HEADER = "X-CSRF-Token"
SESSION_LIFETIME = timedelta(hours=8)  # a working day; then the user signs in again
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
WRONG = "The tenant, username or password is not right."
LOCKED = "Too many failed sign-ins: this username is locked for 15 minutes."


@dataclass(frozen=True)
class SignIn:
    """A sign-in's outcome: the new session's cookie token and CSRF token, or why it was refused."""

    token: str | None = None
    csrf_token: str | None = None
    expires_at: datetime | None = None
    refusal: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Whether ``given`` is the session's CSRF token (compared in constant time)."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def sign_in(
    session: Session, *, tenant: str, username: str, password: str, now: datetime, request_id: str | None
) -> SignIn:
    """Check a console user's password in ``tenant`` (id or name) and open a session."""
    found = find_tenant(session, ref=tenant.strip()) if tenant.strip() else None
    if found is None or not 1 <= len(username) <= 256:
        record(session, actor=Actor("anonymous", "console", found.id if found else None, request_id),
               action="console.sign_in", outcome="failure",
               detail={"tenant": tenant[:128], "username": username[:256], "reason": "unknown tenant or username"})  # fmt: skip
        return SignIn(refusal=WRONG)
    failure = session.get(SignInFailure, (found.id, username))
    actor = Actor("anonymous", "console", found.id, request_id)
    if failure is not None and failure.locked_until is not None and failure.locked_until > now:
        record(session, actor=actor, action="console.sign_in", outcome="denied",
               detail={"username": username, "reason": "locked", "lockedUntil": failure.locked_until.isoformat()})  # fmt: skip
        return SignIn(refusal=LOCKED)
    user = authenticate_user(session, tenant_id=found.id, username=username, password=password)
    if user is None:
        return _failed(session, actor, _counted_failures(session, found.id, username), now)
    if failure is not None:
        session.delete(failure)
    return _start(session, user, now, request_id)


def _counted_failures(session: Session, tenant_id: str, username: str) -> SignInFailure:
    """The username's failure count, created if missing and locked until the transaction ends: on
    PostgreSQL, concurrent wrong passwords then count one after the other instead of overwriting
    each other (SQLite's sessions are already serialised)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row = {"tenant_id": tenant_id, "username": username, "failures": 0, "locked_until": None}
    session.execute(insert(SignInFailure).values(**row).on_conflict_do_nothing())
    failure = session.get(SignInFailure, (tenant_id, username), with_for_update=True, populate_existing=True)
    assert failure is not None  # inserted above, or by the transaction it waited for
    return failure


def _failed(session: Session, actor: Actor, failure: SignInFailure, now: datetime) -> SignIn:
    failure.failures += 1
    failure.locked_until = None
    record(session, actor=actor, action="console.sign_in", outcome="failure",
           detail={"username": failure.username, "reason": "wrong password or unknown username",
                   "failures": failure.failures})  # fmt: skip
    if failure.failures < MAX_FAILURES:
        return SignIn(refusal=WRONG)
    failure.failures = 0
    failure.locked_until = now + LOCKOUT
    record(session, actor=actor, action="console.lockout", outcome="denied", target=failure.username,
           detail={"username": failure.username, "lockedUntil": failure.locked_until.isoformat()})  # fmt: skip
    return SignIn(refusal=LOCKED)


def _start(session: Session, user: UserRead, now: datetime, request_id: str | None) -> SignIn:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    # the user's sessions that have run out go when a new one starts
    session.execute(
        delete(ConsoleSession).where(ConsoleSession.user_id == user.id, ConsoleSession.expires_at <= now)
    )
    expires = now + SESSION_LIFETIME
    session.add(ConsoleSession(token_hash=_digest(token), tenant_id=user.tenant_id, user_id=user.id,
                               csrf_token=csrf, created_at=now, expires_at=expires))  # fmt: skip
    record(session, actor=Actor("user", user.username, user.tenant_id, request_id), action="console.sign_in",
           outcome="success", target=user.id, detail={"username": user.username})  # fmt: skip
    return SignIn(token=token, csrf_token=csrf, expires_at=expires)


def find_session(session: Session, *, token: str, now: datetime, settle: bool = True) -> SessionUser | None:
    """The user a session cookie's token speaks for, if the session is live and the user enabled,
    in the session's active tenant. The delegation into a customer tenant is read again each time:
    once revoked, the session is back in the user's own tenant (and, with ``settle``, the session
    row and the audit log say so; without it nothing is written, for read-only sessions)."""
    row = session.get(ConsoleSession, _digest(token))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(UserAccount, row.user_id)
    if user is None or user.disabled or user.tenant_id != row.tenant_id:
        return None
    return _session_user(session, row, user, settle=settle)


def _session_user(session: Session, row: ConsoleSession, user: UserAccount, *, settle: bool) -> SessionUser:
    home = session.get(Tenant, row.tenant_id)
    delegations = delegations_of(session, user_id=user.id)
    choices = tuple(TenantChoice(d.customer_tenant_id, d.customer_tenant) for d in delegations)
    if choices:
        choices = (TenantChoice(row.tenant_id, home.name if home else row.tenant_id), *choices)
    base = SessionUser(row.tenant_id, user.id, user.username, frozenset(user.roles), row.csrf_token,
                       row.tenant_id, home.name if home else "", choices)  # fmt: skip
    active = next((d for d in delegations if d.customer_tenant_id == row.active_tenant_id), None)
    if row.active_tenant_id is not None and active is None and settle:
        record(session, actor=Actor("user", user.username, row.tenant_id, None), action="console.switch_tenant",
               outcome="success", target=row.active_tenant_id,
               detail={"reason": "the delegation was revoked: back in the user's own tenant"})  # fmt: skip
        row.active_tenant_id = None
    if active is None:
        return base
    return replace(base, tenant_id=active.customer_tenant_id, roles=frozenset(active.roles))


def switch_tenant(
    session: Session, *, token: str, tenant_id: str, now: datetime, request_id: str | None
) -> SessionUser | None:
    """Make ``tenant_id`` the session's active tenant: the user's own, or a customer tenant the user
    holds a delegation into now. None (and an audited denial) for any other tenant or a dead
    session; the session stays where it was."""
    user = find_session(session, token=token, now=now)
    if user is None:
        return None
    home = user.home_tenant_id or user.tenant_id
    allowed = tenant_id == home or delegation_for(session, user_id=user.user_id, customer_tenant_id=tenant_id)
    actor = Actor("user", user.username, home, request_id)
    if not allowed:
        refuse_switch(session, user=user, tenant_id=tenant_id, reason="no delegation into that tenant",
                      request_id=request_id)  # fmt: skip
        return None
    row = session.get(ConsoleSession, _digest(token))
    assert row is not None  # find_session found it in this transaction
    row.active_tenant_id = None if tenant_id == home else tenant_id
    for audited in {home, tenant_id}:  # the customer tenant sees who came in; home where its user went
        record(session, actor=actor, action="console.switch_tenant", outcome="success", target=tenant_id,
               tenant_id=audited, detail={"from": user.tenant_id, "to": tenant_id})  # fmt: skip
    return find_session(session, token=token, now=now)


def refuse_switch(
    session: Session, *, user: SessionUser, tenant_id: str, reason: str, request_id: str | None
) -> None:
    """Audit a refused tenant switch (no delegation, or a request without the session's CSRF
    token) in the user's home tenant."""
    home = user.home_tenant_id or user.tenant_id
    record(session, actor=Actor("user", user.username, home, request_id), action="console.switch_tenant",
           outcome="denied", target=tenant_id[:64], detail={"reason": reason, "from": user.tenant_id})  # fmt: skip


def sign_out(session: Session, *, token: str, request_id: str | None) -> SessionUser | None:
    """End a session (its row is deleted); the user it spoke for, if it was live."""
    row = session.get(ConsoleSession, _digest(token))
    if row is None:
        return None
    user = session.get(UserAccount, row.user_id)
    session.delete(row)
    name = user.username if user is not None else row.user_id
    record(session, actor=Actor("user", name, row.tenant_id, request_id), action="console.sign_out",
           outcome="success", target=row.user_id)  # fmt: skip
    return (
        None
        if user is None
        else SessionUser(row.tenant_id, user.id, user.username, frozenset(user.roles), "")
    )
