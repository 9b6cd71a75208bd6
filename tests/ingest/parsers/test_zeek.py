"""Zeek logs (TSV and JSON) into Zeek_<path>_CL tables, over the WRCCDC 2018 recordings
(brimdata/zed-sample-data, CC-BY-SA-4.0: read from the shared datasets, not copied): every file's
records arrive, both copies of a log make the same table, and KQL answers what the raw files say."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import KqlType, Workspace
from watchkeeper.ingest.parsers.base import BATCH_ROWS, Rejected
from watchkeeper.ingest.parsers.zeek import ZeekParser

ZEEK = SHARED / "datasets" / "network" / "zeek-wrccdc2018"
pytestmark = pytest.mark.skipif(not ZEEK.is_dir(), reason=f"the Zeek recordings are not at {ZEEK}")

LOGS = sorted(p.name.removesuffix(".log.gz") for p in (ZEEK / "zeek-default").glob("*.log.gz"))


def tsv_file(log: str) -> Path:
    return ZEEK / "zeek-default" / f"{log}.log.gz"


def json_file(log: str) -> Path:
    return ZEEK / "zeek-json" / f"{log}.json.gz"


def parse(path: Path) -> tuple[dict[str, list[dict[str, Any]]], list[Rejected]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    rejected: list[Rejected] = []
    with gzip.open(path) as stream:
        for batch in ZeekParser().parse(stream, str(path)):
            for table, rows in batch.tables.items():
                tables.setdefault(table, []).extend(rows)
            rejected.extend(batch.rejected)
    return tables, rejected


def parse_bytes(data: bytes, source: str) -> tuple[dict[str, list[dict[str, Any]]], list[Rejected]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    rejected: list[Rejected] = []
    for batch in ZeekParser().parse(io.BytesIO(data), source):
        for table, rows in batch.tables.items():
            tables.setdefault(table, []).extend(rows)
        rejected.extend(batch.rejected)
    return tables, rejected


def raw_lines(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [line.rstrip("\n") for line in stream if line.strip()]


def tsv_records(log: str) -> list[dict[str, str]]:
    """The TSV file's data lines as field -> raw text, read with nothing but str.split."""
    lines = raw_lines(tsv_file(log))
    fields = next(line for line in lines if line.startswith("#fields\t")).split("\t")[1:]
    return [dict(zip(fields, line.split("\t"), strict=True)) for line in lines if not line.startswith("#")]


def json_records(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw_lines(json_file(log))]


@pytest.fixture(scope="module")
def parsed() -> dict[tuple[str, str], tuple[dict[str, list[dict[str, Any]]], list[Rejected]]]:
    found = {}
    for log in LOGS:
        found["tsv", log] = parse(tsv_file(log))
        found["json", log] = parse(json_file(log))
    return found


def _workspace(kind: str) -> Iterator[Workspace]:
    """Every log's file stored as ``wk ingest`` stores it (batch by batch, declared types kept)."""
    workspace = Workspace.open(None)
    for log in LOGS:
        path = tsv_file(log) if kind == "tsv" else json_file(log)
        with gzip.open(path) as stream:
            for batch in ZeekParser().parse(stream, str(path)):
                workspace.ingest_parsed(batch, source=str(path), input_format="zeek")
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def tsv_ws() -> Iterator[Workspace]:
    yield from _workspace("tsv")


@pytest.fixture(scope="module")
def json_ws() -> Iterator[Workspace]:
    yield from _workspace("json")


def test_labels_list_every_log_of_the_recording() -> None:
    with (ZEEK / "labels.csv").open() as labels:
        listed = {row["log"] for row in csv.DictReader(labels)}
    assert listed == set(LOGS)
    assert len(LOGS) == 16


@pytest.mark.parametrize("log", LOGS)
def test_every_record_of_both_copies_becomes_a_row_of_its_log_table(parsed: dict[Any, Any], log: str) -> None:
    with (ZEEK / "labels.csv").open() as labels:
        expected = {row["file"]: int(row["rows"]) for row in csv.DictReader(labels)}
    tsv_count = sum(1 for line in raw_lines(tsv_file(log)) if not line.startswith("#"))
    json_count = len(raw_lines(json_file(log)))
    assert tsv_count == json_count == expected[f"zeek-default/{log}.log.gz"]
    for kind, count in (("tsv", tsv_count), ("json", json_count)):
        tables, rejected = parsed[kind, log]
        assert rejected == []
        assert {table: len(rows) for table, rows in tables.items()} == {f"Zeek_{log}_CL": count}


def test_tsv_and_json_copies_make_the_same_tables(tsv_ws: Workspace, json_ws: Workspace) -> None:
    for log in LOGS:
        table = f"Zeek_{log}_CL"
        tsv_columns = [(c.name, c.type) for c in tsv_ws.catalog.table(table).columns]
        json_columns = [(c.name, c.type) for c in json_ws.catalog.table(table).columns]
        assert tsv_columns == json_columns, table
        # Zeek's types hold even for a column empty in every record (notice's remote_location_*)
        assert dict(tsv_columns).get("remote_location_latitude", KqlType.REAL) is KqlType.REAL
        counts = [ws.query(f"{table} | count").rows[0][0] for ws in (tsv_ws, json_ws)]
        assert counts[0] == counts[1] > 0


