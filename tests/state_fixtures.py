"""The state database on each backend, for every test package that needs one.

``database`` is a migrated :class:`Database` on SQLite (a temporary file) and on PostgreSQL (a fresh
database created through ``WK_TEST_POSTGRES_URL`` for the test module and dropped after it; `.ci/run`
starts a local server and sets the URL). One database per module keeps the suite fast: tests in a
module share it, so each creates its own tenants (``unique``) instead of expecting an empty one.

A package uses it by importing it into its conftest: ``from tests.state_fixtures import database``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from watchkeeper.state import Database

__all__ = ["POSTGRES_SKIP", "admin_url", "database", "postgres_database", "unique"]

POSTGRES_SKIP = "set WK_TEST_POSTGRES_URL (.ci/run does) to run the state tests on PostgreSQL"


def unique(prefix: str) -> str:
    """A name no other test uses (tests of a module share its database)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def admin_url() -> str | None:
    """The PostgreSQL URL of a role that may create databases, or None when none is configured."""
    return os.environ.get("WK_TEST_POSTGRES_URL") or None


@contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for ``label`` (yields its URL), dropped afterwards."""
    admin = admin_url()
    if admin is None:
        pytest.skip(POSTGRES_SKIP)
    name = f"wk_{re.sub(r'[^a-z0-9]+', '_', label.lower())[-40:]}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    quoted = engine.dialect.identifier_preparer.quote(name)
    try:
        with engine.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {quoted}"))
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A migrated state database, one per test module and backend."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('state') / 'state.db'}"
        else:
            url = stack.enter_context(postgres_database(request.module.__name__))
        db = Database(url)
        stack.callback(db.close)  # before the PostgreSQL database is dropped
        db.migrate()
        yield db
