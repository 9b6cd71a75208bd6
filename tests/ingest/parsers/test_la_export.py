"""The Log Analytics export parser over the OTRF Golden SAML and Log4Shell recordings (MIT; read in
place from their zip files): Log Analytics, Sentinel and Defender XDR advanced hunting rows, one JSON
object per line. Expected values are computed here from the raw JSON with the json module."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Catalog, Workspace
from watchkeeper.ingest.parsers.base import Rejected
from watchkeeper.ingest.parsers.cloudtrail import CloudTrailParser
from watchkeeper.ingest.parsers.la_export import LogAnalyticsExportParser
from watchkeeper.ingest.parsers.suricata import SuricataEveParser
from watchkeeper.ingest.parsers.windows_json import WindowsJsonParser
from watchkeeper.ingest.parsers.zeek import ZeekParser
from watchkeeper.ingest.sources import HEAD_BYTES, sources_at

DATASETS = SHARED / "datasets"
GOLDEN_SAML = DATASETS / "cloud" / "azure-m365" / "security-datasets-goldensaml"
LOG4SHELL = DATASETS / "linux" / "security-datasets-log4shell"
PARSER = LogAnalyticsExportParser()

pytestmark = pytest.mark.skipif(
    not (GOLDEN_SAML.is_dir() and LOG4SHELL.is_dir()),
    reason=f"the OTRF Golden SAML / Log4Shell recordings are not under {DATASETS}",
)


@dataclass
class Parsed:
    """One source parsed: rows per table and rejections, in order."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


def parse(data: bytes, source: str = "test.json", workspace: Workspace | None = None) -> Parsed:
    parsed = Parsed()
    for batch in PARSER.parse(io.BytesIO(data), source):
        if workspace is not None:
            workspace.ingest_parsed(batch, source=source, input_format=PARSER.name)
        for table, rows in batch.tables.items():
            parsed.tables.setdefault(table, []).extend(rows)
        parsed.rejected.extend(batch.rejected)
    return parsed


def members() -> dict[str, bytes]:
    """Every JSON member of the recordings' archives, by member name."""
    found: dict[str, bytes] = {}
    for archive in sorted([*GOLDEN_SAML.glob("*.Zip"), *LOG4SHELL.glob("*.zip")]):
        with zipfile.ZipFile(archive) as opened:
            found |= {name: opened.read(name) for name in opened.namelist() if name.endswith(".json")}
    return found


