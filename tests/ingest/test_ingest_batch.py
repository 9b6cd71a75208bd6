"""``flows.ingest_batch``: what receivers call to store a batch; it is committed and audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from watchkeeper.audit import Actor, list_entries
from watchkeeper.directory import create_tenant, create_workspace
from watchkeeper.flows import ingest_batch
from watchkeeper.ingest import Parsed
from watchkeeper.ingest.parsers.base import DESTINATION
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    made = Runtime(Settings(data_dir=tmp_path))
    yield made
    made.close()


def test_a_batch_is_stored_rejections_kept_and_the_write_audited(runtime: Runtime) -> None:
    actor = Actor("system", "tests")
    with runtime.database.session() as session:
        tenant = create_tenant(session, name="t", actor=actor)
        workspace = create_workspace(session, tenant_id=tenant.id, name="w", actor=actor)
    batch = Parsed()
    batch.add("Syslog", {"TimeGenerated": WHEN, "Computer": "h1", "SyslogMessage": "hello"})
    batch.add(DESTINATION, {"TimeGenerated": WHEN, "Note": "custom"})
    batch.add(DESTINATION, {"TimeGenerated": "not a time", "Note": "bad"})
    batch.reject("peer:1", b"garbage", "not syslog")
    app = Actor("app", "client-1", tenant.id)
    tally = ingest_batch(
        runtime, app, workspace, batch, source="peer", input_format="test", destination="Notes_CL"
    )
    assert tally.tables == {"Syslog": 1, "Notes_CL": 1}
    assert tally.rejected == 2
    store = runtime.workspaces.get(workspace)
    assert store.flush(timeout=30)  # acknowledged from the journal; the writer stores it moments later
    assert store.query("Notes_CL | project Note").rows == [("custom",)]
    reasons = {row[0] for row in store.query("IngestionErrors | project Reason").rows}
    assert reasons == {"column TimeGenerated (datetime): not a datetime: 'not a time'", "not syslog"}
    with runtime.database.session() as session:
        [entry] = list_entries(session, tenant_id=tenant.id, action="ingest.batch").entries
    assert (entry.outcome, entry.target) == ("success", workspace.id)
    assert entry.detail == {
        "source": "peer",
        "format": "test",
        "tables": {"Syslog": 1, "Notes_CL": 1},
        "rejected": 2,
    }


def test_declared_column_types_hold_when_a_first_batch_has_no_values() -> None:
    from watchkeeper import KqlType, Workspace

    batch = Parsed()
    batch.declare("Conn_CL", {"duration": KqlType.REAL, "bytes": KqlType.LONG})
    batch.add("Conn_CL", {"TimeGenerated": WHEN, "uid": "C1", "duration": None, "bytes": None})
    with Workspace.open(None) as ws:
        ws.ingest_parsed(batch, source="s", input_format="zeek")
        types = dict(ws.query("Conn_CL | getschema | project ColumnName, ColumnType").rows)
        assert (types["duration"], types["bytes"], types["uid"]) == ("real", "long", "string")
        later = Parsed()
        later.add("Conn_CL", {"TimeGenerated": WHEN, "uid": "C2", "duration": 1.5, "bytes": 10})
        assert ws.ingest_parsed(later, source="s", input_format="zeek").tables == {"Conn_CL": 1}
        assert ws.query("Conn_CL | summarize sum(bytes), max(duration)").rows == [(10, 1.5)]


def test_a_batch_delivered_twice_is_stored_once() -> None:
    from watchkeeper import Workspace

    def batch() -> Parsed:
        made = Parsed()
        made.add("Syslog", {"TimeGenerated": WHEN, "Computer": "once"})
        return made

    with Workspace.open(None) as ws:
        first = ws.ingest_parsed(batch(), source="s", input_format="t", batch_id="req-1")
        again = ws.ingest_parsed(batch(), source="s", input_format="t", batch_id="req-1")
        other = ws.ingest_parsed(batch(), source="s", input_format="t", batch_id="req-2")
        assert (first.tables, first.duplicate) == ({"Syslog": 1}, False)
        assert (again.tables, again.duplicate) == ({}, True)
        assert other.tables == {"Syslog": 1}
        assert ws.query("Syslog | count").rows == [(2,)]


def test_a_batch_that_fails_leaves_nothing_behind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from watchkeeper import Workspace
    from watchkeeper.errors import CatalogError

    failing = Parsed()
    failing.add("Syslog", {"TimeGenerated": WHEN, "Computer": "first"})
    failing.add("New_CL", {"TimeGenerated": WHEN, "Field": "x"})
    failing.add("NotACatalogTable", {"TimeGenerated": WHEN})
    with Workspace.open(tmp_path / "ws") as ws:
        with pytest.raises(CatalogError):
            ws.ingest_parsed(failing, source="s", input_format="t", batch_id="req-9")
        assert ws.query("Syslog | count").rows == [(0,)]
        assert ws.catalog.table("New_CL") is None
        # the id was not taken: the batch can be delivered again once it can be stored
        retry = Parsed()
        retry.add("Syslog", {"TimeGenerated": WHEN, "Computer": "first"})
        assert ws.ingest_parsed(retry, source="s", input_format="t", batch_id="req-9").tables == {"Syslog": 1}
    with Workspace.open(tmp_path / "ws") as reopened:
        assert reopened.query("Syslog | project Computer").rows == [("first",)]
        again = reopened.ingest_parsed(retry, source="s", input_format="t", batch_id="req-9")
        assert again.duplicate


def test_each_stored_batch_leaves_usage_rows_per_table() -> None:
    from datetime import timedelta

    from watchkeeper import Workspace

    now = datetime.now(UTC)
    batch = Parsed()
    for age in (10, 20, 30):
        batch.add("Syslog", {"TimeGenerated": now - timedelta(seconds=age), "Computer": "h"})
    batch.reject("feed:7", b"??", "not syslog")
    with Workspace.open(None) as ws:
        ws.ingest_parsed(batch, source="feed", input_format="syslog", batch_id="b1")
        ws.ingest_parsed(batch, source="feed", input_format="syslog", batch_id="b1")  # a duplicate: no usage
        rows = ws.query(
            "Usage | project DataType, Records, StartTime, EndTime, AvgLatencyInSeconds, IsBillable, SourceSystem"
            " | order by DataType asc"
        ).rows
    (errors, syslog) = rows
    assert errors[:2] == ("IngestionErrors", 1)
    assert errors[5] is False
    assert syslog[:2] == ("Syslog", 3)
    assert (syslog[2], syslog[3]) == (now - timedelta(seconds=30), now - timedelta(seconds=10))
    assert 20 <= syslog[4] < 80  # event to queryable: about 20 s on average, plus this test's own time
    assert syslog[6] == "syslog"


def test_a_custom_tables_time_generated_is_a_datetime_even_from_text() -> None:
    from watchkeeper import KqlType, Workspace

    batch = Parsed()
    batch.add("Text_CL", {"TimeGenerated": "2026-01-01T00:00:00Z", "Note": "n"})
    with Workspace.open(None) as ws:
        ws.ingest_parsed(batch, source="s", input_format="ndjson")
        assert ws.catalog.table("Text_CL").column("TimeGenerated").type is KqlType.DATETIME
        assert ws.query("Text_CL | project TimeGenerated").rows == [(WHEN,)]
        [[records, start]] = ws.query("Usage | project Records, StartTime").rows
        assert (records, start) == (1, WHEN)
