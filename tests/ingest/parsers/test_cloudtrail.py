"""AWS CloudTrail into AWSCloudTrail, over the Stratus Red Team detonation logs (Apache-2.0) and the
OTRF EC2 proxy / S3 exfiltration recording (MIT), read from the shared datasets: every record
arrives whatever the layout, and KQL answers what the raw records say."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.ingest.parsers.base import BATCH_ROWS, Rejected
from watchkeeper.ingest.parsers.cloudtrail import CloudTrailParser

AWS = SHARED / "datasets" / "cloud" / "aws"
STRATUS = AWS / "stratus-red-team"
OTRF_ZIP = AWS / "security-datasets" / "ec2_proxy_s3_exfiltration.zip"
pytestmark = pytest.mark.skipif(not STRATUS.is_dir(), reason=f"the CloudTrail recordings are not at {AWS}")


def parse(data: bytes, source: str = "test.json") -> tuple[list[dict[str, Any]], list[Rejected]]:
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for batch in CloudTrailParser().parse(io.BytesIO(data), source):
        assert batch.rows + len(batch.rejected) <= BATCH_ROWS
        rows.extend(batch.tables.get("AWSCloudTrail", []))
        rejected.extend(batch.rejected)
    return rows, rejected


def otrf_lines() -> bytes:
    with zipfile.ZipFile(OTRF_ZIP) as archive:
        return archive.read(archive.namelist()[0])


def stratus(name: str) -> list[dict[str, Any]]:
    return json.loads((STRATUS / f"{name}.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    ws = Workspace.open(None)
    for path in sorted(STRATUS.glob("*.json")):
        rows, rejected = parse(path.read_bytes(), path.name)
        assert not rejected
        ws.ingest("AWSCloudTrail", rows)
    rows, rejected = parse(otrf_lines(), "ec2_proxy_s3_exfiltration.json")
    assert not rejected
    ws.ingest("AWSCloudTrail", rows)
    return ws


def column(ws: Workspace, kql: str) -> list[Any]:
    return [row[0] for row in ws.query(kql).rows]


def table(ws: Workspace, kql: str) -> list[list[Any]]:
    return [list(row) for row in ws.query(kql).rows]


@pytest.mark.parametrize("path", sorted(STRATUS.glob("*.json")), ids=lambda p: p.stem)
def test_every_stratus_record_becomes_a_row(path: Path) -> None:
    rows, rejected = parse(path.read_bytes(), path.name)
    records = json.loads(path.read_text())
    assert not rejected
    assert len(rows) == len(records)
    assert [r["EventName"] for r in rows] == [r["eventName"] for r in records]
    assert CloudTrailParser().sniff(path.read_bytes()[:8192], path.name)


@pytest.mark.skipif(not OTRF_ZIP.is_file(), reason=f"{OTRF_ZIP} is missing")
def test_every_ndjson_line_of_the_otrf_recording_becomes_a_row() -> None:
    data = otrf_lines()
    rows, rejected = parse(data)
    assert not rejected
    assert len(rows) == sum(1 for line in data.splitlines() if line.strip())
    # the recording has Logstash's @timestamp and no eventTime: the event time comes from there
    first = json.loads(data.splitlines()[0])
    assert rows[0]["TimeGenerated"].isoformat().startswith(first["@timestamp"][:19])


def test_the_detonations_are_found_by_their_event_names(workspace: Workspace) -> None:
    record = stratus("aws.defense-evasion.cloudtrail-stop")[0]
    found = table(
        workspace,
        "AWSCloudTrail | where EventName == 'StopLogging'"
        " | project EventSource, UserIdentityArn, SourceIpAddress, AWSRegion, trail = tostring(parse_json(RequestParameters).name)",
    )
    assert found == [
        [record["eventSource"], record["userIdentity"]["arn"], record["sourceIPAddress"], record["awsRegion"],
         record["requestParameters"]["name"]]
    ]  # fmt: skip


def test_a_console_login_without_mfa_is_visible(workspace: Workspace) -> None:
    record = stratus("aws.initial-access.console-login-without-mfa")[0]
    found = table(
        workspace,
        "AWSCloudTrail | where EventName == 'ConsoleLogin'"
        " | extend mfa = tostring(parse_json(AdditionalEventData).MFAUsed),"
        " outcome = tostring(parse_json(ResponseElements).ConsoleLogin)"
        " | project UserIdentityUserName, mfa, outcome, EventTypeName, ReadOnly",
    )
    assert found == [[record["userIdentity"]["userName"], "No", "Success", "AwsConsoleSignIn", False]]


def test_the_admin_user_creation_attaches_administrator_access(workspace: Workspace) -> None:
    records = stratus("aws.persistence.iam-create-admin-user")
    attach = next(r for r in records if r["eventName"] == "AttachUserPolicy")
    found = column(
        workspace,
        "AWSCloudTrail | where EventName == 'AttachUserPolicy'"
        " | project policy = tostring(parse_json(RequestParameters).policyArn)",
    )
    assert found == [attach["requestParameters"]["policyArn"]]
    assert found[0].endswith("/AdministratorAccess")


def test_secret_reads_are_counted_per_principal(workspace: Workspace) -> None:
    records = stratus("aws.credential-access.secretsmanager-retrieve-secrets")
    expected = Counter(r["userIdentity"]["arn"] for r in records if r["eventName"] == "GetSecretValue")
    found = workspace.query(
        "AWSCloudTrail | where EventName == 'GetSecretValue' and ReadOnly | summarize n = count() by UserIdentityArn"
    ).rows
    assert dict(found) == dict(expected)


@pytest.mark.skipif(not OTRF_ZIP.is_file(), reason=f"{OTRF_ZIP} is missing")
def test_the_assumed_role_of_the_exfiltration_is_named(workspace: Workspace) -> None:
    records = [json.loads(line) for line in otrf_lines().splitlines() if line.strip()]
    roles = {r["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] for r in records
             if r["userIdentity"]["type"] == "AssumedRole"}  # fmt: skip
    objects = Counter(r["sourceIPAddress"] for r in records if r["eventName"] in ("GetObject", "ListObjects"))
    found = column(
        workspace, "AWSCloudTrail | where UserIdentityType == 'AssumedRole' | distinct SessionIssuerUserName"
    )
    assert set(found) == roles
    by_ip = workspace.query(
        "AWSCloudTrail | where EventName in ('GetObject', 'ListObjects') | summarize count() by SourceIpAddress"
    ).rows
    assert dict(by_ip) == dict(objects)
    mfa = column(
        workspace, "AWSCloudTrail | where UserIdentityUserName == 'pedro' | distinct SessionMfaAuthenticated"
    )
    assert mfa == [True]


def test_every_layout_gives_the_same_rows() -> None:
    records = stratus("aws.credential-access.secretsmanager-retrieve-secrets")
    array, _ = parse(json.dumps(records).encode())
    wrapped, _ = parse(json.dumps({"Records": records}, indent=2).encode())
    ndjson, _ = parse(b"\n".join(json.dumps(r).encode() for r in records) + b"\n")
    ndjson_wrapped, _ = parse(
        json.dumps({"Records": records[:5]}).encode() + b"\n" + json.dumps({"Records": records[5:]}).encode()
    )
    one_pretty_record, _ = parse(json.dumps(records[0], indent=3).encode())
    assert len(array) == len(records)
    assert wrapped == array == ndjson == ndjson_wrapped
    assert one_pretty_record == array[:1]


def test_large_arrays_stream_in_bounded_batches_across_read_boundaries() -> None:
    record = stratus("aws.defense-evasion.cloudtrail-stop")[0]
    big = dict(record, requestParameters={"name": "x" * 100_000})  # spans read chunks
    records = [dict(record, eventID=str(i)) for i in range(BATCH_ROWS + 5)] + [big]
    batches = list(
        CloudTrailParser().parse(io.BytesIO(json.dumps({"Records": records}).encode()), "big.json")
    )
    assert len(batches) == 2
    assert sum(b.rows for b in batches) == len(records)
    assert json.loads(batches[-1].tables["AWSCloudTrail"][-1]["RequestParameters"])["name"] == "x" * 100_000


def test_broken_ndjson_lines_are_rejected_and_the_rest_kept() -> None:
    good = [
        json.dumps(r).encode() for r in stratus("aws.credential-access.secretsmanager-retrieve-secrets")[:4]
    ]
    no_time = json.dumps({"eventName": "ListBuckets", "eventSource": "s3.amazonaws.com"}).encode()
    bad_time = json.dumps(
        {"eventName": "X", "eventSource": "s3.amazonaws.com", "eventTime": "yesterday"}
    ).encode()
    bad_bool = json.dumps(dict(json.loads(good[0]), readOnly="perhaps")).encode()
    lines = [
        good[0],
        b"{not json",
        good[1],
        b'{"eventName": "caf\xe9"}',
        no_time,
        bad_time,
        bad_bool,
        good[2],
        good[3][:40],
    ]
    rows, rejected = parse(b"\n".join(lines), "trail.ndjson")
    assert len(rows) == 3
    reasons = {r.source: r.reason for r in rejected}
    assert reasons["trail.ndjson:2"].startswith("malformed JSON")
    assert reasons["trail.ndjson:4"] == "invalid UTF-8 at byte 18 of the line"
    assert reasons["trail.ndjson:5"] == "no event time: the record has no eventTime"
    assert reasons["trail.ndjson:6"].startswith("eventTime: 'yesterday' is not a datetime")
    assert reasons["trail.ndjson:7"].startswith("readOnly: 'perhaps' is not a bool")
    assert reasons["trail.ndjson:9"].startswith("truncated: the last line has no newline")
    assert len(rejected) == 6


def test_a_truncated_array_keeps_the_records_before_the_cut() -> None:
    records = stratus("aws.credential-access.secretsmanager-retrieve-secrets")
    data = json.dumps(records, indent=2).encode()
    cut = data[: data.index(b'"eventName"', data.index(records[5]["eventID"].encode()))]
    rows, rejected = parse(cut, "cut.json")
    assert len(rows) == 5
    assert [r.reason.split(" at line")[0] for r in rejected] == ["truncated: the source ends inside record 6"]


def test_bad_elements_of_an_array_are_rejected_one_by_one() -> None:
    record = stratus("aws.defense-evasion.cloudtrail-stop")[0]
    data = json.dumps([record, 42, {"eventName": "x"}, record]).encode()
    data = data.replace(b'"StopLogging"', b'"Stop\xffLogging"', 1)
    rows, rejected = parse(data, "mixed.json")
    assert len(rows) == 1
    assert [(r.source, r.reason.split(" at ")[0]) for r in rejected] == [
        ("mixed.json: record 1 (line 1)", "invalid UTF-8"),
        ("mixed.json: record 2 (line 1)", "expected a JSON object, got int"),
        ("mixed.json: record 3 (line 1)", "not a CloudTrail record: no eventName or eventSource"),
    ]


def test_a_syntax_error_inside_an_array_stops_with_its_position() -> None:
    record = json.dumps(stratus("aws.defense-evasion.cloudtrail-stop")[0])
    rows, rejected = parse(f"[\n{record},\n{record} oops {record}\n]".encode(), "broken.json")
    assert len(rows) == 2
    assert len(rejected) == 1
    assert rejected[0].reason.startswith(
        "malformed JSON (expected ',' or ']' after a record) in record 3 at line 3"
    )


def test_sniffing_claims_cloudtrail_only() -> None:
    parser = CloudTrailParser()
    assert parser.sniff(
        json.dumps({"Records": stratus("aws.exfiltration.ec2-share-ami")}).encode(), "x.json.gz"
    )
    assert not parser.sniff(b'{"eventName": "x", "other": 1}\n', "x.json")
    assert not parser.sniff(
        b'{"TimeGenerated": "2024-01-01", "EventName": "StopLogging", "AWSRegion": "x"}', "e.json"
    )
    assert not parser.sniff(
        b"type=SYSCALL msg=audit(1.0:1): eventName eventSource awsRegion userIdentity", "a.log"
    )
