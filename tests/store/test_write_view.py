"""What near-real-time rules run on: a committed write shown to a scratch workspace as views over its
batches (``WriteViewStore``), results narrowed to the columns a detection reads, and tallies (the count
and time span of a result, for alerts that carry no row values)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from watchkeeper import Workspace
from watchkeeper.schema.catalog import Catalog, ColumnDef, TableDef
from watchkeeper.schema.types import KqlType
from watchkeeper.store.result import QueryTally
from watchkeeper.store.write_view import WriteViewStore

SECURITY = Catalog.sentinel().table("SecurityEvent")
MOMENT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _events(*computers: str, event_id: int = 1102) -> pa.Table:
    return pa.table({
        "TimeGenerated": pa.array([MOMENT] * len(computers), pa.timestamp("us", "UTC")),
        "EventID": pa.array([event_id] * len(computers), pa.int32()),
        "Computer": list(computers),
    })  # fmt: skip


@pytest.fixture
def shown() -> tuple[WriteViewStore, Workspace]:
    view = WriteViewStore()
    return view, Workspace(view)


def test_a_query_sees_exactly_the_write_shown_last(shown: tuple[WriteViewStore, Workspace]) -> None:
    view, workspace = shown
    assert SECURITY is not None
    query = "SecurityEvent | where EventID == 1102 | project Computer, Account, TimeGenerated"
    view.show([(SECURITY, _events("dc1", "dc2"))])
    workspace.tables_changed()
    first = workspace.query(query)
    # columns the batch does not carry are there, typed and empty (a KQL string is never null)
    assert first.rows == [("dc1", "", MOMENT), ("dc2", "", MOMENT)]
    view.show([(SECURITY, _events("dc3"))])
    workspace.tables_changed()
    assert workspace.query(query).rows == [("dc3", "", MOMENT)]
    view.show([])
    workspace.tables_changed()
    assert workspace.query(query).rows == []


def test_custom_tables_of_a_write_are_queryable(shown: tuple[WriteViewStore, Workspace]) -> None:
    view, workspace = shown
    custom = TableDef("Beacons_CL", (ColumnDef("TimeGenerated", KqlType.DATETIME),
                                     ColumnDef("Host_s", KqlType.STRING)))  # fmt: skip
    rows = pa.table({"TimeGenerated": pa.array([MOMENT], pa.timestamp("us", "UTC")), "Host_s": ["h1"]})
    view.show([(custom, rows)])
    workspace.tables_changed()
    assert workspace.query("Beacons_CL | project Host_s").rows == [("h1",)]


def test_a_narrowed_result_keeps_every_row_and_the_columns_asked_for() -> None:
    with Workspace.open(None) as workspace:
        workspace.ingest(
            "SecurityEvent", [{"Computer": f"h{i}", "EventID": 4625, "Account": "a"} for i in range(5)]
        )
        query = "SecurityEvent | where EventID == 4625 | order by Computer asc"
        whole = workspace.query(query)
        narrow = workspace.query(query, columns={"Computer", "NotAColumn"})
        # what the filter reads may stay; the table's other 200-odd columns do not
        assert set(narrow.column_names) == {"Computer", "EventID"}
        assert narrow.to_dicts() == [{k: row[k] for k in narrow.column_names} for row in whole.to_dicts()]
        # nothing asked for that the result has: its first column, so the rows still count
        assert len(workspace.query(query, columns=set()).rows) == 5


def test_a_tally_counts_every_row_and_spans_their_times_past_the_row_limit() -> None:
    with Workspace.open(None) as workspace:
        workspace.limits = replace(workspace.limits, max_rows=3)
        workspace.ingest("SecurityEvent", [
            {"Computer": f"h{i}", "EventID": 4625, "TimeGenerated": MOMENT + timedelta(minutes=i)} for i in range(10)
        ])  # fmt: skip
        query = "SecurityEvent | where EventID == 4625"
        assert workspace.query(query).truncated  # the rows themselves are cut at the limit
        assert workspace.tally(query) == QueryTally(10, MOMENT, MOMENT + timedelta(minutes=9))
        assert workspace.tally("SecurityEvent | where EventID == 1") == QueryTally(0, None, None)
        # a result without a TimeGenerated column is still counted
        assert workspace.tally(query + " | summarize count() by Computer") == QueryTally(10, None, None)
