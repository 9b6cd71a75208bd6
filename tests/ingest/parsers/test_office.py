"""Microsoft 365 audit records into OfficeActivity: Management Activity API records (samples written
here after the API's common, Exchange, SharePoint and Azure AD schemas) and the OTRF Golden SAML
OfficeActivity export (MIT), read from the shared datasets."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.ingest.parsers.base import Rejected
from watchkeeper.ingest.parsers.office import OfficeActivityParser

GOLDEN = (
    SHARED / "datasets" / "cloud" / "azure-m365" / "security-datasets-goldensaml" / "OfficeActivityEvents.Zip"
)

MAIL: dict[str, Any] = {
    "CreationTime": "2025-11-03T10:00:00", "Id": "1b0e6a52-0000-4000-8000-000000000001", "Operation": "MailItemsAccessed",
    "OrganizationId": "org-1", "RecordType": 50, "ResultStatus": "Succeeded", "UserKey": "1003", "UserType": 0,
    "Workload": "Exchange", "UserId": "ada@contoso.example", "ClientIPAddress": "198.51.100.7", "LogonType": 0,
    "MailboxOwnerUPN": "ada@contoso.example", "ClientInfoString": "Client=REST;;", "ExternalAccess": False,
    "Folders": [{"Path": "\\Inbox", "FolderItems": [{"InternetMessageId": "<m1@contoso.example>"}]}],
    "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"}],
}  # fmt: skip
FILE: dict[str, Any] = {
    "CreationTime": "2025-11-03T10:05:00", "Id": "1b0e6a52-0000-4000-8000-000000000002", "Operation": "FileDownloaded",
    "OrganizationId": "org-1", "RecordType": 6, "UserKey": "i:0h.f|membership|1003", "UserType": 0, "Workload": "SharePoint",
    "ClientIP": "203.0.113.50", "UserId": "grace@contoso.example", "ObjectId": "https://contoso.sharepoint.com/sites/hr/Shared Documents/salaries.xlsx",
    "Site": "5b1b6c8e-0000-4000-8000-000000000003", "SiteUrl": "https://contoso.sharepoint.com/sites/hr/",
    "SourceFileName": "salaries.xlsx", "SourceFileExtension": "xlsx", "UserAgent": "Mozilla/5.0",
}  # fmt: skip
LOGIN: dict[str, Any] = {
    "CreationTime": "2025-11-03T09:59:00", "Id": "1b0e6a52-0000-4000-8000-000000000004", "Operation": "UserLoggedIn",
    "OrganizationId": "org-1", "RecordType": 15, "ResultStatus": "Success", "UserKey": "1003", "UserType": 2,
    "Workload": "AzureActiveDirectory", "ClientIP": "198.51.100.7", "UserId": "ada@contoso.example",
    "AzureActiveDirectoryEventType": 1, "ActorIpAddress": "198.51.100.7",
    "ExtendedProperties": [{"Name": "UserAgent", "Value": "Mozilla/5.0"}, {"Name": "RequestType", "Value": "Login:login"}],
    "Actor": [{"ID": "ada@contoso.example", "Type": 5}], "Target": [{"ID": "app-1", "Type": 0}],
}  # fmt: skip


def parse(data: bytes, source: str = "o.json") -> tuple[list[dict[str, Any]], list[Rejected]]:
    batches = list(OfficeActivityParser().parse(io.BytesIO(data), source))
    return [r for b in batches for r in b.tables.get("OfficeActivity", [])], [
        r for b in batches for r in b.rejected
    ]


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    ws = Workspace.open(None)
    rows, rejected = parse(json.dumps([MAIL, FILE, LOGIN]).encode())  # a Management Activity API content blob
    assert not rejected
    ws.ingest("OfficeActivity", rows)
    return ws


def test_mailbox_access_keeps_exchange_columns(workspace: Workspace) -> None:
    found = [list(r) for r in workspace.query(
        "OfficeActivity | where Operation == 'MailItemsAccessed'"
        " | project OfficeWorkload, UserId, Client_IPAddress, Logon_Type, UserType, RecordType, ExternalAccess,"
        " tostring(parse_json(Folders)[0].Path), tostring(OperationProperties[0].Value), TimeGenerated"
    ).rows]  # fmt: skip
    assert found[0][:9] == ["Exchange", "ada@contoso.example", "198.51.100.7", "Owner", "Regular", "50", "False",
                            "\\Inbox", "Bind"]  # fmt: skip
    assert found[0][9].isoformat().startswith("2025-11-03T10:00:00")


def test_file_downloads_name_the_site_and_the_file(workspace: Workspace) -> None:
    found = [list(r) for r in workspace.query(
        "OfficeActivity | where OfficeWorkload == 'SharePoint' and Operation == 'FileDownloaded'"
        " | project UserId, ClientIP, Site_Url, OfficeObjectId, SourceFileName, Site_"
    ).rows]  # fmt: skip
    assert found == [
        [FILE["UserId"], FILE["ClientIP"], FILE["SiteUrl"], FILE["ObjectId"], "salaries.xlsx", FILE["Site"]]
    ]


def test_azure_ad_logins_keep_their_properties(workspace: Workspace) -> None:
    found = [list(r) for r in workspace.query(
        "OfficeActivity | where Operation == 'UserLoggedIn'"
        " | mv-expand p = parse_json(ExtendedProperties) | where tostring(p.Name) == 'RequestType'"
        " | project tostring(p.Value), UserType, AzureActiveDirectory_EventType, ActorIpAddress, tostring(parse_json(AADTarget)[0].ID)"
    ).rows]  # fmt: skip
    assert found == [["Login:login", "Admin", "1", "198.51.100.7", "app-1"]]


@pytest.mark.skipif(not GOLDEN.is_file(), reason=f"{GOLDEN} is missing")
def test_the_golden_saml_mail_access_export_arrives() -> None:
    with zipfile.ZipFile(GOLDEN) as archive:
        data = archive.read(archive.namelist()[0])
    records = [json.loads(line) for line in data.splitlines() if line.strip()]
    rows, rejected = parse(data, "OfficeActivityEvents.json")
    assert not rejected
    assert len(rows) == len(records)
    assert OfficeActivityParser().sniff(data[:8192], "OfficeActivityEvents.json")
    ws = Workspace.open(None)
    ws.ingest("OfficeActivity", rows)
    found = [list(r) for r in ws.query(
        "OfficeActivity | where Operation == 'MailItemsAccessed'"
        " | project UserId, Client_IPAddress, ClientAppId, array_length(parse_json(Folders)[0].FolderItems)"
    ).rows]  # fmt: skip
    folders = json.loads(records[0]["Folders"])
    assert found == [[records[0]["UserId"], records[0]["Client_IPAddress"], records[0]["ClientAppId"],
                      len(folders[0]["FolderItems"])]]  # fmt: skip


def test_records_that_cannot_be_read_are_rejected_with_reasons() -> None:
    lines = [
        json.dumps(MAIL),
        json.dumps({k: v for k, v in MAIL.items() if k != "CreationTime"}),
        json.dumps(dict(MAIL, CreationTime="03/11/2025 nonsense")),
        json.dumps(dict(MAIL, CrossMailboxOperations="maybe")),
        json.dumps(MAIL)[:-10],
    ]
    rows, rejected = parse("\n".join(lines).encode(), "audit.ndjson")
    assert len(rows) == 1
    assert [(r.source, r.reason.split(":")[0]) for r in rejected] == [
        ("audit.ndjson:2", "not a Microsoft 365 audit record"),
        ("audit.ndjson:3", "CreationTime"),
        ("audit.ndjson:4", "CrossMailboxOperations"),
        ("audit.ndjson:5", "truncated"),
    ]


def test_sniffing_claims_management_activity_records_only() -> None:
    parser = OfficeActivityParser()
    assert parser.sniff(json.dumps([FILE]).encode(), "blob.json")
    assert not parser.sniff(b'{"Operation": "x", "CreationTime": "2025-01-01"}', "x.json")
    assert not parser.sniff(b'[{"eventName": "x", "eventSource": "y"}]', "ct.json")
