"""Built-in ASIM Web Session, File Event, Registry Event, User Management and Audit Event parsers, on
DuckDB and on ClickHouse (chdb):
rows ingested into the source tables read back in the normalised schema, and the filtering
parameters rules pass select as Sentinel's parsers do."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.conftest import chdb_available
from watchkeeper import Catalog, Workspace, kql
from watchkeeper.errors import KqlBindError
from watchkeeper.ingest.parsers.windows_json import WindowsJsonParser

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def _ingest_web(workspace: Workspace) -> None:
    workspace.ingest("W3CIISLog", [
        {"TimeGenerated": T0, "Computer": "web01", "cIP": "203.0.113.7", "sIP": "10.0.0.4", "sPort": 443,
         "csMethod": "POST", "csUriStem": "/owa/auth/logon.aspx", "csUriQuery": "replaceCurrent=1",
         "csUserAgent": "python-requests/2.31", "csUserName": "-", "scStatus": "403", "scSubStatus": "0",
         "scWin32Status": "5", "csHost": "mail.contoso.com", "csReferer": "-", "TimeTaken": 12},
    ])  # fmt: skip
    workspace.ingest("CommonSecurityLog", [
        {"TimeGenerated": T0, "DeviceVendor": "Zscaler", "DeviceProduct": "NSSWeblog", "DeviceAction": "Allowed",
         "RequestURL": "https://cdn.discordapp.com/attachments/1/2/invoice.exe", "SourceIP": "10.1.1.1",
         "DestinationIP": "162.159.1.1", "DestinationPort": 443, "EventOutcome": "200", "SourceUserName": "alice",
         "RequestClientApplication": "Mozilla/5.0", "RequestMethod": "GET"},
        {"TimeGenerated": T0, "DeviceVendor": "Zscaler", "DeviceProduct": "NSSWeblog", "DeviceAction": "Blocked",
         "RequestURL": "http://evil.example/payload.ps1", "SourceIP": "10.1.1.2", "EventOutcome": "Blocked",
         "SourceUserName": "bob"},
        # a firewall event without a URL is a network session, not a web session
        {"TimeGenerated": T0, "DeviceVendor": "Fortinet", "DeviceProduct": "Fortigate", "SourceIP": "10.1.1.3"},
    ])  # fmt: skip
    workspace.ingest("ASimWebSessionLogs", [
        {"TimeGenerated": T0, "EventType": "HTTPsession", "EventProduct": "Gateway", "EventVendor": "Contoso",
         "EventResult": "Success", "EventResultDetails": "200", "EventCount": 3, "SrcIpAddr": "192.168.7.7",
         "Url": "https://intranet.contoso.com/", "HttpUserAgent": "Mozilla/5.0", "EventSchemaVersion": "0.2.6"},
    ])  # fmt: skip


def _ingest_endpoint(workspace: Workspace) -> None:
    actor = {"DeviceName": "pc01", "DeviceId": "dev-1", "InitiatingProcessAccountName": "bob",
             "InitiatingProcessAccountDomain": "CONTOSO", "InitiatingProcessAccountSid": "S-1-5-21-1-2-3-1104",
             "InitiatingProcessFolderPath": "C:\\Users\\bob\\AppData\\x.exe", "InitiatingProcessId": 4242,
             "InitiatingProcessCommandLine": "x.exe --encrypt"}  # fmt: skip
    workspace.ingest("DeviceFileEvents", [
        {**actor, "TimeGenerated": T0, "ActionType": "FileRenamed", "FileName": "report.docx.h0lyenc",
         "FolderPath": "C:\\Users\\bob\\report.docx.h0lyenc", "PreviousFileName": "report.docx",
         "PreviousFolderPath": "C:\\Users\\bob\\", "SHA256": "9f86d081884c7d659a2feaa0c55ad015", "FileSize": 2048},
        {**actor, "TimeGenerated": T0, "ActionType": "FileCreated", "FileName": "vmware-vmdmp.log",
         "FolderPath": "C:\\Windows\\Temp\\vmware-vmdmp.log", "MD5": "56ceb6d0011d87b6e4d7023d7ef85676"},
    ])  # fmt: skip
    workspace.ingest("DeviceRegistryEvents", [
        {**actor, "TimeGenerated": T0, "ActionType": "RegistryValueSet", "RegistryValueName": "Debugger",
         "RegistryKey": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\"
                        "Image File Execution Options\\sethc.exe",
         "RegistryValueData": "C:\\Windows\\System32\\cmd.exe", "RegistryValueType": "String"},
    ])  # fmt: skip


def _ingest_management(workspace: Workspace) -> None:
    admin = {"Computer": "dc01", "SubjectUserName": "admin", "SubjectDomainName": "CONTOSO",
             "SubjectUserSid": "S-1-5-21-9-500", "SubjectLogonId": "0x3e7"}  # fmt: skip
    workspace.ingest("SecurityEvent", [
        {**admin, "TimeGenerated": T0, "EventID": 4720, "TargetUserName": "eve", "TargetDomainName": "CONTOSO",
         "TargetSid": "S-1-5-21-9-1200"},
        {**admin, "TimeGenerated": T0, "EventID": 4732, "TargetUserName": "Administrators",
         "TargetDomainName": "Builtin", "TargetSid": "S-1-5-32-544",
         "MemberName": "CN=eve,OU=Users,DC=contoso,DC=com", "MemberSid": "S-1-5-21-9-1200"},
        {**admin, "TimeGenerated": T0, "EventID": 4624, "TargetUserName": "eve"},  # a logon: not account management
    ])  # fmt: skip
    workspace.ingest("AzureActivity", [
        {"TimeGenerated": T0, "OperationNameValue": "MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE",
         "ActivityStatusValue": "Success", "Caller": "alice@contoso.com", "CallerIpAddress": "203.0.113.9",
         "ResourceId": "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
         "ResourceProviderValue": "MICROSOFT.COMPUTE"},
    ])  # fmt: skip
    workspace.ingest("OfficeActivity", [
        {"TimeGenerated": T0, "RecordType": "ExchangeAdmin", "Operation": "New-InboxRule", "ResultStatus": "True",
         "UserId": "bob@contoso.com", "ClientIP": "198.51.100.4:51234", "OfficeObjectId": "bob@contoso.com\\fwd",
         "Parameters": '[{"Name":"ForwardTo","Value":"x@evil.example"}]', "OriginatingServer": "EX01"},
        {"TimeGenerated": T0, "RecordType": "SharePointFileOperation", "Operation": "FileAccessed"},
    ])  # fmt: skip


def _open(engine: str) -> Workspace:
    if engine == "duckdb":
        return Workspace.open(None)
    if not chdb_available():
        pytest.skip("chdb is not installed (pip install 'watchkeeper[clickhouse]')")
    from watchkeeper.store.clickhouse import ChdbEventStore

    return Workspace(ChdbEventStore())


@pytest.fixture(scope="module", params=["duckdb", "chdb"])
def ws(request: pytest.FixtureRequest) -> Iterator[Workspace]:
    """One workspace per engine holding the source rows, shared by the module's tests."""
    workspace = _open(request.param)
    _ingest_web(workspace)
    _ingest_endpoint(workspace)
    _ingest_management(workspace)
    yield workspace
    workspace.close()