def _same(tsv_value: Any, json_value: Any) -> bool:
    if isinstance(tsv_value, float) and isinstance(json_value, float):
        return abs(tsv_value - json_value) < 1e-6  # TSV writes 6 decimals, JSON the whole double
    # TSV writes an empty set and a set of one empty string alike, as (empty)
    return tsv_value == json_value or (tsv_value == [] and json_value == [""])


def test_tsv_and_json_copies_agree_value_for_value(parsed: dict[Any, Any]) -> None:
    compared = 0
    for log in LOGS:
        tsv_rows = parsed["tsv", log][0][f"Zeek_{log}_CL"]
        json_rows = parsed["json", log][0][f"Zeek_{log}_CL"]
        for number, (tsv_row, json_row) in enumerate(zip(tsv_rows, json_rows, strict=True), start=1):
            assert list(tsv_row) == list(json_row), (log, number)
            differing = {k: (v, json_row[k]) for k, v in tsv_row.items() if not _same(v, json_row[k])}
            assert differing == {}, (log, number)
            compared += 1
    assert compared == 6086


def test_columns_carry_zeek_types(tsv_ws: Workspace) -> None:
    types = {c.name: c.type.value for c in tsv_ws.catalog.table("Zeek_x509_CL").columns}
    assert types["TimeGenerated"] == types["ts"] == types["certificate_not_valid_after"] == "datetime"
    assert types["certificate_key_length"] == "long"
    assert types["basic_constraints_ca"] == "bool"
    assert types["san_dns"] == "dynamic"
    assert types["certificate_subject"] == "string"
    notice = {c.name: c.type.value for c in tsv_ws.catalog.table("Zeek_notice_CL").columns}
    assert notice["id_orig_h"] == "string"
    assert notice["id_resp_p"] == "long"
    assert notice["suppress_for"] == "real"
    assert notice["actions"] == "dynamic"


def test_kql_counts_notices_by_type_as_the_tsv_file_does(tsv_ws: Workspace) -> None:
    expected = Counter(record["note"] for record in tsv_records("notice"))
    result = tsv_ws.query("Zeek_notice_CL | summarize n = count() by note")
    assert dict(result.rows) == dict(expected)
    assert "SSL::Invalid_Server_Cert" in expected


def test_kql_finds_the_syslog_talkers_the_json_file_has(json_ws: Workspace) -> None:
    expected = Counter(record["id.orig_h"] for record in json_records("syslog"))
    result = json_ws.query("Zeek_syslog_CL | summarize n = count() by id_orig_h")
    assert dict(result.rows) == dict(expected)
    top = json_ws.query("Zeek_syslog_CL | summarize n = count() by id_orig_h | top 1 by n").rows
    assert top[0][1] == expected.most_common(1)[0][1]


def test_kql_compares_certificate_times(tsv_ws: Workspace) -> None:
    # from the JSON copy (ISO times), against the TSV copy (epoch times, one of them 2.385616957e+09)
    cutoff = "2040-01-01T00:00:00"
    expected = sum(1 for r in json_records("x509") if r["certificate.not_valid_after"] > cutoff)
    result = tsv_ws.query(f"Zeek_x509_CL | where certificate_not_valid_after > datetime({cutoff}) | count")
    assert result.rows[0][0] == expected > 0


def test_kql_reads_bools_and_time_range(json_ws: Workspace) -> None:
    records = json_records("ssh")
    succeeded = sum(1 for r in records if r.get("auth_success") is True)
    assert json_ws.query("Zeek_ssh_CL | where auth_success == true | count").rows[0][0] == succeeded
    first = min(datetime.fromisoformat(r["ts"]) for r in records)
    earliest = json_ws.query("Zeek_ssh_CL | summarize min(TimeGenerated)").rows[0][0]
    assert earliest.astimezone(UTC) == first


TSV_HEADER = (
    b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    b"#open\t2024-01-01-00-00-00\n#fields\tts\tuid\tid.orig_h\torig_bytes\ttunnel_parents\tservice\n"
    b"#types\ttime\tstring\taddr\tcount\tset[string]\tstring\n"
)


