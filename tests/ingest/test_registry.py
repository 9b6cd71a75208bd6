"""Parsers are found by name or by sniffing, through the ``watchkeeper.parsers`` entry points."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from watchkeeper.errors import InvalidRequestError
from watchkeeper.ingest import Parser, detect_parser, parser_named, registered_parsers
from watchkeeper.ingest.parsers.base import BATCH_ROWS, DESTINATION, RAW_LIMIT, Parsed, Rejected


def test_every_registered_parser_is_a_documented_parser() -> None:
    parsers = registered_parsers()
    assert {"ndjson", "csv", "parquet"} <= set(parsers)
    for name, parser in parsers.items():
        assert isinstance(parser, Parser)
        assert parser.name == name
        assert parser.tables, f"{name} documents no tables"
        assert type(parser).__doc__, f"{name} has no docstring"


def test_generic_formats_are_tried_last() -> None:
    names = list(registered_parsers())
    generic = [n for n, p in registered_parsers().items() if DESTINATION in p.tables]
    assert names[-len(generic) :] == generic


def test_sniffing_picks_the_format() -> None:
    parquet = io.BytesIO()
    pq.write_table(pa.table({"a": [1]}), parquet)
    assert detect_parser(parquet.getvalue()[:64], "upload.bin") is parser_named("parquet")
    assert detect_parser(b'{"a": 1}\n', "events.txt") is parser_named("ndjson")
    assert detect_parser(b"a,b\n1,2\n", "events.csv.gz") is parser_named("csv")
    assert detect_parser(b"hello world\n", "notes.txt") is None


def test_an_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(InvalidRequestError, match=r"known: .*ndjson"):
        parser_named("no-such-format")


def test_parsers_stream_in_bounded_batches() -> None:
    lines = b"".join(b'{"n": %d}\n' % i for i in range(BATCH_ROWS * 2 + 5))
    batches = list(parser_named("ndjson").parse(io.BytesIO(lines), "big.ndjson"))
    assert [b.rows for b in batches] == [BATCH_ROWS, BATCH_ROWS, 5]
    assert batches[2].tables[DESTINATION][-1] == {"n": BATCH_ROWS * 2 + 4}


def test_csv_and_parquet_rows_keep_their_types() -> None:
    csv_rows = [row for batch in parser_named("csv").parse(io.BytesIO(b"a,b\n1,x\n2,y\n"), "t.csv")
                for row in batch.tables[DESTINATION]]  # fmt: skip
    assert csv_rows == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"n": [1.5, None]}), buffer)
    buffer.seek(0)
    [batch] = list(parser_named("parquet").parse(buffer, "t.parquet"))
    assert batch.tables[DESTINATION] == [{"n": 1.5}, {"n": None}]


def test_unreadable_csv_and_parquet_are_rejected_not_raised() -> None:
    [csv] = list(parser_named("csv").parse(io.BytesIO(b"a,b\n1,2,3\n"), "bad.csv"))
    assert csv.rows == 0
    assert csv.rejected[0].reason.startswith("not readable as CSV")
    [parquet] = list(parser_named("parquet").parse(io.BytesIO(b"PAR1 but not really"), "bad.parquet"))
    assert parquet.rejected[0].source == "bad.parquet"


def test_rejections_keep_a_bounded_raw_record() -> None:
    batch = Parsed()
    batch.reject("f:1", b"\xff" + b"x" * (RAW_LIMIT * 2), "why")
    kept = batch.rejected[0]
    assert kept.raw.startswith("\ufffd")
    assert kept.raw.endswith(f"[cut: {RAW_LIMIT * 2 + 1} characters]")
    assert Rejected.of("s", "short", "r").raw == "short"
