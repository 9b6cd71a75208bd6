"""Times come back from the state database as they went in: timezone-aware, in UTC, on every
backend (SQLite keeps no offset of its own)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from tests.state_fixtures import unique
from watchkeeper.audit import AuditEntry
from watchkeeper.state import Database


def _entry(at: datetime, action: str) -> AuditEntry:
    return AuditEntry(at=at, actor_kind="cli", actor="operator", action=action, outcome="success")


def _store(database: Database, entry: AuditEntry) -> None:
    with database.session() as session:
        session.add(entry)


def test_an_aware_time_is_stored_in_utc_and_read_back_aware(database: Database) -> None:
    action = unique("t")
    written = datetime(2026, 3, 1, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    _store(database, _entry(written, action))
    with database.session() as session:
        read = session.scalar(select(AuditEntry.at).where(AuditEntry.action == action))
    assert read == written
    assert read is not None
    assert read.tzinfo is not None
    assert read.utcoffset() == timedelta(0)
    assert read.replace(tzinfo=None) == datetime(2026, 3, 1, 8, 30, 15, 123456)


def test_a_naive_time_is_refused(database: Database) -> None:
    action = unique("naive")
    with pytest.raises(StatementError, match="naive datetime cannot be stored"):
        _store(database, _entry(datetime(2026, 3, 1, 10, 30), action))
    with database.session() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all() == []
