"""CLI tests run in a scratch folder with their own data directory, never the checkout's ./var."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from watchkeeper.cli import app


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in ``tmp_path`` with ``WK_DATA_DIR`` pointing into it."""
    monkeypatch.chdir(tmp_path)
    for name in ("WK_WORKSPACE", "WK_QUERY_ROW_LIMIT", "WK_QUERY_TIMEOUT", "WK_HOST", "WK_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WK_DATA_DIR", str(tmp_path / "var"))
    return tmp_path


class Wk:
    """``wk`` invoked in-process; returns click's ``Result`` (``exit_code``, ``stdout``, ``stderr``)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        return self.runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def wk() -> Wk:
    return Wk()