def records(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def member(prefix: str) -> list[dict[str, Any]]:
    (name,) = [n for n in MEMBERS if n.startswith(prefix)]
    return records(MEMBERS[name])


MEMBERS = members() if GOLDEN_SAML.is_dir() and LOG4SHELL.is_dir() else {}


@pytest.fixture(scope="module")
def ingested() -> Iterator[tuple[Workspace, dict[str, Parsed]]]:
    """Every member parsed once, all into one workspace."""
    workspace = Workspace.open(None)
    try:
        yield workspace, {name: parse(data, name, workspace) for name, data in MEMBERS.items()}
    finally:
        workspace.close()


def column(workspace: Workspace, query: str) -> list[Any]:
    return [row[0] for row in workspace.query(query).rows]


# ------------------------------------------------------------------------------ every record a row


def test_the_recordings_hold_nine_json_exports() -> None:
    assert len(MEMBERS) == 9, sorted(MEMBERS)


def test_every_record_becomes_a_row(ingested: tuple[Workspace, dict[str, Parsed]]) -> None:
    """Rows == lines, except a query's projection that names no table and has no Defender time
    (one record of WindowsEvents.json: EventID 5156 fields parsed out of EventData, no Type)."""
    _, parsed = ingested
    for name, data in MEMBERS.items():
        lines = records(data)
        untyped = [r for r in lines if "Type" not in r and "Timestamp" not in r]
        assert parsed[name].rows == len(lines) - len(untyped), name
        refused = [r for r in parsed[name].rejected if "the row was stored" not in r.reason]
        assert len(refused) == len(untyped), (name, [r.reason for r in refused])
        assert all(r.reason.startswith("no Type naming a table") for r in refused)


def test_each_record_lands_in_the_table_its_type_names(ingested: tuple[Workspace, dict[str, Parsed]]) -> None:
    _, parsed = ingested
    for name in ("sysmon_log4shell", "syslog_auoms", "syslog_sysmon", "securityauditing", "vminsights"):
        (full,) = [n for n in MEMBERS if n.startswith(name)]
        expected = Counter(r["Type"] for r in records(MEMBERS[full]))
        assert {t: len(rows) for t, rows in parsed[full].tables.items()} == expected, name


def test_records_without_a_table_type_go_where_their_columns_belong(
    ingested: tuple[Workspace, dict[str, Parsed]],
) -> None:
    """Defender advanced hunting exports carry no Type; the Golden SAML AuditLogs export's query
    overwrote Type with the target's type (Application, ServicePrincipal)."""
    workspace, parsed = ingested
    hunting = member("Microsoft365DefenderEvents")
    # Defender's schema: device events carry DeviceId, cloud app events ActivityType, the rest is
    # Defender for Identity's directory replication
    expected = Counter(
        "DeviceEvents"
        if r.get("DeviceId")
        else "CloudAppEvents"
        if r.get("ActivityType")
        else "IdentityDirectoryEvents"
        for r in hunting
    )
    rows = parsed["Microsoft365DefenderEvents.json"].tables
    assert {t: len(r) for t, r in rows.items()} == expected
    audits = member("AADAuditEvents")
    assert {r["Type"] for r in audits} > {"AuditLogs"}
    assert {t: len(r) for t, r in parsed["AADAuditEvents.json"].tables.items()} == {"AuditLogs": len(audits)}
    assert column(workspace, "AuditLogs | distinct Type") == ["AuditLogs"]


# --------------------------------------------------------------------------------- KQL over rows


def test_golden_saml_audit_operations_and_initiator(ingested: tuple[Workspace, dict[str, Parsed]]) -> None:
    workspace, _ = ingested
    audits = member("AADAuditEvents")
    result = workspace.query("AuditLogs | summarize n = count() by OperationName")
    assert dict(result.rows) == Counter(r["OperationName"] for r in audits)
    # InitiatedBy was exported as JSON text: it is dynamic again
    initiators = {json.loads(r["InitiatedBy"])["user"]["userPrincipalName"] for r in audits}
    assert (
        set(column(workspace, "AuditLogs | distinct tostring(InitiatedBy.user.userPrincipalName)"))
        == initiators
    )
    targets = {t["displayName"] for r in audits for t in json.loads(r["TargetResources"]) if t["displayName"]}
    found = column(workspace, "AuditLogs | mv-expand T = TargetResources | distinct tostring(T.displayName)")
    assert set(found) - {""} == targets


def test_golden_saml_hunting_rows(ingested: tuple[Workspace, dict[str, Parsed]]) -> None:
    """ADX type suffixes are undone (ReportId_long, AdditionalFields_string), Timestamp is the time,
    and the exporting query's own columns land in AdditionalFields."""
    workspace, _ = ingested
    hunting = member("Microsoft365DefenderEvents")
    ldap = [r for r in hunting if r["ActionType"] == "LdapSearch"]
    filters = column(
        workspace,
        'DeviceEvents | where ActionType == "LdapSearch" | order by ReportId asc | project tostring(AdditionalFields.SearchFilter)',
    )
    assert filters == [
        json.loads(r["AdditionalFields_string"])["SearchFilter"]
        for r in sorted(ldap, key=lambda r: r["ReportId_long"])
    ]
    assert sorted(column(workspace, "DeviceEvents | project ReportId")) == sorted(
        r["ReportId_long"] for r in ldap
    )
    # the store keeps microseconds; Defender writes 100 ns ticks
    first = column(
        workspace, "DeviceEvents | summarize format_datetime(min(Timestamp), 'yyyy-MM-ddTHH:mm:ss.ffffff')"
    )
    assert first == [min(r["Timestamp"] for r in ldap)[:26]]
    grant = next(r for r in hunting if r["ActionType"].startswith("Add delegated permission grant"))
    kept = column(
        workspace,
        'CloudAppEvents | where ActionType startswith "Add delegated" | project tostring(AdditionalFields.PermissionsAddedTo)',
    )
    assert kept == [grant["PermissionsAddedTo"]]
    mail = next(r for r in hunting if r["ActionType"] == "MailItemsAccessed")
    owner = column(
        workspace,
        'CloudAppEvents | where ActionType == "MailItemsAccessed" | project tostring(RawEventData.MailboxOwnerUPN)',
    )
    assert owner == [mail["RawEventData"]["MailboxOwnerUPN"]]


def test_log4shell_syslog_process_names_and_workspace_ids(
    ingested: tuple[Workspace, dict[str, Parsed]],
) -> None:
    workspace, _ = ingested
    syslog = member("syslog_auoms") + member("syslog_sysmon")
    result = workspace.query("Syslog | summarize count() by ProcessName")
    assert dict(result.rows) == Counter(r["ProcessName"] for r in syslog)
    assert set(column(workspace, "Syslog | distinct TenantId")) == {r["TenantId"] for r in syslog}
    execs = [r for r in syslog if "AUOMS_EXECVE" in r["SyslogMessage"]]
    found = column(workspace, 'Syslog | where SyslogMessage has "AUOMS_EXECVE" | count')
    assert found == [len(execs)]
    assert execs


def test_log4shell_sysmon_windows_events(ingested: tuple[Workspace, dict[str, Parsed]]) -> None:
    """WindowsEvent.EventData (JSON text in the export) is dynamic: Tomcat's children are found."""
    workspace, _ = ingested
    events = member("sysmon_log4shell")
    result = workspace.query("WindowsEvent | summarize count() by EventID")
    assert dict(result.rows) == Counter(r["EventID"] for r in events)
    created = [json.loads(r["EventData"]) for r in events if r["EventID"] == 1]
    found = workspace.query(
        "WindowsEvent | where EventID == 1 | project tostring(EventData.ParentImage), tostring(EventData.Image)"
    )
    assert sorted(found.rows) == sorted((e["ParentImage"], e["Image"]) for e in created)
    assert any("tomcat" in e["ParentImage"].lower() for e in created)


def test_log4shell_security_and_connection_rows(ingested: tuple[Workspace, dict[str, Parsed]]) -> None:
    workspace, _ = ingested
    security = member("securityauditing") + [
        r for r in member("WindowsEvents") if r.get("Type") == "SecurityEvent"
    ]
    result = workspace.query("SecurityEvent | summarize count() by EventID")
    assert dict(result.rows) == Counter(r["EventID"] for r in security)
    processes = {r["NewProcessName"] for r in security if r["EventID"] == 4688}
    assert (
        set(column(workspace, "SecurityEvent | where EventID == 4688 | distinct NewProcessName")) == processes
    )
    connections = member("vminsights")
    assert column(workspace, "VMConnection | summarize sum(BytesSent)") == [
        sum(r["BytesSent"] for r in connections)
    ]


def test_fields_without_a_column_are_kept_with_their_record(
    ingested: tuple[Workspace, dict[str, Parsed]],
) -> None:
    """SecurityEvent has no column for some fields a query projected (``AccessList``...), and no
    property bag: the rows are stored, and each record's values of those fields are in
    IngestionErrors with the record's line."""
    workspace, parsed = ingested
    (name,) = [n for n in MEMBERS if n.startswith("securityauditing")]
    lines = records(MEMBERS[name])
    table = Catalog.sentinel().table("SecurityEvent")
    extra = {
        f"{name}:{number}": {k: v for k, v in record.items() if v not in (None, "") and table.column(k) is None
                             and k not in ("Type",)}
        for number, record in enumerate(lines, start=1)
    }  # fmt: skip
    expected = {where: fields for where, fields in extra.items() if fields}
    kept = {r.source: json.loads(r.raw) for r in parsed[name].rejected}
    assert expected, "the recording has fields SecurityEvent lacks"
    assert kept == expected
    reasons = column(workspace, f'IngestionErrors | where Source startswith "{name}:" | distinct Reason')
    assert reasons
    assert all(r.startswith("SecurityEvent has no column for") for r in reasons)
    overwritten = column(
        workspace, 'IngestionErrors | where RawRecord has "ModifiedApplication" | project RawRecord'
    )
    assert [json.loads(raw)["Type"] for raw in overwritten] == ["Application"]


# ---------------------------------------------------------------------------------------- sniffing


def heads(root: Path, pattern: str) -> list[tuple[str, bytes]]:
    found = [(s.filename, s.head()) for s in sources_at(root) if s.filename.endswith(pattern)]
    if not found:
        pytest.skip(f"no {pattern} files under {root}")
    return found


def test_sniffs_every_export_and_no_other_parser_claims_them() -> None:
    others = (WindowsJsonParser(), ZeekParser(), SuricataEveParser(), CloudTrailParser())
    for name, data in MEMBERS.items():
        head = data[:HEAD_BYTES]
        assert PARSER.sniff(head, name), name
        assert [p.name for p in others if p.sniff(head, name)] == [], name


@pytest.mark.parametrize(
    ("folder", "pattern"),
    [
        ("windows/security-datasets", ".json"),
        ("network/zeek-wrccdc2018/zeek-json", ".json.gz"),
        ("network/zeek-wrccdc2018/zeek-default", ".log.gz"),
        ("network/suricata", ".json"),
        ("cloud/aws", ".json"),
        ("linux/security-datasets", ".log"),
    ],
)
def test_does_not_claim_other_formats(folder: str, pattern: str) -> None:
    for filename, head in heads(DATASETS / folder, pattern):
        assert not PARSER.sniff(head, filename), filename


def test_sniffs_a_first_line_longer_than_the_head() -> None:
    line = json.dumps(
        {"TimeGenerated": "2022-05-11T18:10:21Z", "Type": "Syslog", "SyslogMessage": "x" * 20_000}
    )
    assert PARSER.sniff(line.encode()[:HEAD_BYTES], "export.json")
    other = json.dumps(
        {"TimeGenerated": "2022-05-11T18:10:21Z", "Type": "NoSuchTable", "Message": "x" * 20_000}
    )
    assert not PARSER.sniff(other.encode()[:HEAD_BYTES], "export.json")


# ---------------------------------------------------------------------------------- column mapping


def lines(*objects: Any) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


def test_type_suffixes_portal_times_and_custom_tables() -> None:
    parsed = parse(
        lines(
            {
                "TimeGenerated [UTC]": "5/11/2022, 6:10:20.123 PM",
                "Type": "WindowsEvent",
                "EventData_dynamic": None,
                "EventData_string": '{"Image": "java.exe"}',
                "EventID": "4688",
                "TenantId": "ws-1",
            },
            {"TimeGenerated": "2022-05-11T18:10:20Z", "Type": "App_CL", "Count": 3, "Ok": True},
        )
    )
    (event,) = parsed.tables["WindowsEvent"]
    assert event["TimeGenerated"].isoformat() == "2022-05-11T18:10:20.123000+00:00"
    assert event["EventData"] == {"Image": "java.exe"}
    assert event["EventID"] == 4688
    assert event["TenantId"] == "ws-1"
    assert "Type" not in event
    (custom,) = parsed.tables["App_CL"]
    assert custom["Count"] == 3
    assert custom["Ok"] is True
    assert custom["TimeGenerated"].year == 2022
    assert parsed.rejected == []


def test_malformed_input_is_rejected_with_its_line_and_the_rest_kept() -> None:
    good = {"TimeGenerated": "2022-05-11T18:10:21Z", "Type": "Syslog", "ProcessName": "sshd", "TenantId": "t"}
    data = (
        lines(good)
        + b'{"TimeGenerated": "2022-05-11T18:10:21Z", "Type": "Syslog", \n'
        + b'{"Type": "Syslog", "ProcessName": "\xff\xfe"}\n'
        + lines(
            {"Type": "Syslog", "ProcessName": "cron"},
            {"TimeGenerated": "yesterday", "Type": "Syslog"},
            {"TimeGenerated": "2022-05-11T18:10:21Z", "Type": "SecurityEvent", "EventID": "not a number"},
            {"TimeGenerated": "2022-05-11T18:10:21Z", "Colour": "red", "Shape": "round"},
            [1, 2],
            good,
        )
        + b'{"TimeGenerated": "2022-05-11T18:10:22Z", "Type": "Sys'
    )
    parsed = parse(data, "broken.json")
    assert [r["ProcessName"] for r in parsed.tables["Syslog"]] == ["sshd", "sshd"]
    reasons = {r.source: r.reason for r in parsed.rejected}
    assert reasons["broken.json:2"].startswith("malformed JSON")
    assert reasons["broken.json:3"].startswith("invalid UTF-8")
    assert "no TimeGenerated" in reasons["broken.json:4"]
    assert reasons["broken.json:5"].startswith("TimeGenerated: 'yesterday' is not a datetime")
    assert reasons["broken.json:6"].startswith("EventID: 'not a number' is not a int")
    assert reasons["broken.json:7"].startswith("no Type naming a table")
    assert reasons["broken.json:8"] == "expected a JSON object, got list"
    assert reasons["broken.json:10"].startswith("truncated")
    assert len(parsed.rejected) == 8