# ---------------------------------------------------------------- web sessions


def test_im_web_session_normalises_iis_proxy_and_native_rows(ws: Workspace) -> None:
    rows = ws.query(
        "_Im_WebSession | order by SrcIpAddr asc"
        " | project SrcIpAddr, Url, EventResult, EventResultDetails, DvcAction, SrcUsername, EventProduct,"
        " EventCount, EventSchema"
    ).rows
    assert rows == [
        ("10.1.1.1", "https://cdn.discordapp.com/attachments/1/2/invoice.exe", "Success", "200", "Allow",
         "alice", "NSSWeblog", 1, "WebSession"),
        ("10.1.1.2", "http://evil.example/payload.ps1", "Failure", "", "Deny", "bob", "NSSWeblog", 1, "WebSession"),
        ("192.168.7.7", "https://intranet.contoso.com/", "Success", "200", "", "", "Gateway", 3, "WebSession"),
        ("203.0.113.7", "/owa/auth/logon.aspx?replaceCurrent=1", "Failure", "403", "Allow", "", "IIS", 1,
         "WebSession"),
    ]  # fmt: skip


def test_iis_fields_and_web_session_aliases(ws: Workspace) -> None:
    rows = ws.query(
        "imWebSession | where EventProduct == 'IIS'"
        " | project HttpRequestMethod, HttpHost, HttpUserAgent, HttpReferrer, DstIpAddr, DstPortNumber,"
        " HttpStatusCode, IpAddr, UserAgent, Dvc, NetworkDuration"
    ).rows
    assert rows == [("POST", "mail.contoso.com", "python-requests/2.31", "", "10.0.0.4", 443, "403",
                     "203.0.113.7", "python-requests/2.31", "web01", 12)]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "urls"),
    [
        ("_Im_WebSession(url_has_any=dynamic(['cdn.discordapp.com']), eventresult='Success')",
         ["https://cdn.discordapp.com/attachments/1/2/invoice.exe"]),
        # a rule passes one status instead of a list
        ("_Im_WebSession(eventresultdetails_in='403')", ["/owa/auth/logon.aspx?replaceCurrent=1"]),
        ("_Im_WebSession(eventresultdetails_in=dynamic(['200', '403']), eventresult='Failure')",
         ["/owa/auth/logon.aspx?replaceCurrent=1"]),
        ("_Im_WebSession(httpuseragent_has_any=dynamic(['python-requests']))",
         ["/owa/auth/logon.aspx?replaceCurrent=1"]),
        ("_Im_WebSession(srcipaddr_has_any_prefix=dynamic(['10.1.1.']))",
         ["http://evil.example/payload.ps1", "https://cdn.discordapp.com/attachments/1/2/invoice.exe"]),
        ("_Im_WebSession(ipaddr_has_any_prefix=dynamic(['162.159.']))",
         ["https://cdn.discordapp.com/attachments/1/2/invoice.exe"]),
        ("_Im_WebSession(starttime=datetime(2024-05-02))", []),
    ],
)  # fmt: skip
def test_web_session_parameters_filter(ws: Workspace, call: str, urls: list[str]) -> None:
    rows = ws.query(f"{call} | order by Url asc | project Url").rows
    assert [url for (url,) in rows] == urls


