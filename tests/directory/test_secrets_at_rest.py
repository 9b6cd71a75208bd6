"""Client secrets and passwords are stored only as argon2id hashes: the plain text is nowhere in
the database, not in the directory tables, not in the audit log, not in the SQLite files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from tests.state_fixtures import unique
from watchkeeper.audit import Actor
from watchkeeper.directory import AppRegistration, UserAccount, create_app, create_tenant, create_user
from watchkeeper.state import Database

ACTOR = Actor("cli", "operator")
PASSWORD = "Tr0ub4dor&3-never-stored"


def _dump(database: Database) -> str:
    """Every value of every table, as text."""
    tables = MetaData()
    tables.reflect(bind=database.engine)
    lines = []
    with database.engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(select(table)):
                lines.append(" ".join(str(value) for value in row))
    return "\n".join(lines)


def _files(database: Database) -> bytes:
    """The SQLite database file and its write-ahead log, byte for byte (freed pages included)."""
    path = Path(str(make_url(database.url).database))
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def test_secrets_and_passwords_are_stored_only_as_argon2id_hashes(database: Database) -> None:
    with database.session() as session:
        tenant = create_tenant(session, name=unique("t"), actor=ACTOR)
        app = create_app(session, tenant_id=tenant.id, name="collector", roles=["Logs.Ingest"], actor=ACTOR)
        user = create_user(session, tenant_id=tenant.id, username="soc-lead", password=PASSWORD,
                           roles=["AuditLog.Read.All"], actor=ACTOR)  # fmt: skip
    with database.session() as session:
        stored_app = session.get(AppRegistration, app.id)
        stored_user = session.get(UserAccount, user.id)
    assert stored_app is not None
    assert stored_user is not None
    assert stored_app.secret_hash.startswith("$argon2id$")
    assert stored_user.password_hash.startswith("$argon2id$")

    dump = _dump(database)
    assert app.client_id in dump
    assert "soc-lead" in dump
    assert stored_app.secret_hash in dump
    assert app.client_secret not in dump
    assert PASSWORD not in dump
    if database.is_sqlite:
        raw = _files(database)
        assert app.client_id.encode() in raw
        assert app.client_secret.encode() not in raw
        assert PASSWORD.encode() not in raw
