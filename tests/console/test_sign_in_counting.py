"""Wrong passwords are counted one by one even when they arrive at once: on PostgreSQL two
concurrent failed sign-ins used to read the same count and both write it plus one, so a guesser
could try more passwords before the lockout than the limit allows. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tests.state_fixtures import database, unique
from watchkeeper.audit import Actor
from watchkeeper.console import MAX_FAILURES, SignInFailure, sign_in
from watchkeeper.directory import create_tenant, create_user
from watchkeeper.state import Database

__all__ = ["database"]

OPERATOR = Actor("operator", "test", None, None)
NOW = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


def _attempt(database: Database, tenant: str, password: str) -> str | None:
    with database.session() as session:
        return sign_in(session, tenant=tenant, username="guessed", password=password, now=NOW,
                       request_id=None).refusal  # fmt: skip


def test_concurrent_wrong_passwords_each_count_towards_the_lockout(database: Database) -> None:
    name = unique("guessed")
    with database.session() as session:
        tenant = create_tenant(session, name=name, actor=OPERATOR)
        create_user(session, tenant_id=tenant.id, username="guessed", password="a-long-password-1",
                    roles=[], actor=OPERATOR)  # fmt: skip
    attempts = MAX_FAILURES - 1
    with ThreadPoolExecutor(max_workers=attempts) as pool:
        refusals = list(pool.map(lambda _: _attempt(database, name, "wrong-password"), range(attempts)))
    assert all(r is not None and "locked" not in r for r in refusals)
    with database.reading() as session:
        counted = session.get(SignInFailure, (tenant.id, "guessed"))
        assert counted is not None
        assert counted.failures == attempts  # none lost
    locked = _attempt(database, name, "wrong-password")  # the limit-th failure locks the username
    assert locked is not None
    assert "locked" in locked
    assert "locked" in (_attempt(database, name, "a-long-password-1") or "")  # even the right password
