"""The ingestion journal on its own: entries read back as written, torn tails cut after a crash,
released segments deleted, batch ids recognised while their entries are kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.ingest.batches import IngestTally, PreparedBatch
from watchkeeper.ingest.journal import Journal, encode
from watchkeeper.schema.catalog import Catalog, custom_table
from watchkeeper.schema.types import KqlType
from watchkeeper.store.coerce import to_arrow

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
CUSTOM = custom_table(
    "Beat_CL", [("Computer", KqlType.STRING), ("Seq", KqlType.LONG), ("Bag", KqlType.DYNAMIC)]
)


def batch(seq: int, rows: int = 3, batch_id: str | None = None) -> PreparedBatch:
    """A prepared batch of ``rows`` custom-table rows and one Syslog row."""
    custom = to_arrow(CUSTOM, [{"Computer": f"h{seq}", "Seq": seq * 100 + i, "Bag": {"i": i}} for i in range(rows)],
                      now=NOW)  # fmt: skip
    syslog_table = Catalog.sentinel().require("Syslog")
    syslog = to_arrow(
        syslog_table, [{"Computer": "fw", "SyslogMessage": f"m{seq}", "TimeGenerated": NOW}], now=NOW
    )
    tally = IngestTally(tables={"Beat_CL": rows, "Syslog": 1})
    return PreparedBatch("src", "test", [(CUSTOM, custom), (syslog_table, syslog)], tally, batch_id)


@pytest.fixture
def opened() -> Iterator[Callable[..., Journal]]:
    """Opens journals for a test and closes them after it."""
    journals: list[Journal] = []

    def open_journal(folder: Path, **options: Any) -> Journal:
        journals.append(Journal(folder, **options))
        return journals[-1]

    yield open_journal
    for journal in journals:
        journal.close()


def seqs_of(journal: Journal, after: int = 0) -> list[int]:
    return [e.seq for e in journal.read(after, max_rows=10**9, max_bytes=1 << 40)]


def test_an_entry_reads_back_as_it_was_written(tmp_path: Path, opened: Callable[..., Journal]) -> None:
    journal = opened(tmp_path / "j")
    written = batch(1, batch_id="req-1")
    assert journal.append(written) == 1
    (entry,) = journal.read(0, max_rows=100, max_bytes=1 << 20)
    read = entry.batch
    assert (read.source, read.input_format, read.batch_id) == ("src", "test", "req-1")
    assert read.tally.tables == {"Beat_CL": 3, "Syslog": 1}
    assert [t.name for t, _ in read.parts] == ["Beat_CL", "Syslog"]
    # a custom table carries its definition
    assert [(c.name, c.type) for c in read.parts[0][0].columns] == [
        (c.name, c.type) for c in CUSTOM.stored_columns
    ]
    for (_, back), (_, sent) in zip(read.parts, written.parts, strict=True):
        # columns without a value are left out (the store fills them with nulls); the rest is as sent
        kept = [name for name in sent.column_names if sent.column(name).null_count < sent.num_rows]
        assert sorted(back.column_names) == sorted(kept)
        assert back.select(kept).equals(sent.select(kept))


def test_empty_columns_are_not_written_out(tmp_path: Path, opened: Callable[..., Journal]) -> None:
    wide = Catalog.sentinel().require("SecurityEvent")
    rows = [
        {"TimeGenerated": NOW, "Computer": "dc1", "EventID": 4624, "Account": f"u{i}"} for i in range(2000)
    ]
    data = to_arrow(wide, rows, now=NOW)
    sent = PreparedBatch("src", "test", [(wide, data)], IngestTally(tables={"SecurityEvent": 2000}))
    assert len(encode(sent)) < data.nbytes / 20  # 230 columns, 4 of them with values
    journal = opened(tmp_path / "j")
    journal.append(sent)
    (entry,) = journal.read(0, max_rows=10_000, max_bytes=1 << 30)
    back = entry.batch.parts[0][1]
    kept = [n for n in data.column_names if data.column(n).null_count < data.num_rows]
    assert back.select(kept).equals(data.select(kept))  # text columns of empty strings come back as such


def test_reading_takes_whole_entries_up_to_the_row_budget_and_always_one(
    tmp_path: Path, opened: Callable[..., Journal]
) -> None:
    journal = opened(tmp_path / "j")
    for n in range(1, 6):
        journal.append(batch(n, rows=4))  # 5 rows per entry
    assert [e.seq for e in journal.read(0, max_rows=12, max_bytes=1 << 30)] == [1, 2]
    assert [e.seq for e in journal.read(2, max_rows=1, max_bytes=1 << 30)] == [3]  # one even when over
    assert seqs_of(journal, after=3) == [4, 5]


def test_a_torn_last_entry_is_cut_and_numbering_goes_on(
    tmp_path: Path, opened: Callable[..., Journal]
) -> None:
    folder = tmp_path / "j"
    journal = opened(folder)
    for n in range(1, 4):
        journal.append(batch(n))
    journal.close()
    (segment,) = folder.glob("*.wkj")
    size = segment.stat().st_size
    with open(segment, "r+b") as stream:  # a crash in the middle of writing entry 3
        stream.truncate(size - 10)
    reopened = opened(folder)
    assert seqs_of(reopened) == [1, 2]
    assert reopened.append(batch(9)) == 3
    assert seqs_of(opened(folder)) == [1, 2, 3]


def test_released_entries_are_forgotten_and_their_segments_deleted(
    tmp_path: Path, opened: Callable[..., Journal]
) -> None:
    folder = tmp_path / "j"
    journal = opened(folder, segment_bytes=1)  # every entry in a segment of its own
    for n in range(1, 5):
        journal.append(batch(n, batch_id=f"b{n}"))
    assert len(list(folder.glob("*.wkj"))) == 4
    assert journal.pending()[0] == 4
    journal.release(3)
    assert len(list(folder.glob("*.wkj"))) == 1  # entry 4's segment is still being written
    assert journal.pending()[0] == 1
    assert not journal.contains("b2")
    assert journal.contains("b4")
    assert seqs_of(journal) == [4]


def test_reopening_offers_only_what_the_store_has_not_recorded(
    tmp_path: Path, opened: Callable[..., Journal]
) -> None:
    folder = tmp_path / "j"
    journal = opened(folder, segment_bytes=1)
    for n in range(1, 5):
        journal.append(batch(n, batch_id=f"b{n}"))
    journal.close()
    reopened = opened(folder, committed=2, segment_bytes=1)  # the store recorded position 2
    assert seqs_of(reopened) == [3, 4]
    assert reopened.last_seq == 4
    assert not reopened.contains("b1")
    assert reopened.contains("b3")
    assert len(list(folder.glob("*.wkj"))) == 2  # the stored entries' segments are gone


def test_a_batch_id_is_taken_once(tmp_path: Path, opened: Callable[..., Journal]) -> None:
    journal = opened(tmp_path / "j")
    assert journal.append(batch(1, batch_id="req")) == 1
    assert journal.append(batch(1, batch_id="req")) is None
    stored_before = {"old"}
    assert journal.append(batch(2, batch_id="old"), unless=stored_before.__contains__) is None
    assert journal.append(batch(3)) == 2  # no id: nothing to compare
    assert journal.append(batch(3)) == 3


def test_damage_before_the_last_segment_is_kept_aside(tmp_path: Path, opened: Callable[..., Journal]) -> None:
    folder = tmp_path / "j"
    journal = opened(folder, segment_bytes=1)
    for n in range(1, 4):
        journal.append(batch(n))
    journal.close()
    first = sorted(folder.glob("*.wkj"))[0]
    data = bytearray(first.read_bytes())
    data[-5] ^= 0xFF  # a flipped bit in entry 1's payload
    first.write_bytes(bytes(data))
    reopened = opened(folder, segment_bytes=1)
    assert seqs_of(reopened) == [2, 3]
    assert Path(f"{first}.damaged").stat().st_size == len(data)


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 20), min_size=1, max_size=8), cut=st.floats(0, 1))
def test_after_a_crash_at_any_byte_exactly_the_whole_entries_before_it_remain(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], cut: float
) -> None:
    folder = tmp_path_factory.mktemp("j")
    journal = Journal(folder, durable=False)
    ends = []
    for n, rows in enumerate(sizes, start=1):
        journal.append(batch(n, rows=rows))
        ends.append(sum(len(encode(batch(k, rows=r))) + 20 for k, r in enumerate(sizes[:n], start=1)))
    journal.close()
    (segment,) = folder.glob("*.wkj")
    at = int(segment.stat().st_size * cut)
    with open(segment, "r+b") as stream:
        stream.truncate(at)
    survivors = [n for n, end in enumerate(ends, start=1) if end <= at]
    reopened = Journal(folder, durable=False)
    try:
        assert seqs_of(reopened) == survivors
        assert [e.batch.rows for e in reopened.read(0, max_rows=10**9, max_bytes=1 << 40)] == [
            sizes[n - 1] + 1 for n in survivors
        ]
    finally:
        reopened.close()