# ---------------------------------------------------------------- files and registry


def test_im_file_event_reads_defender_file_events(ws: Workspace) -> None:
    rows = ws.query(
        "imFileEvent | where EventType == 'FileRenamed'"
        " | project TargetFileName, TargetFileDirectory, TargetFileExtension, SrcFilePath, ActorUsername,"
        " ActingProcessName, ActingProcessId, Hash, HashType, Dvc, DvcId, EventResult, EventSchema"
    ).rows
    assert rows == [("report.docx.h0lyenc", "C:\\Users\\bob", "h0lyenc", "C:\\Users\\bob\\report.docx",
                     "CONTOSO\\bob", "C:\\Users\\bob\\AppData\\x.exe", "4242", "9f86d081884c7d659a2feaa0c55ad015",
                     "SHA256", "pc01", "dev-1", "Success", "FileEvent")]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "names"),
    [
        ("imFileEvent(eventtype_in=dynamic(['FileCreated']))", ["vmware-vmdmp.log"]),
        ("imFileEvent(hashes_has_any=dynamic(['56ceb6d0011d87b6e4d7023d7ef85676']))", ["vmware-vmdmp.log"]),
        ("imFileEvent(targetfilepath_has_any=dynamic(['Temp']))", ["vmware-vmdmp.log"]),
        ("imFileEvent(srcfilepath_has_any=dynamic(['report.docx']))", ["report.docx.h0lyenc"]),
        ("imFileEvent(actorusername_has_any=dynamic(['alice']))", []),
        ("imFileEvent(dvchostname_has_any=dynamic(['pc01']))", ["report.docx.h0lyenc", "vmware-vmdmp.log"]),
    ],
)  # fmt: skip
def test_file_event_parameters_filter(ws: Workspace, call: str, names: list[str]) -> None:
    rows = ws.query(f"{call} | order by TargetFileName asc | project TargetFileName").rows
    assert [name for (name,) in rows] == names


