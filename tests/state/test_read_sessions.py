"""Read-only state sessions: they see committed data, never wait for a writer (on SQLite one holding
the write lock), and refuse to write, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from tests.state_fixtures import unique
from watchkeeper.audit import Actor
from watchkeeper.directory import Tenant, create_tenant
from watchkeeper.state import Database
from watchkeeper.state.db import StateError

OPERATOR = Actor("operator", "test", None, None)


def test_a_read_only_session_sees_committed_rows_and_refuses_writes(database: Database) -> None:
    name = unique("reader")
    with database.session() as session:
        create_tenant(session, name=name, actor=OPERATOR)
    with database.reading() as session:
        assert session.scalars(select(Tenant.name).where(Tenant.name == name)).all() == [name]
    with pytest.raises(StateError, match="read-only"), database.reading() as session:
        create_tenant(session, name=unique("sneaky"), actor=OPERATOR)
    with database.session() as session:  # the connection it used writes again in a plain session
        create_tenant(session, name=unique("writer"), actor=OPERATOR)


def test_a_reader_does_not_wait_for_a_writer_holding_its_transaction(database: Database) -> None:
    before, during = unique("before"), unique("during")
    with database.session() as session:
        create_tenant(session, name=before, actor=OPERATOR)
    seen: list[list[str]] = []
    waited: list[float] = []

    def read() -> None:
        started = time.monotonic()
        with database.reading() as session:
            names = select(Tenant.name).where(Tenant.name.in_([before, during]))
            seen.append(list(session.scalars(names)))
        waited.append(time.monotonic() - started)

    with database.session() as session:
        create_tenant(session, name=during, actor=OPERATOR)  # written, not yet committed
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=database.busy_timeout)
    assert seen == [[before]]  # the snapshot before the writer's commit
    assert waited[0] < 1.0
