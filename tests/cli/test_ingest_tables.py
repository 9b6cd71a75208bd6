"""``wk ingest`` (NDJSON, CSV, Parquet) and ``wk tables``, checked by querying what was written."""

from __future__ import annotations

import gzip
import json
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
    assert "wrote 2 rows to Web_CL" in result.stdout
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


def test_ingest_reports_bad_lines_and_bad_tables(wk: Wk, scratch: Path) -> None:
    broken = scratch / "broken.ndjson"
    broken.write_text('{"a": 1}\n{"a": \n')
    result = wk("ingest", str(broken), "-t", "Broken_CL")
    assert result.exit_code == 1
    assert "broken.ndjson:2" in result.stderr
    good = scratch / "good.ndjson"
    good.write_text('{"a": 1}\n')
    result = wk("ingest", str(good), "-t", "NotACustomTable")
    assert result.exit_code == 1
    assert "_CL" in result.stderr
    result = wk("ingest", str(good), "-t", "SecurityEvent")
    assert result.exit_code == 1
    assert "unknown column" in result.stderr
    assert "Traceback" not in result.output


def test_ingest_needs_a_known_extension(wk: Wk, scratch: Path) -> None:
    source = scratch / "events.log"
    source.write_text("hello\n")
    result = wk("ingest", str(source), "-t", "Log_CL")
    assert result.exit_code == 1
    assert "--format" in result.stderr


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
    assert "898 tables" in everything.stdout
    schema = wk("tables", "--columns", "Syslog")
    assert schema.exit_code == 0
    assert any("SyslogMessage" in line and "string" in line for line in schema.stdout.splitlines())
    assert any("TimeGenerated" in line and "datetime" in line for line in schema.stdout.splitlines())
    unknown = wk("tables", "--columns", "Nope")
    assert unknown.exit_code == 1
    assert "unknown table" in unknown.stderr