def test_im_registry_reads_defender_registry_events(ws: Workspace) -> None:
    rows = ws.query(
        "imRegistry | where RegistryKey has_all ('HKEY_LOCAL_MACHINE', 'Image File Execution Options')"
        " | project EventType, RegistryValue, RegistryValueData, Username, Dvc, Process, EventSchema"
    ).rows
    assert rows == [("RegistryValueSet", "Debugger", "C:\\Windows\\System32\\cmd.exe", "CONTOSO\\bob", "pc01",
                     "C:\\Users\\bob\\AppData\\x.exe", "RegistryEvent")]  # fmt: skip
    assert ws.query("_Im_RegistryEvent(eventtype_in=dynamic(['RegistryKeyDeleted'])) | count").rows == [(0,)]
    hits = ws.query("_Im_RegistryEvent(registryvaluedata_has_any=dynamic(['cmd.exe'])) | count").rows
    assert hits == [(1,)]


SYSMON = "Microsoft-Windows-Sysmon/Operational"
SYSMON_LINES = [
    {"EventID": 11, "Channel": SYSMON, "Hostname": "WKS01.contoso.com", "@timestamp": "2024-05-01T12:00:00Z",
     "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "ProcessId": "4242",
     "TargetFilename": "C:\\ProgramData\\evil.ps1", "User": "CONTOSO\\bob"},
    {"EventID": 13, "Channel": SYSMON, "Hostname": "WKS01.contoso.com", "@timestamp": "2024-05-01T12:00:01Z",
     "EventType": "SetValue", "Image": "C:\\Windows\\regedit.exe", "ProcessId": "77", "User": "CONTOSO\\bob",
     "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\evil",
     "Details": "C:\\ProgramData\\evil.exe"},
    {"EventID": 1, "Channel": SYSMON, "Hostname": "WKS01.contoso.com", "@timestamp": "2024-05-01T12:00:02Z",
     "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami", "ProcessId": "10",
     "ParentImage": "C:\\Windows\\explorer.exe", "ParentProcessId": "5", "User": "CONTOSO\\bob"},
    {"EventID": 3, "Channel": SYSMON, "Hostname": "WKS01.contoso.com", "@timestamp": "2024-05-01T12:00:03Z",
     "Image": "C:\\Windows\\System32\\cmd.exe", "ProcessId": "10", "Protocol": "tcp", "Initiated": "true",
     "SourceIp": "10.0.0.5", "SourcePort": "50000", "DestinationIp": "8.8.8.8", "DestinationPort": "443"},
]  # fmt: skip


@pytest.mark.parametrize("engine", ["duckdb", "chdb"])
def test_sysmon_events_read_through_the_parsers(engine: str) -> None:
    """Sysmon 11, 13, 1 and 3, ingested as Windows JSON lines, reach imFileEvent, imRegistry,
    imProcessCreate and imNetworkSession; the rows say which product wrote them."""
    workspace = _open(engine)
    lines = b"".join(json.dumps(line).encode() + b"\n" for line in SYSMON_LINES)
    for batch in WindowsJsonParser().parse(io.BytesIO(lines), "sysmon.json"):
        for table, rows in batch.tables.items():
            workspace.ingest(table, rows)
    files = workspace.query(
        "imFileEvent | project EventProduct, EventOriginalType, EventType, TargetFilePath, ActorUsername, Dvc"
    ).rows
    assert files == [("Sysmon", "11", "FileCreated", "C:\\ProgramData\\evil.ps1", "CONTOSO\\bob",
                      "wks01.contoso.com")]  # fmt: skip
    keys = workspace.query(
        "imRegistry(registrykey_has_any=dynamic(['CurrentVersion\\\\Run']))"
        " | project EventType, RegistryKey, RegistryValue, RegistryValueData, ActingProcessName"
    ).rows
    assert keys == [("RegistryValueSet", "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
                     "evil", "C:\\ProgramData\\evil.exe", "C:\\Windows\\regedit.exe")]  # fmt: skip
    processes = workspace.query("imProcessCreate | project EventProduct, TargetProcessCommandLine").rows
    assert processes == [("Sysmon", "cmd /c whoami")]
    sessions = workspace.query(
        "imNetworkSession | project EventProduct, SrcIpAddr, DstIpAddr, DstPortNumber"
    ).rows
    assert sessions == [("Sysmon", "10.0.0.5", "8.8.8.8", 443)]
    workspace.close()


