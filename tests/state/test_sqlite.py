"""The embedded state database: SQLite in WAL mode, so readers never wait for the writer and
concurrent writers wait for each other (busy timeout) instead of failing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from watchkeeper.audit import Actor
from watchkeeper.directory import create_tenant
from watchkeeper.state import Database


def test_every_connection_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nested' / 'state.db'}")  # the folder is created
    try:
        database.migrate()
        with database.session() as session:
            create_tenant(session, name="wal", actor=Actor("cli", "operator"))
        connections = [database.engine.connect() for _ in range(3)]  # pooled and fresh ones alike
        try:
            for connection in connections:
                assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
                assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 10_000
                assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        finally:
            for connection in connections:
                connection.close()
        assert (tmp_path / "nested" / "state.db-wal").exists()
    finally:
        database.close()


def test_the_writer_commits_while_a_reader_holds_a_snapshot(tmp_path: Path) -> None:
    """In the rollback-journal mode a reader's open transaction would make the commit fail (busy)."""
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    database.migrate()
    writer, reader = database.engine.raw_connection(), database.engine.raw_connection()
    try:
        for connection in (writer, reader):
            connection.driver_connection.isolation_level = None  # explicit BEGINs
            connection.execute("PRAGMA busy_timeout = 0")  # a wait would show as an error
        count = "SELECT count(*) FROM tenants"
        reader.execute("BEGIN")
        assert reader.execute(count).fetchone() == (0,)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO tenants (id, name, created_at) VALUES ('t', 'w', '2026-01-01')")
        writer.execute("COMMIT")
        assert reader.execute(count).fetchone() == (0,)  # its snapshot
        reader.execute("COMMIT")
        assert reader.execute(count).fetchone() == (1,)
    finally:
        writer.close()
        reader.close()
        database.close()
