"""``wk keys list`` and ``wk keys rotate [--retire-previous]``: on the state database the settings
name (WK_DATABASE_URL: SQLite or PostgreSQL) or under ``--data-dir``; rotations are audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from watchkeeper.audit import list_entries
from watchkeeper.cli import app
from watchkeeper.identity import KeyRing
from watchkeeper.state import Database


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in ``tmp_path`` (no watchkeeper.toml) with no WK_* settings of the caller."""
    monkeypatch.chdir(tmp_path)
    for name in ("WK_DATA_DIR", "WK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def wk(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def wk_json(*args: str) -> Any:
    result = wk(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "PRIVATE KEY" not in result.output
    return json.loads(result.stdout)


def test_rotate_and_list_on_the_configured_state_database(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WK_DATABASE_URL", database.url)
    first = KeyRing(database).signing_key()[0]  # the server's first key

    rotated = wk_json("keys", "rotate")
    assert rotated["status"] == "signing"
    assert rotated["retired"] == []
    listed = {key["kid"]: key for key in wk_json("keys", "list")}
    assert listed[rotated["kid"]]["status"] == "signing"
    assert listed[first]["status"] == "verifying"

    retiring = wk_json("keys", "rotate", "--retire-previous")
    assert first in retiring["retired"]
    assert rotated["kid"] in retiring["retired"]
    listed = {key["kid"]: key for key in wk_json("keys", "list")}
    assert [kid for kid, key in listed.items() if key["status"] != "retired"] == [retiring["kid"]]
    assert listed[first]["retiredAt"] is not None
    assert KeyRing(database).signing_key()[0] == retiring["kid"]

    with database.session() as session:
        entries = list_entries(session, tenant_id=None, action="signing_key.create").entries
    audited = {entry.target: entry for entry in entries}
    assert audited[retiring["kid"]].actor_kind == "cli"
    assert sorted(audited[retiring["kid"]].detail["retired"]) == retiring["retired"]
    assert audited[rotated["kid"]].detail == {"retired_previous": False, "retired": []}


def test_keys_live_in_the_data_directory_by_default(scratch: Path) -> None:
    data_dir = scratch / "server-data"
    empty = wk("keys", "list", "--data-dir", str(data_dir))
    assert empty.exit_code == 0
    assert "no signing key yet" in empty.stderr
    rotated = wk_json("keys", "rotate", "--data-dir", str(data_dir))
    assert (data_dir / "state.db").is_file()
    table = wk("keys", "list", "--data-dir", str(data_dir))
    assert table.exit_code == 0
    assert rotated["kid"] in table.stdout
    assert "signing" in table.stdout
    retired = wk("keys", "rotate", "--retire-previous", "--data-dir", str(data_dir))
    assert retired.exit_code == 0
    assert "refused from now on" in retired.stderr


def test_an_unreachable_state_database_is_an_error_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_DATABASE_URL", "postgresql+psycopg://wk:s3cret-pw@127.0.0.1:1/state")
    result = wk("keys", "rotate")
    assert result.exit_code == 1
    assert "could not migrate the state database" in result.stderr
    assert "s3cret-pw" not in result.output
    assert "Traceback" not in result.output