# ---------------------------------------------------------------- accounts, groups and configuration


def test_im_user_management_reads_windows_account_and_group_changes(ws: Workspace) -> None:
    rows = ws.query(
        "imUserManagement | order by EventType asc"
        " | project EventType, ActorUsername, TargetUsername, TargetUserId, GroupName, GroupId, GroupType, Dvc"
    ).rows
    assert rows == [
        ("UserAddedToGroup", "CONTOSO\\admin", "CN=eve,OU=Users,DC=contoso,DC=com", "S-1-5-21-9-1200",
         "Builtin\\Administrators", "S-1-5-32-544", "Local Security Enabled", "dc01"),
        ("UserCreated", "CONTOSO\\admin", "CONTOSO\\eve", "S-1-5-21-9-1200", "", "", "", "dc01"),
    ]  # fmt: skip
    added = ws.query(
        "_Im_UserManagement(eventtype_in=dynamic(['UserAddedToGroup'])) | project GroupName"
    ).rows
    assert added == [("Builtin\\Administrators",)]
    assert ws.query("_Im_UserManagement(actorusername_has_any=dynamic(['eve'])) | count").rows == [(0,)]


def test_im_audit_event_reads_azure_operations_and_exchange_cmdlets(ws: Workspace) -> None:
    rows = ws.query(
        "imAuditEvent | order by EventProduct asc"
        " | project EventType, EventResult, Operation, Object, ActorUsername, SrcIpAddr, NewValue"
    ).rows
    assert rows == [
        ("Delete", "Success", "MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE",
         "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "alice@contoso.com",
         "203.0.113.9", ""),
        ("Create", "Success", "New-InboxRule", "bob@contoso.com\\fwd", "bob@contoso.com", "198.51.100.4",
         '[{"Name":"ForwardTo","Value":"x@evil.example"}]'),
    ]  # fmt: skip
    forwarding = "_Im_AuditEvent(newvalue_has_any=dynamic(['ForwardTo']), eventtype_in=dynamic(['Create']))"
    assert ws.query(f"{forwarding} | project Operation").rows == [("New-InboxRule",)]
    azure = "_Im_AuditEvent(srcipaddr_has_any_prefix=dynamic(['203.0.113.']), eventresult='Failure')"
    assert ws.query(f"{azure} | count").rows == [(0,)]


def test_unknown_parameters_of_the_new_parsers_are_bind_errors(ws: Workspace) -> None:
    for call in ("_Im_WebSession(domain_has_any=dynamic(['x']))", "imFileEvent(url_has_any=dynamic(['x']))",
                 "imRegistry(commandline_has_any=dynamic(['x']))", "imAuditEvent(eventresult_in=dynamic(['x']))",
                 "imUserManagement(eventresult='Success')"):  # fmt: skip
        with pytest.raises(KqlBindError, match="has no parameter"):
            ws.query(call)


@pytest.mark.parametrize(
    "names",
    [("_Im_WebSession", "imWebSession", "_ASim_WebSession", "ASimWebSession"),
     ("imFileEvent", "_Im_FileEvent", "_ASim_FileEvent", "ASimFileEvent"),
     ("imRegistry", "_Im_RegistryEvent", "_ASim_RegistryEvent", "ASimRegistry"),
     ("imUserManagement", "_Im_UserManagement", "_ASim_UserManagement", "ASimUserManagement"),
     ("imAuditEvent", "_Im_AuditEvent", "_ASim_AuditEvent", "ASimAuditEvent"),
     ("imDns", "_Im_Dns", "_ASim_Dns", "ASimDns")],
)  # fmt: skip
def test_each_parser_answers_to_all_its_asim_names(names: tuple[str, ...]) -> None:
    """The names ASIM gives one parser (``im*``, ``_Im_*``, ``ASim*``, ``_ASim_*``) compile to one query."""
    catalog = Catalog.sentinel()
    queries = {kql.compile(f"{name} | summarize count() by EventType", catalog=catalog) for name in names}
    assert len(queries) == 1
    assert "EventType" in queries.pop()
