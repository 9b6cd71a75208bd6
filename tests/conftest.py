"""Shared fixtures: real workspaces on the real engines (DuckDB always; chdb when installed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchkeeper import Workspace

# the project's shared material (specs, datasets, KQL corpus): beside the checkout, or WK_SHARED_DIR
SHARED = Path(os.environ.get("WK_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")


def chdb_available() -> bool:
    try:
        import chdb  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def ws() -> Iterator[Workspace]:
    """An in-memory workspace on DuckDB."""
    workspace = Workspace.open(None)
    yield workspace
    workspace.close()


@pytest.fixture(params=["duckdb", "clickhouse"])
def engine_ws(request: pytest.FixtureRequest) -> Iterator[Workspace]:
    """The same in-memory workspace on each engine: DuckDB, and ClickHouse through chdb."""
    if request.param == "duckdb":
        workspace = Workspace.open(None)
    else:
        if not chdb_available():
            pytest.skip("chdb is not installed (pip install 'watchkeeper[clickhouse]')")
        from watchkeeper.store.clickhouse import ChdbEventStore

        workspace = Workspace(ChdbEventStore())
    yield workspace
    workspace.close()
