"""Entra ID sign-ins and directory audits into SigninLogs and AuditLogs: Graph signIn and
directoryAudit resources (sample records written here after the Graph resource schemas), and the
OTRF Golden SAML AuditLogs export (MIT), read from the shared datasets."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.ingest.parsers.base import Parsed, Rejected
from watchkeeper.ingest.parsers.entra import EntraAuditParser, EntraSigninParser

GOLDEN = SHARED / "datasets" / "cloud" / "azure-m365" / "security-datasets-goldensaml" / "AADAuditEvents.Zip"

SIGNIN_OK: dict[str, Any] = {
    "id": "66ea54eb-6301-4ee5-be62-ff5a759b0100",
    "createdDateTime": "2025-11-02T08:15:30Z",
    "userDisplayName": "Ada Lovelace",
    "userPrincipalName": "ada@contoso.example",
    "userId": "d7cc485d-2c1b-422c-98fd-5ce52859a4a3",
    "appId": "de8bc8b5-d9f9-48b1-a8ad-b748da725064",
    "appDisplayName": "Graph Explorer",
    "ipAddress": "198.51.100.7",
    "clientAppUsed": "Browser",
    "correlationId": "65f6a7a8-6ba0-4d30-9c1f-27e9e5a0d8a1",
    "conditionalAccessStatus": "success",
    "isInteractive": True,
    "riskEventTypes_v2": [],
    "status": {"errorCode": 0, "failureReason": None, "additionalDetails": None},
    "deviceDetail": {"deviceId": "", "operatingSystem": "Windows 10", "browser": "Edge 120.0"},
    "location": {"city": "Lisbon", "state": "Lisboa", "countryOrRegion": "PT",
                 "geoCoordinates": {"latitude": 38.7, "longitude": -9.1}},
    "appliedConditionalAccessPolicies": [{"id": "p1", "displayName": "Require MFA", "result": "success"}],
    "resourceId": "00000003-0000-0000-c000-000000000000",
    "resourceDisplayName": "Microsoft Graph",
    "authenticationDetails": [{"authenticationMethod": "Password", "succeeded": True}],
}  # fmt: skip
SIGNIN_FAILED = dict(
    SIGNIN_OK,
    id="2b0cf8c2-0d2c-4e0e-8d57-7a0b2b0a0200",
    createdDateTime="2025-11-02T08:20:00.1234567Z",
    userPrincipalName="grace@contoso.example",
    ipAddress="203.0.113.50",
    conditionalAccessStatus="notApplied",
    status={"errorCode": 50126, "failureReason": "Invalid username or password."},
    location={"city": "Oslo", "countryOrRegion": "NO"},
)
AUDIT: dict[str, Any] = {
    "id": "Directory_0a1b2c3d_ABCDE_1",
    "category": "UserManagement",
    "correlationId": "0a1b2c3d-0000-4000-8000-000000000001",
    "result": "success",
    "resultReason": "",
    "activityDisplayName": "Add member to role",
    "activityDateTime": "2025-11-02T09:00:00Z",
    "loggedByService": "Core Directory",
    "operationType": "Assign",
    "initiatedBy": {"user": {"id": "u1", "userPrincipalName": "ada@contoso.example", "ipAddress": "198.51.100.7"}},
    "targetResources": [{"id": "u2", "displayName": "Grace", "type": "User", "userPrincipalName": "grace@contoso.example",
                         "modifiedProperties": [{"displayName": "Role.DisplayName", "newValue": "\"Global Administrator\""}]}],
    "additionalDetails": [{"key": "User-Agent", "value": "Mozilla/5.0"}],
}  # fmt: skip


def parse(parser: Any, data: bytes, source: str = "t.json") -> tuple[list[dict[str, Any]], list[Rejected]]:
    batches: list[Parsed] = list(parser.parse(io.BytesIO(data), source))
    rows = [row for b in batches for rows in b.tables.values() for row in rows]
    return rows, [r for b in batches for r in b.rejected]


def golden_lines() -> bytes:
    with zipfile.ZipFile(GOLDEN) as archive:
        return archive.read(archive.namelist()[0])


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    ws = Workspace.open(None)
    page = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": [SIGNIN_OK, SIGNIN_FAILED],
    }
    rows, rejected = parse(EntraSigninParser(), json.dumps(page).encode())
    assert not rejected
    ws.ingest("SigninLogs", rows)
    rows, rejected = parse(EntraAuditParser(), json.dumps([AUDIT]).encode())
    assert not rejected
    ws.ingest("AuditLogs", rows)
    return ws


def test_failed_sign_ins_are_found_by_result_type(workspace: Workspace) -> None:
    found = [list(r) for r in workspace.query(
        "SigninLogs | where ResultType != '0'"
        " | project UserPrincipalName, IPAddress, ResultType, ResultDescription, Location, tostring(LocationDetails.city)"
    ).rows]  # fmt: skip
    assert found == [
        ["grace@contoso.example", "203.0.113.50", "50126", "Invalid username or password.", "NO", "Oslo"]
    ]


def test_sign_in_details_keep_sentinel_columns(workspace: Workspace) -> None:
    found = [list(r) for r in workspace.query(
        "SigninLogs | where ResultType == '0'"
        " | project AppDisplayName, ClientAppUsed, ConditionalAccessStatus, IsInteractive,"
        " tostring(DeviceDetail.operatingSystem), tostring(ConditionalAccessPolicies[0].displayName),"
        " ResourceIdentity, tostring(parse_json(AuthenticationDetails)[0].authenticationMethod), OperationName, Category"
    ).rows]  # fmt: skip
    assert found == [[
        "Graph Explorer", "Browser", "success", True, "Windows 10", "Require MFA",
        "00000003-0000-0000-c000-000000000000", "Password", "Sign-in activity", "SigninLogs",
    ]]  # fmt: skip
    count = workspace.query(
        "SigninLogs | where TimeGenerated between (datetime(2025-11-02) .. 1d) | count"
    ).rows
    assert count[0][0] == 2


def test_directory_audits_name_initiator_and_target(workspace: Workspace) -> None:
    found = [list(r) for r in workspace.query(
        "AuditLogs | project OperationName, Category, Result, AADOperationType, LoggedByService,"
        " tostring(InitiatedBy.user.userPrincipalName), tostring(TargetResources[0].userPrincipalName), Identity"
    ).rows]  # fmt: skip
    assert found == [[
        "Add member to role", "UserManagement", "success", "Assign", "Core Directory",
        "ada@contoso.example", "grace@contoso.example", "ada@contoso.example",
    ]]  # fmt: skip


@pytest.mark.skipif(not GOLDEN.is_file(), reason=f"{GOLDEN} is missing")
def test_the_golden_saml_audit_export_arrives_whole() -> None:
    data = golden_lines()
    records = [json.loads(line) for line in data.splitlines() if line.strip()]
    rows, rejected = parse(EntraAuditParser(), data, "AADAuditEvents.json")
    assert not rejected
    assert len(rows) == len(records)
    assert EntraAuditParser().sniff(data[:8192], "AADAuditEvents.json")
    assert not EntraSigninParser().sniff(data[:8192], "AADAuditEvents.json")
    ws = Workspace.open(None)
    ws.ingest("AuditLogs", rows)
    expected = {
        (r["OperationName"], json.loads(r["InitiatedBy"])["user"]["userPrincipalName"]) for r in records
    }
    found = ws.query("AuditLogs | distinct OperationName, tostring(InitiatedBy.user.userPrincipalName)").rows
    assert {tuple(r) for r in found} == expected
    # the credential added to the application (T1098.001 in the scenario) is in TargetResources
    added = ws.query(
        "AuditLogs | where OperationName has 'Certificates and secrets'"
        " | mv-expand p = TargetResources[0].modifiedProperties | where tostring(p.displayName) == 'KeyDescription'"
        " | project tostring(p.newValue)"
    ).rows
    assert added
    assert all("DisplayName=SimuLandCreds" in r[0] for r in added)


def test_records_that_cannot_be_read_are_rejected_with_reasons() -> None:
    lines = [
        json.dumps(SIGNIN_OK),
        json.dumps({k: v for k, v in SIGNIN_OK.items() if k != "createdDateTime"}),
        json.dumps(dict(SIGNIN_OK, createdDateTime="not a time")),
        json.dumps(dict(SIGNIN_OK, isInteractive="sometimes")),
        '{"value": [' + json.dumps(SIGNIN_FAILED),
    ]
    rows, rejected = parse(EntraSigninParser(), "\n".join(lines).encode() + b"\n", "signins.ndjson")
    assert len(rows) == 1
    assert [(r.source, r.reason.split(":")[0]) for r in rejected] == [
        ("signins.ndjson:2", "not an Entra ID sign-in"),
        ("signins.ndjson:3", "createdDateTime"),
        ("signins.ndjson:4", "isInteractive"),
        ("signins.ndjson:5", "malformed JSON"),
    ]
    rows, rejected = parse(EntraAuditParser(), json.dumps([AUDIT, SIGNIN_OK]).encode(), "audits.json")
    assert len(rows) == 1
    assert rejected[0].reason == "not an Entra ID directory audit: no activityDateTime"


def test_sniffing_tells_sign_ins_from_audits() -> None:
    signins = json.dumps({"value": [SIGNIN_OK]}).encode()
    audits = json.dumps([AUDIT]).encode()
    assert EntraSigninParser().sniff(signins, "s.json")
    assert not EntraAuditParser().sniff(signins, "s.json")
    assert EntraAuditParser().sniff(audits, "a.json")
    assert not EntraSigninParser().sniff(audits, "a.json")
    assert not EntraSigninParser().sniff(b'{"eventName": "ConsoleLogin", "status": 1}', "c.json")
