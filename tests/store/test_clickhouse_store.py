"""The ClickHouse event store on chdb: isolation between stores, result values, limits."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchkeeper import QueryLimits, Workspace
from watchkeeper.ingest import Parsed
from watchkeeper.store.clickhouse import ChdbEventStore

pytest.importorskip("chdb", reason="chdb is not installed (pip install 'watchkeeper[clickhouse]')")


@pytest.fixture
def chdb_ws() -> Iterator[Workspace]:
    workspace = Workspace(ChdbEventStore())
    yield workspace
    workspace.close()


def test_stores_do_not_share_tables(chdb_ws: Workspace) -> None:
    """chdb runs one server per process; each store still sees only its own rows."""
    chdb_ws.ingest("Probe_CL", [{"n": 1}])
    other = Workspace(ChdbEventStore())
    try:
        other.ingest("Probe_CL", [{"n": 2}, {"n": 3}])
        assert chdb_ws.query("Probe_CL | summarize s = sum(n)").rows == [(1,)]
        assert other.query("Probe_CL | summarize s = sum(n)").rows == [(5,)]
    finally:
        other.close()
    assert chdb_ws.query("Probe_CL | count").rows == [(1,)]


def test_closed_store_drops_its_tables() -> None:
    first = Workspace(ChdbEventStore())
    first.ingest("Gone_CL", [{"n": 1}])
    first.close()
    second = Workspace(ChdbEventStore())
    try:
        second.ingest("Gone_CL", [{"n": 7}])
        assert second.query("Gone_CL | project n").rows == [(7,)]
    finally:
        second.close()


def test_predicates_come_back_as_bools(chdb_ws: Workspace) -> None:
    """ClickHouse computes a comparison as UInt8; the result column is KQL bool."""
    result = chdb_ws.query('print a = 1 < 2, b = "x" has "y", c = bool(null)')
    assert result.rows == [(True, False, None)]


def test_row_limit_truncates_and_says_so(chdb_ws: Workspace) -> None:
    result = chdb_ws.query("range x from 1 to 50 step 1", limits=QueryLimits(max_rows=10))
    assert len(result.rows) == 10
    assert result.truncated
    assert "row limit of 10" in result.warnings[0]


def test_outer_join_fills_nulls_not_defaults(chdb_ws: Workspace) -> None:
    query = (
        "datatable(k:string, a:long)['x', 1, 'y', 2]"
        " | join kind=leftouter (datatable(k:string, b:long)['x', 5]) on k | project k, b"
    )
    assert sorted(chdb_ws.query(query).rows) == [("x", 5), ("y", None)]


def test_chdb_write_units_skip_a_unit_delivered_again(chdb_ws: Workspace) -> None:
    batch = Parsed()
    batch.add("Syslog", {"TimeGenerated": datetime(2026, 1, 1, tzinfo=UTC), "Computer": "c"})
    assert chdb_ws.ingest_parsed(batch, source="s", input_format="t", batch_id="u1").tables == {"Syslog": 1}
    assert chdb_ws.ingest_parsed(batch, source="s", input_format="t", batch_id="u1").duplicate
    assert chdb_ws.query("Syslog | count").rows == [(1,)]


_RESTARTED_NODE = """
import json, sys
from datetime import UTC, datetime
from watchkeeper.directory.models import WorkspaceRead
from watchkeeper.runtime import WorkspaceStores
from watchkeeper.settings import Settings

stores = WorkspaceStores(Settings(data_dir=sys.argv[1], events_url="chdb"))
record = WorkspaceRead(id="w-1", tenant_id="t", name="w", folder="workspaces/w", created_at=datetime.now(UTC))
ws = stores.get(record)
if sys.argv[2] == "write":
    ws.ingest("Probe_CL", [{"n": 1, "d": {"a": [1, 2]}}])
print(json.dumps([type(ws.store).__name__, ws.query("Probe_CL | project n, d, t = gettype(d)").rows]))
stores.close()
"""


def test_events_url_chdb_keeps_a_workspace_across_restarts(tmp_path: Path) -> None:
    """events_url=chdb: a server's workspaces live in ClickHouse under the data directory, and a
    restarted process (chdb serves one data path per process) finds their tables and KQL types."""
    answers = [
        subprocess.run([sys.executable, "-c", _RESTARTED_NODE, str(tmp_path), step], capture_output=True,
                       text=True, check=True, timeout=120).stdout.strip().splitlines()[-1]
        for step in ("write", "read")
    ]  # fmt: skip
    expected = ["ChdbEventStore", [[1, {"a": [1, 2]}, "dictionary"]]]
    assert [json.loads(a) for a in answers] == [expected, expected]
    assert (tmp_path / "events.chdb").is_dir()
