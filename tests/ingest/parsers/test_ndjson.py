"""The generic NDJSON parser reads lines in blocks; a block with a line that is not a JSON object
is read line by line, so each bad line is rejected on its own with its line number."""

from __future__ import annotations

import io

from watchkeeper.ingest.parsers.base import BATCH_ROWS, DESTINATION
from watchkeeper.ingest.parsers.generic import NdjsonParser


def _parse(data: bytes) -> tuple[list[dict[str, object]], list[tuple[str, str]], list[int]]:
    batches = list(NdjsonParser().parse(io.BytesIO(data), "events.ndjson"))
    rows = [row for batch in batches for row in batch.tables.get(DESTINATION, [])]
    rejected = [(r.source, r.reason) for batch in batches for r in batch.rejected]
    return rows, rejected, [batch.rows + len(batch.rejected) for batch in batches]


def test_bad_lines_are_rejected_by_number_and_the_rest_kept() -> None:
    data = b'{"n": 1}\n\n{"n": \n[1, 2]\n  \n{"n": 6}\n{"s": "\xff"}\n{"n": 8}'
    rows, rejected, _ = _parse(data)
    assert rows == [{"n": 1}, {"n": 6}, {"n": 8}]
    assert [where for where, _ in rejected] == ["events.ndjson:3", "events.ndjson:4", "events.ndjson:7"]
    assert rejected[0][1].startswith("not JSON:")
    assert rejected[1][1] == "expected a JSON object, got list"
    assert rejected[2][1].startswith("not JSON:")


def test_line_numbers_and_batch_bounds_hold_across_blocks() -> None:
    lines = [b'{"n": %d}\n' % i for i in range(1, BATCH_ROWS * 2 + 11)]
    lines[BATCH_ROWS + 4] = b'{"n": oops}\n'  # line BATCH_ROWS + 5
    lines[BATCH_ROWS * 2 + 2] = b"\n"  # a blank line is neither a row nor a rejection
    rows, rejected, sizes = _parse(b"".join(lines))
    assert sizes == [BATCH_ROWS, BATCH_ROWS, 9]  # the blank line is not counted
    assert [where for where, _ in rejected] == [f"events.ndjson:{BATCH_ROWS + 5}"]
    assert len(rows) == BATCH_ROWS * 2 + 10 - 2
    assert rows[-1] == {"n": BATCH_ROWS * 2 + 10}
    assert {"n": BATCH_ROWS + 5} not in rows


def test_an_empty_source_gives_an_empty_batch() -> None:
    assert _parse(b"") == ([], [], [0])
