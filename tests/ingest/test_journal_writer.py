"""A workspace folder's journal and writer: submitted batches become queryable, are stored once
across restarts, survive a failing store, and a store too far behind makes receivers wait."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from watchkeeper import Workspace
from watchkeeper.errors import JournalFull, StoreError
from watchkeeper.ingest.batches import prepare
from watchkeeper.ingest.journal import Journal
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.workspace import JOURNAL_FOLDER

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def beats(first: int, count: int, table: str = "Beat_CL") -> Parsed:
    batch = Parsed()
    for seq in range(first, first + count):
        batch.add(table, {"TimeGenerated": NOW, "Computer": f"h{seq % 3}", "Seq": seq})
    return batch


def count(ws: Workspace, text: str = "Beat_CL | count") -> int:
    return int(ws.query(text).rows[0][0])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def ws(folder: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(folder)
    yield workspace
    workspace.close()


def test_a_submitted_batch_is_acknowledged_from_the_journal_and_stored_by_the_writer(
    ws: Workspace, folder: Path
) -> None:
    tally = ws.submit(beats(0, 5), source="test", input_format="t")
    assert tally.tables == {"Beat_CL": 5}
    assert (folder / JOURNAL_FOLDER).is_dir()
    assert ws.flush(timeout=30)
    assert count(ws) == 5
    assert ws.query("Usage | where DataType == 'Beat_CL' | summarize sum(Records)").rows == [(5,)]
    assert ws.store.journal_position() == 1


def test_many_small_batches_are_stored_in_few_large_writes(ws: Workspace) -> None:
    appends: list[int] = []
    original = ws.store.append

    def counting(table: Any, rows: pa.Table) -> int:
        if table.name == "Beat_CL":
            appends.append(rows.num_rows)
        return original(table, rows)

    ws.store.append = counting  # type: ignore[method-assign]  # observe the store's writes
    ws.submit(beats(0, 1), source="test", input_format="t")
    assert ws.flush(timeout=30)
    with ws.store._lock:  # the store is busy while 200 batches arrive
        for n in range(200):
            ws.submit(beats(1 + n * 10, 10), source="test", input_format="t")
    assert ws.flush(timeout=30)
    assert count(ws) == 2001
    assert len(appends) <= 3
    assert max(appends) >= 1000


def test_a_batch_id_is_stored_once_whether_waiting_or_stored(ws: Workspace) -> None:
    with ws.store._lock:  # first copy still waiting in the journal
        assert not ws.submit(beats(0, 2), source="s", input_format="t", batch_id="req-1").duplicate
        assert ws.submit(beats(0, 2), source="s", input_format="t", batch_id="req-1").duplicate
    assert ws.flush(timeout=30)
    assert ws.submit(beats(0, 2), source="s", input_format="t", batch_id="req-1").duplicate  # and once stored
    assert ws.flush(timeout=30)
    assert count(ws) == 2


def test_entries_received_before_a_crash_are_stored_once_on_the_next_open(folder: Path) -> None:
    Workspace.open(folder).close()  # the workspace exists
    journal = Journal(folder / JOURNAL_FOLDER)  # a receiver journaled three batches, then the process died
    with Workspace.open(None) as scratch:  # typing only
        for n in range(3):
            prepared = prepare(beats(n * 10, 10), scratch._typed, source="s", input_format="t", now=NOW)
            prepared.batch_id = f"b{n}"
            journal.append(prepared)
    journal.close()
    with Workspace.open(folder) as reopened:
        assert count(reopened) == 30  # stored before open returns
        assert reopened.store.journal_position() == 3
    with Workspace.open(folder) as again:
        assert count(again) == 30
        assert again.submit(beats(0, 10), source="s", input_format="t", batch_id="b1").duplicate


def test_an_entry_the_store_refuses_goes_to_ingestion_errors_and_the_others_are_stored(
    ws: Workspace,
) -> None:
    ws.submit(beats(0, 1), source="s", input_format="t")  # Beat_CL.Seq is a long
    assert ws.flush(timeout=30)
    conflicting = Parsed()
    with ws.store._lock:
        ws.submit(beats(1, 2), source="fine", input_format="t")
        conflicting.add("Beat_CL", {"Seq": 5})
        prepared = prepare(conflicting, ws._typed, source="bad", input_format="t", now=NOW)
        # an entry typed against a definition the store cannot take (text into the long column)
        (definition, data) = prepared.parts[0]
        text = data.set_column(data.schema.get_field_index("Seq"), "Seq", pa.array(["not a number"]))
        prepared.parts[0] = (definition, text)
        assert ws._journal is not None
        assert ws._writer is not None
        ws._journal.append(prepared)
        ws._writer.notify()
        ws.submit(beats(3, 2), source="fine", input_format="t")
    assert ws.flush(timeout=30)
    assert count(ws) == 5
    reasons = ws.query("IngestionErrors | where Source == 'bad' | project Reason, DestinationTable").rows
    assert len(reasons) == 1
    assert reasons[0][1] == "Beat_CL"
    assert "could not be stored" in reasons[0][0]


def test_a_failing_store_is_retried_until_it_recovers_and_nothing_is_lost(ws: Workspace) -> None:
    original = ws.store.append
    failures = {"left": 2}

    def flaky(table: Any, rows: pa.Table) -> int:
        # failure injection: a disk that refuses writes for a while cannot be had for real here
        if failures["left"] > 0:
            failures["left"] -= 1
            raise StoreError("disk full", transient=True)
        return original(table, rows)

    ws.store.append = flaky  # type: ignore[method-assign]
    ws.submit(beats(0, 4), source="s", input_format="t")
    assert ws.flush(timeout=60)
    assert count(ws) == 4
    assert ws.query("IngestionErrors | count").rows == [(0,)]


def test_a_store_too_far_behind_refuses_new_batches_with_a_retry_time(folder: Path) -> None:
    ws = Workspace(Workspace.open(folder).store, path=folder, journal=folder / JOURNAL_FOLDER,
                   journal_limit=1, journal_wait=0.2)  # fmt: skip
    try:
        ws.submit(beats(0, 1), source="s", input_format="t")
        assert ws.flush(timeout=30)
        with ws.store._lock:
            ws.submit(beats(1, 1), source="s", input_format="t")
            with pytest.raises(JournalFull) as refused:
                ws.submit(beats(2, 1), source="s", input_format="t")
        assert refused.value.retry_after >= 1
        assert "journal is full" in str(refused.value)
        assert ws.flush(timeout=30)
        ws.submit(beats(2, 1), source="s", input_format="t")  # room again once the writer caught up
        assert ws.flush(timeout=30)
        assert count(ws) == 3
    finally:
        ws.close()


def test_concurrent_batches_creating_a_custom_table_agree_on_its_columns(ws: Workspace) -> None:
    def send(n: int) -> None:
        batch = Parsed()
        batch.add("Mixed_CL", {"Seq": n, f"Only{n % 4}": n, "Label": f"l{n}"})
        ws.submit(batch, source="s", input_format="t")

    with ws.store._lock:  # none of them is stored before all are typed
        threads = [threading.Thread(target=send, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert ws.flush(timeout=30)
    assert ws.query("Mixed_CL | summarize count(), sum(Seq)").rows == [(16, sum(range(16)))]
    columns = {c.name: c.type.value for c in ws.table("Mixed_CL").columns}
    assert {"Only0", "Only1", "Only2", "Only3"} <= columns.keys()
    assert columns["Seq"] == "long"
    assert ws.query("IngestionErrors | count").rows == [(0,)]
