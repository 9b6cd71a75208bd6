"""``wk ingest`` (NDJSON, CSV, Parquet) and ``wk tables``, checked by querying what was written."""

from __future__ import annotations

import gzip
import json
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import Result

Wk = Callable[..., Result]


def rows_of(wk: Wk, query: str, workspace: Path | None = None) -> list[list[object]]:
    args = ["query", "-f", "json", query] + (["--workspace", str(workspace)] if workspace else [])
    result = wk(*args)
    assert result.exit_code == 0, result.output
    rows: list[list[object]] = json.loads(result.stdout)["rows"]
    return rows


def test_ingest_ndjson_creates_a_custom_table(wk: Wk, scratch: Path) -> None:
    source = scratch / "events.ndjson"
    source.write_text('{"Host": "a", "Bytes": 10, "Tags": {"k": 1}}\n\n{"Host": "b", "Bytes": 32}\n')
    result = wk("ingest", str(source), "--table", "Web_CL")
    assert result.exit_code == 0, result.output
    assert "Web_CL: 2 rows" in result.stdout
    assert rows_of(wk, "Web_CL | order by Host asc | project Host, Bytes, Tags") == [
        ["a", 10, {"k": 1}],
        ["b", 32, None],
    ]


def test_ingest_csv_into_a_catalog_table_coerces_types(wk: Wk, scratch: Path) -> None:
    source = scratch / "security.csv"
    source.write_text(
        "TimeGenerated,Computer,EventID\n2025-12-01T10:00:00Z,h1,4625\n2025-12-01T10:05:00Z,h1,4624\n"
    )
    assert wk("ingest", str(source), "-t", "SecurityEvent").exit_code == 0
    rows = rows_of(wk, "SecurityEvent | where EventID == 4625 | project Computer, TimeGenerated")
    assert rows == [["h1", "2025-12-01T10:00:00.000000Z"]]


def test_ingest_parquet_and_gzipped_ndjson(wk: Wk, scratch: Path) -> None:
    pq.write_table(pa.table({"Computer": ["p1", "p2"], "EventID": [4688, 4688]}), scratch / "batch.parquet")
    with gzip.open(scratch / "more.ndjson.gz", "wt") as stream:
        stream.write(json.dumps({"Computer": "g1", "EventID": 1102}) + "\n")
    assert wk("ingest", str(scratch / "batch.parquet"), "-t", "SecurityEvent").exit_code == 0
    assert wk("ingest", str(scratch / "more.ndjson.gz"), "-t", "SecurityEvent").exit_code == 0
    assert rows_of(wk, "SecurityEvent | summarize count() by EventID | order by EventID asc") == [
        [1102, 1],
        [4688, 2],
    ]


def test_ingest_into_a_named_workspace(wk: Wk, scratch: Path) -> None:
    source = scratch / "one.jsonl"
    source.write_text('{"Computer": "z"}\n')
    target = scratch / "elsewhere"
    assert wk("ingest", str(source), "-t", "Syslog", "--workspace", str(target)).exit_code == 0
    assert rows_of(wk, "Syslog | project Computer", workspace=target) == [["z"]]


def test_bad_lines_go_to_ingestion_errors_and_the_rest_is_kept(wk: Wk, scratch: Path) -> None:
    broken = scratch / "broken.ndjson"
    broken.write_text('{"a": 1}\n{"a": \n[1, 2]\n')
    result = wk("ingest", str(broken), "-t", "Broken_CL", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"tables": {"Broken_CL": 1}, "rejected": 2}
    errors = rows_of(
        wk, "IngestionErrors | order by Source asc | project Source, InputFormat, Reason, RawRecord"
    )
    assert [row[0].rsplit("/", 1)[-1] for row in errors] == ["broken.ndjson:2", "broken.ndjson:3"]
    assert {row[1] for row in errors} == {"ndjson"}
    assert errors[0][2].startswith("not JSON")
    assert errors[1][2] == "expected a JSON object, got list"
    assert errors[1][3] == "[1, 2]"


def test_rows_a_table_cannot_hold_are_rejected_with_the_reason(wk: Wk, scratch: Path) -> None:
    mixed = scratch / "mixed.ndjson"
    mixed.write_text('{"Computer": "ok", "EventID": 4624}\n{"Computer": "bad", "EventID": "four"}\n')
    result = wk("ingest", str(mixed), "-t", "SecurityEvent", "-f", "json")
    assert json.loads(result.stdout) == {"tables": {"SecurityEvent": 1}, "rejected": 1}
    assert rows_of(wk, "SecurityEvent | project Computer") == [["ok"]]
    [[table, reason, raw]] = rows_of(wk, "IngestionErrors | project DestinationTable, Reason, RawRecord")
    assert table == "SecurityEvent"
    assert "EventID" in reason
    assert json.loads(raw) == {"Computer": "bad", "EventID": "four"}