def test_broken_tsv_lines_are_rejected_with_reasons_and_the_rest_kept() -> None:
    data = TSV_HEADER + (
        b"1.5\tC1\t10.0.0.1\t10\t(empty)\t-\n"
        b"2.5\tC2\t10.0.0.2\tlots\t-\t-\n"
        b"3.5\tC3\t10.0.0.\xff\t5\ta,b\t-\n"
        b"4.5\tC4\t10.0.0.4\t7\tx\\x2cy,z\tback\\\\slash\\x09tab\n"
        b"-\tC5\t10.0.0.5\t1\t-\t-\n"
        b"#close\t2024-01-01-00-00-01\n"
        b"5.5\tC6\t10.0"
    )
    tables, rejected = parse_bytes(data, "conn.log")
    rows = tables["Zeek_conn_CL"]
    assert [row["uid"] for row in rows] == ["C1", "C4"]
    assert rows[0]["tunnel_parents"] == []
    assert rows[0]["service"] is None
    assert rows[0]["orig_bytes"] == 10
    assert rows[1]["tunnel_parents"] == ["x,y", "z"]
    assert rows[1]["service"] == "back\\slash\ttab"
    assert rows[0]["TimeGenerated"] == datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    reasons = {r.source: r.reason for r in rejected}
    assert set(reasons) == {"conn.log:10", "conn.log:11", "conn.log:13", "conn.log:15"}
    assert "orig_bytes" in reasons["conn.log:10"]
    assert "lots" in reasons["conn.log:10"]
    assert "UTF-8" in reasons["conn.log:11"]
    assert "no ts" in reasons["conn.log:13"]
    assert "3 fields where the #fields header has 6" in reasons["conn.log:15"]


def test_tsv_data_without_a_header_is_rejected() -> None:
    tables, rejected = parse_bytes(b"1.5\tC1\t10.0.0.1\n", "mystery.log")
    assert tables == {}
    assert [(r.source, r.reason) for r in rejected] == [("mystery.log:1", "data before a #fields header")]


def test_broken_json_lines_are_rejected_with_reasons_and_the_rest_kept() -> None:
    data = (
        b'{"_path":"dns","ts":1521911720.5,"uid":"C1","trans_id":7,"answers":["a"],"AA":true}\n'
        b'{"_path":"dns","ts":1521911721.5,"uid":"C2","trans_id":"seven"}\n'
        b"\n"
        b'{"_path":"dns","uid":"C3"}\n'
        b'["not", "an", "object"]\n'
        b'{"_path":"dns","ts":"2018-03-24T17:15:20.5Z","uid":"C4","extra.field":3}\n'
        b'{"_path":"dns","ts":15219117'
    )
    tables, rejected = parse_bytes(data, "dns.json")
    rows = tables["Zeek_dns_CL"]
    assert [row["uid"] for row in rows] == ["C1", "C4"]
    assert rows[0]["trans_id"] == 7
    assert rows[0]["answers"] == ["a"]
    assert rows[0]["AA"] is True
    assert rows[0]["rtt"] is None
    assert rows[1]["extra_field"] == 3
    assert rows[1]["TimeGenerated"] == datetime(2018, 3, 24, 17, 15, 20, 500000, tzinfo=UTC)
    reasons = {r.source: r.reason for r in rejected}
    assert set(reasons) == {"dns.json:2", "dns.json:4", "dns.json:5", "dns.json:7"}
    assert "trans_id" in reasons["dns.json:2"]
    assert "no ts" in reasons["dns.json:4"]
    assert "JSON object" in reasons["dns.json:5"]
    assert "not JSON" in reasons["dns.json:7"]


def test_json_log_named_by_its_file_when_it_has_no_path_field() -> None:
    tables, rejected = parse_bytes(
        b'{"ts":1.0,"uid":"C1","proto":"tcp"}\n', "/logs/conn.04:00:00-05:00:00.log"
    )
    assert rejected == []
    assert list(tables) == ["Zeek_conn_CL"]
    assert tables["Zeek_conn_CL"][0]["duration"] is None  # conn's fields are there, unset
    _, nameless = parse_bytes(b'{"ts":1.0,"uid":"C1"}\n', "stdin")
    assert "does not name a Zeek log" in nameless[0].reason


def test_sniff_claims_zeek_logs_and_nothing_else() -> None:
    parser = ZeekParser()
    for log in ("notice", "x509"):
        with gzip.open(tsv_file(log)) as tsv, gzip.open(json_file(log)) as js:
            assert parser.sniff(tsv.read(4096), f"{log}.log.gz")
            assert parser.sniff(js.read(4096), f"{log}.json.gz")
    assert parser.sniff(b'{"ts":1521911720.6,"uid":"C1","id.orig_h":"10.0.0.1"}\n', "capture.json")
    assert parser.sniff(b'{"ts":1521911720.6,"fuid":"F1"}\n', "files.log")
    eve = SHARED / "datasets" / "network" / "suricata" / "eve.json"
    if eve.is_file():
        assert not parser.sniff(eve.read_bytes()[:4096], "eve.json")
    assert not parser.sniff(b'{"user":"alice","action":"login"}\n', "events.json")
    assert not parser.sniff(b"Mar 24 09:19:57 host sshd[1]: Accepted password\n", "auth.log")


def test_a_long_log_arrives_in_bounded_batches() -> None:
    data = TSV_HEADER + b"1.5\tC1\t10.0.0.1\t10\t(empty)\t-\n" * (BATCH_ROWS + 5)
    batches = list(ZeekParser().parse(io.BytesIO(data), "conn.log"))
    assert [batch.rows for batch in batches] == [BATCH_ROWS, 5]
