"""A state database that cannot be used fails with a message that says why and never shows the
password of the database URL."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from watchkeeper.state import Database
from watchkeeper.state.db import StateError


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens on it once the probe is closed


def test_an_unreachable_postgresql_server_is_reported_without_the_password() -> None:
    port = _closed_port()
    database = Database(f"postgresql+psycopg://watchkeeper:hunter2-secret@127.0.0.1:{port}/state")
    try:
        with pytest.raises(StateError) as caught:
            database.migrate()
    finally:
        database.close()
    message = str(caught.value)
    assert f"postgresql+psycopg://watchkeeper:***@127.0.0.1:{port}/state" in message
    assert "refused" in message.lower()
    assert "hunter2-secret" not in message
    assert database.display_url == f"postgresql+psycopg://watchkeeper:***@127.0.0.1:{port}/state"


def test_a_file_in_the_way_of_the_sqlite_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("not a folder")
    with pytest.raises(StateError, match=r"cannot create the state database's folder .*var"):
        Database(f"sqlite:///{tmp_path / 'var' / 'state.db'}")