def test_nothing_stored_is_exit_1_and_bad_tables_are_refused_up_front(wk: Wk, scratch: Path) -> None:
    good = scratch / "good.ndjson"
    good.write_text('{"a": 1}\n')
    result = wk("ingest", str(good), "-t", "NotACustomTable")
    assert result.exit_code == 1
    assert "_CL" in result.stderr
    result = wk("ingest", str(good), "-t", "SecurityEvent")
    assert result.exit_code == 1
    assert "rejected 1" in result.stdout
    [[reason]] = rows_of(wk, "IngestionErrors | project Reason")
    assert "unknown column(s) a for table SecurityEvent" in reason
    assert "Traceback" not in result.output


def test_generic_formats_need_a_table(wk: Wk, scratch: Path) -> None:
    source = scratch / "events.ndjson"
    source.write_text('{"a": 1}\n')
    result = wk("ingest", str(source))
    assert result.exit_code == 1
    assert "needs --table" in result.stderr


def test_an_unrecognised_file_is_reported(wk: Wk, scratch: Path) -> None:
    source = scratch / "events.log"
    source.write_text("hello\n")
    result = wk("ingest", str(source), "-t", "Log_CL")
    assert result.exit_code == 1
    assert "--input-format" in result.stderr


def test_folders_and_archives_are_read_in_place(wk: Wk, scratch: Path) -> None:
    folder = scratch / "drop"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.ndjson").write_text('{"Computer": "a"}\n')
    with gzip.open(folder / "sub" / "b.jsonl.gz", "wt") as stream:
        stream.write('{"Computer": "b"}\n')
    with zipfile.ZipFile(folder / "c.zip", "w") as archive:
        archive.writestr("inner/c.ndjson", '{"Computer": "c1"}\n{"Computer": "c2"}\n')
        archive.writestr("__MACOSX/._c.ndjson", "junk")
    member = scratch / "d.ndjson"
    member.write_text('{"Computer": "d"}\n')
    with tarfile.open(folder / "d.tar.gz", "w:gz") as archive:
        archive.add(member, arcname="d.ndjson")
    result = wk("ingest", str(folder), "-t", "Syslog", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"tables": {"Syslog": 5}, "rejected": 0}
    assert rows_of(wk, "Syslog | order by Computer asc | project Computer") == [
        ["a"],
        ["b"],
        ["c1"],
        ["c2"],
        ["d"],
    ]


def test_unknown_input_format_lists_the_known_ones(wk: Wk, scratch: Path) -> None:
    source = scratch / "x.ndjson"
    source.write_text("{}\n")
    result = wk("ingest", str(source), "-t", "X_CL", "--input-format", "nope")
    assert result.exit_code == 1
    assert "ndjson" in result.stderr


def test_tables_lists_what_the_workspace_holds(wk: Wk, scratch: Path) -> None:
    empty = wk("tables")
    assert empty.exit_code == 0
    assert "no tables" in empty.stdout
    source = scratch / "three.ndjson"
    source.write_text("".join(json.dumps({"Computer": f"h{i}"}) + "\n" for i in range(3)))
    assert wk("ingest", str(source), "-t", "Syslog").exit_code == 0
    listing = wk("tables")
    assert listing.exit_code == 0
    assert any("Syslog" in line and "3" in line for line in listing.stdout.splitlines())
    assert "SecurityEvent" not in listing.stdout


def test_tables_all_and_columns(wk: Wk) -> None:
    everything = wk("tables", "--all")
    assert everything.exit_code == 0
    assert "SigninLogs" in everything.stdout
    assert "899 tables" in everything.stdout  # the 898 Log Analytics tables and IngestionErrors
    schema = wk("tables", "--columns", "Syslog")
    assert schema.exit_code == 0
    assert any("SyslogMessage" in line and "string" in line for line in schema.stdout.splitlines())
    assert any("TimeGenerated" in line and "datetime" in line for line in schema.stdout.splitlines())
    unknown = wk("tables", "--columns", "Nope")
    assert unknown.exit_code == 1
    assert "unknown table" in unknown.stderr


def test_many_small_files_are_stored_in_few_writes(wk: Wk, scratch: Path) -> None:
    """Files of one format are gathered into large writes (a write per file would cost each file an
    append per table); every row still lands, and Usage shows the one write."""
    folder = scratch / "many"
    folder.mkdir()
    for i in range(30):
        (folder / f"part{i:02}.ndjson").write_text(json.dumps({"Computer": f"h{i}"}) + "\n")
    result = wk("ingest", str(folder), "-t", "Syslog", "-f", "json")
    assert json.loads(result.stdout) == {"tables": {"Syslog": 30}, "rejected": 0}
    assert rows_of(wk, "Syslog | count") == [[30]]
    assert rows_of(
        wk, 'Usage | where DataType == "Syslog" | summarize Writes = count(), Records = sum(Records)'
    ) == [[1, 30]]
