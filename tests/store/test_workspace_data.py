"""Writing to and reading from a workspace: coercion, custom tables, persistence, limits."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from watchkeeper import (
    CatalogError,
    IngestError,
    KqlType,
    QueryLimits,
    QueryTimeout,
    RowLimitExceeded,
    Workspace,
)
from watchkeeper.errors import ExternalDataRefused

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_rows_are_coerced_to_the_catalog_types(ws: Workspace) -> None:
    rows = [{"TimeGenerated": "2026-01-01T10:00:00Z", "EventID": "4625", "Computer": "dc1", "Account": None}]
    assert ws.ingest("SecurityEvent", rows) == 1
    result = ws.query("SecurityEvent | project TimeGenerated, EventID, Computer, Account, Type")
    assert result.rows == [(T0 + timedelta(hours=10), 4625, "dc1", "", "SecurityEvent")]
    assert dict(result.columns)["EventID"] is KqlType.INT


def test_a_row_that_cannot_be_coerced_is_rejected_with_its_index_and_nothing_is_written(
    ws: Workspace,
) -> None:
    rows = [{"EventID": 4624}, {"EventID": "not a number"}]
    with pytest.raises(IngestError) as info:
        ws.ingest("SecurityEvent", rows)
    assert info.value.reasons[0][0] == 1
    assert "EventID" in info.value.reasons[0][1]
    assert ws.query("SecurityEvent | count").rows == [(0,)]


def test_unknown_fields_of_a_catalog_table_are_rejected_not_dropped(ws: Workspace) -> None:
    with pytest.raises(IngestError, match="unknown column"):
        ws.ingest("SecurityEvent", [{"EventID": 1, "Bogus": "x"}])


def test_custom_tables_are_created_on_first_write_and_grow(ws: Workspace) -> None:
    ws.ingest("Beacon_CL", [{"Host": "web-1", "Score": 0.5, "Tags": ["a", "b"], "Seen": T0}])
    ws.ingest("Beacon_CL", [{"Host": "web-2", "Port": 443}])
    table = ws.catalog["Beacon_CL"]
    assert [c.name for c in table.columns][:2] == ["TimeGenerated", "Host"]
    assert table.column("Port") is not None
    assert table.column("Port").type is KqlType.LONG
    rows = ws.query("Beacon_CL | order by Host asc | project Host, Score, Tags, Port").rows
    assert rows == [("web-1", 0.5, ["a", "b"], None), ("web-2", None, None, 443)]


def test_writing_to_an_unknown_table_that_is_not_custom_is_an_error(ws: Workspace) -> None:
    with pytest.raises(CatalogError, match="_CL"):
        ws.ingest("NoSuchTable", [{"a": 1}])


def test_arrow_and_pandas_inputs(ws: Workspace) -> None:
    table = pa.table({"TimeGenerated": pa.array([T0], pa.timestamp("us", tz="UTC")), "Computer": ["h1"]})
    assert ws.ingest("Heartbeat", table) == 1
    frame = table.to_pandas()
    assert ws.ingest("Heartbeat", frame) == 1
    assert ws.query("Heartbeat | summarize count() by Computer").rows == [("h1", 2)]


def test_a_workspace_folder_keeps_its_data_and_custom_schemas(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws") as ws:
        ws.ingest("Notes_CL", [{"Text": "hello", "Took": timedelta(seconds=3)}])
    with Workspace.open(tmp_path / "ws") as again:
        assert again.catalog["Notes_CL"].column("Took").type is KqlType.TIMESPAN
        assert again.query("Notes_CL | project Text, Took").rows == [("hello", timedelta(seconds=3))]


def test_querying_a_known_but_empty_table_returns_no_rows(ws: Workspace) -> None:
    assert ws.query("SigninLogs | where ResultType != '0'").rows == []


def test_the_row_limit_cuts_and_says_so(ws: Workspace) -> None:
    result = ws.query("range x from 1 to 100 step 1", limits=QueryLimits(max_rows=10))
    assert len(result.rows) == 10
    assert result.truncated
    assert "row limit of 10" in result.warnings[0]
    with pytest.raises(RowLimitExceeded):
        ws.query("range x from 1 to 100 step 1", limits=QueryLimits(max_rows=10, strict_rows=True))


def test_a_query_over_the_time_limit_is_cancelled(ws: Workspace) -> None:
    slow = "range a from 1 to 100000 step 1 | extend k = 1 | join kind=inner (range b from 1 to 100000 step 1 | extend k = 1) on k | summarize count()"
    with pytest.raises(QueryTimeout, match="time limit"):
        ws.query(slow, limits=QueryLimits(timeout=0.3))


def test_externaldata_reads_only_allowlisted_locations(tmp_path: Path) -> None:
    data = tmp_path / "feed.csv"
    data.write_text("name,score\nalpha,1\nbeta,7\n")
    query = (
        f'externaldata(name:string, score:long)[@"{data}"] with (ignoreFirstRecord=true) | where score > 2'
    )
    with Workspace.open(None) as closed, pytest.raises(ExternalDataRefused):
        closed.query(query)
    with Workspace.open(None) as ws:
        allowed = Workspace(ws.store, external_data_allow=[str(tmp_path)])
        assert allowed.query(query).rows == [("beta", 7)]
        escape = f'externaldata(x:string)[@"{tmp_path}/../etc/passwd"]'
        with pytest.raises(ExternalDataRefused):
            allowed.query(escape)


def test_union_star_reads_the_tables_that_hold_data() -> None:
    """``union *`` is every table of the workspace that holds data (as in a Kusto database), not
    every schema of the catalog: it stays small and quick whatever the catalog's size."""
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    with Workspace.open(None) as ws:
        ws.ingest("SecurityEvent", [{"TimeGenerated": moment, "Computer": "a", "EventID": 4624}])
        ws.ingest("Heartbeat", [{"TimeGenerated": moment, "Computer": "b"}])
        ws.ingest("App_CL", [{"TimeGenerated": moment, "Computer": "c"}])
        result = ws.query("union withsource=Source * | project Source, Computer | order by Computer asc")
        assert result.rows == [("SecurityEvent", "a"), ("Heartbeat", "b"), ("App_CL", "c")]
        [compiled] = ws.translate("union * | count")
        assert set(compiled.tables) == {"SecurityEvent", "Heartbeat", "App_CL"}
        assert ws.query("union S* | count").rows == [(1,)]


def test_the_time_limit_counts_the_time_spent_translating() -> None:
    """A query whose translation alone outlasts the limit is reported as over it, with the limit
    the caller set (not what was left of it for the store)."""
    wide = "print " + ", ".join(f"c{i} = {i} * 2" for i in range(3000))
    with Workspace.open(None) as ws:
        started = time.monotonic()
        ws.translate(wide)
        translating = time.monotonic() - started
        limit = round(translating / 4, 3)
        with pytest.raises(QueryTimeout, match=re.escape(f"time limit of {limit:g} s")):
            ws.query(wide, limits=QueryLimits(timeout=limit))
        assert ws.query(wide, limits=QueryLimits(timeout=60)).rows[0][:2] == (0, 2)
