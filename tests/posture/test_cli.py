"""``wk score``: taking a tenant's snapshot from the shell and reading its history and controls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from watchkeeper.cli import app
from watchkeeper.posture import load_controls


@pytest.fixture
def wk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WK_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_snapshot_then_show_history_and_controls(wk) -> None:  # type: ignore[no-untyped-def]
    assert wk("tenants", "create", "acme").exit_code == 0
    assert wk("workspaces", "create", "main", "--tenant", "acme").exit_code == 0
    taken = wk("score", "snapshot", "--tenant", "acme", "--format", "json")
    assert taken.exit_code == 0, taken.output
    snapshot = json.loads(taken.stdout)
    assert snapshot["currentScore"] == 0  # an empty workspace: nothing to earn points with
    assert snapshot["maxScore"] == sum(c.max_score for c in load_controls())
    history = json.loads(wk("score", "show", "-t", "acme", "-f", "json").stdout)
    assert [h["id"] for h in history] == [snapshot["id"]]
    controls = json.loads(wk("score", "show", "-t", "acme", "--controls", "-f", "json").stdout)
    assert [c["control"] for c in controls] == [c.id for c in load_controls()]
    missing = wk("score", "show", "-t", "nobody")
    assert missing.exit_code == 1
    assert "no tenant 'nobody'" in missing.stderr
