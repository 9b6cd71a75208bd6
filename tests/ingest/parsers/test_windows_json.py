"""The flattened Windows JSON parser over the Security-Datasets atomic Windows recordings (MIT; read in
place from their zip files). Lines are counted here with the json module, independently of the parser:
every line is one ``SecurityEvent`` or ``Event`` row, every Sysmon line one more Defender XDR row."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.ingest.parsers.base import Rejected
from watchkeeper.ingest.parsers.windows_json import WindowsJsonParser

DATASETS = SHARED / "datasets" / "windows" / "security-datasets"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
DEVICE_TABLES = (
    "DeviceProcessEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceRegistryEvents",
    "DeviceImageLoadEvents",
    "DeviceEvents",
)

pytestmark = pytest.mark.skipif(not DATASETS.is_dir(), reason=f"Security-Datasets not found at {DATASETS}")


def member(path: str) -> bytes:
    with zipfile.ZipFile(DATASETS / path) as archive:
        (name,) = archive.namelist()
        return archive.read(name)


def labels() -> list[dict[str, str]]:
    """The recordings' labels (none when the datasets are absent: the module then skips)."""
    if not (DATASETS / "labels.csv").is_file():
        return []
    with (DATASETS / "labels.csv").open() as handle:
        return list(csv.DictReader(handle))


def parse(data: bytes, source: str = "test.json") -> tuple[dict[str, list[dict[str, Any]]], list[Rejected]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    rejected: list[Rejected] = []
    for batch in WindowsJsonParser().parse(io.BytesIO(data), source):
        for table, rows in batch.tables.items():
            tables.setdefault(table, []).extend(rows)
        rejected.extend(batch.rejected)
    return tables, rejected


@pytest.fixture(scope="module")
def workspaces() -> Iterator[dict[str, tuple[Workspace, dict[str, list[dict[str, Any]]]]]]:
    """Each labelled dataset parsed once into a workspace of its own."""
    opened = {}
    for label in labels():
        tables, rejected = parse(member(label["file"]), label["file"])
        assert rejected == []
        ws = Workspace.open(None)
        for table, rows in tables.items():
            ws.ingest(table, rows)
        opened[label["dataset_id"]] = (ws, tables)
    yield opened
    for ws, _ in opened.values():
        ws.close()


def column(ws: Workspace, kql: str) -> list[Any]:
    return [row[0] for row in ws.query(kql).rows]


@pytest.mark.parametrize("label", labels(), ids=lambda label: label["dataset_id"])
def test_every_line_is_one_row_and_every_sysmon_line_one_more(
    label: dict[str, str], workspaces: dict[str, Any]
) -> None:
    lines = [json.loads(line) for line in member(label["file"]).splitlines() if line.strip()]
    ws, tables = workspaces[label["dataset_id"]]
    security = [o for o in lines if o["Channel"] == "Security"]
    sysmon = [o for o in lines if o["Channel"] == SYSMON]
    assert column(ws, "SecurityEvent | count") == [len(security)]
    assert column(ws, "Event | count") == [len(lines) - len(security)]
    assert column(ws, f"union {', '.join(DEVICE_TABLES)} | count") == [len(sysmon)]
    ids = Counter(row["EventID"] for table in ("SecurityEvent", "Event") for row in tables.get(table, []))
    assert ids == Counter(int(o["EventID"]) for o in lines)


def test_lsass_dump_with_direct_syscalls(workspaces: dict[str, Any]) -> None:
    # SDWIN-201018225619, T1003.001: Outflank-Dumpert opens lsass
    ws, _ = workspaces["SDWIN-201018225619"]
    rows = ws.query(
        "DeviceProcessEvents | project DeviceName, FileName, FolderPath, InitiatingProcessFileName, AccountDomain,"
        " AccountName, SHA256, ProcessIntegrityLevel"
    ).rows
    assert rows == [
        (
            "workstation5",
            "Outflank-Dumpert.exe",
            "C:\\Users\\wardog\\Desktop\\Outflank-Dumpert.exe",
            "cmd.exe",
            "WORKSTATION5",
            "wardog",
            "d286348de31501385a3a8f57a08af602722913c36aaa4aa9fcb9ee129a7680c0",
            "High",
        )
    ]
    opened_by = column(
        ws,
        "DeviceEvents | where ActionType == 'OpenProcessApiCall' and FileName =~ 'lsass.exe'"
        " | summarize by InitiatingProcessFileName",
    )
    assert "Outflank-Dumpert.exe" in opened_by


def test_lsass_dump_with_comsvcs(workspaces: dict[str, Any]) -> None:
    # SDWIN-201018195009, T1003.001: rundll32 comsvcs.dll MiniDump <lsass pid>
    ws, _ = workspaces["SDWIN-201018195009"]
    command = column(
        ws,
        "DeviceProcessEvents | where ProcessCommandLine has 'comsvcs.dll' and ProcessCommandLine has 'MiniDump'"
        " | project InitiatingProcessFileName",
    )
    assert command == ["powershell.exe"]
    dumps = column(ws, "DeviceFileEvents | where FileName endswith '.dmp' | project FolderPath")
    assert "C:\\Users\\wardog\\AppData\\Local\\Temp\\lsass-comsvcs.dmp" in dumps


def test_logon_script_persistence(workspaces: dict[str, Any]) -> None:
    # SDWIN-201019224718, T1037.001: HKCU\Environment\UserInitMprLogonScript points at a batch file
    ws, _ = workspaces["SDWIN-201019224718"]
    rows = ws.query(
        "DeviceRegistryEvents | where RegistryValueName == 'UserInitMprLogonScript'"
        " | project ActionType, RegistryKey, RegistryValueData, InitiatingProcessFileName"
    ).rows
    assert len(rows) == 1
    action, key, data, process = rows[0]
    assert (action, data, process) == (
        "RegistryValueSet",
        "C:\\Users\\wardog\\AppData\\Local\\Temp\\art.bat",
        "reg.exe",
    )
    assert key.startswith("HKEY_CURRENT_USER\\S-1-5-21-")
    assert key.endswith("\\Environment")


def test_credential_prompt_reads_the_credential_manager(workspaces: dict[str, Any]) -> None:
    # SDWIN-201020013208, T1056.002: 5379 Credential Manager credentials were read
    ws, _ = workspaces["SDWIN-201020013208"]
    rows = ws.query("SecurityEvent | where EventID == 5379 | project Activity, Account, Computer").rows
    assert rows == [
        ("5379 - Credential Manager credentials were read.", "WORKSTATION5\\wardog", "WORKSTATION5")
    ]


def test_security_events_keep_their_data_and_message(workspaces: dict[str, Any]) -> None:
    ws, _ = workspaces["SDWIN-201018195009"]
    rows = ws.query(
        "SecurityEvent | where EventID == 4688 | where NewProcessName endswith 'rundll32.exe'"
        " | project Process, SubjectAccount, EventData"
    ).rows
    assert rows
    process, subject, data = rows[0]
    assert (process, subject) == ("rundll32.exe", "WORKSTATION5\\wardog")
    assert '<Data Name="CommandLine">' in data or '<Data Name="NewProcessName">' in data
    described = column(ws, "Event | where EventID == 1 | take 1 | project RenderedDescription")
    assert described[0].startswith("Process Create:")


# ---------------------------------------------------------------- malformed input


GOOD = {
    "EventID": 4624,
    "Channel": "Security",
    "Hostname": "HOST1",
    "SourceName": "Microsoft-Windows-Security-Auditing",
    "TimeCreated": "2024-01-02 03:04:05.678",
    "TargetUserName": "alice",
    "TargetDomainName": "CORP",
    "LogonType": "3",
}


def line(**changes: Any) -> bytes:
    return json.dumps({**GOOD, **changes}).encode() + b"\n"


def test_bad_lines_are_rejected_with_their_line_numbers_and_the_rest_kept() -> None:
    no_time = {k: v for k, v in GOOD.items() if k != "TimeCreated"}
    data = b"".join(
        [
            line(),
            b'{"EventID": 4624, "Channel": \n',
            b'{"EventID": 4625, "Channel": "Security", "TargetUserName": "b\xff\xfe"}\n',
            b"[1, 2]\n",
            line(EventID="x"),
            json.dumps(no_time).encode() + b"\n",
            b"\n",
            line(TargetUserName="bob"),
            b'{"EventID": 4624, "Channel": "Secu',
        ]
    )
    tables, rejected = parse(data, "f.json")
    assert [r["TargetUserName"] for r in tables["SecurityEvent"]] == ["alice", "bob"]
    reasons = {r.source: r.reason for r in rejected}
    assert set(reasons) == {"f.json:2", "f.json:3", "f.json:4", "f.json:5", "f.json:6", "f.json:9"}
    assert reasons["f.json:2"].startswith("not JSON")
    assert reasons["f.json:3"].startswith("not JSON")  # invalid UTF-8
    assert reasons["f.json:4"] == "expected a JSON object, got list"
    assert reasons["f.json:5"] == "no EventID (got 'x')"
    assert reasons["f.json:6"].startswith("no event time")
    assert reasons["f.json:9"].startswith("truncated line")
    raw = next(r.raw for r in rejected if r.source == "f.json:3")
    assert "\ufffd" in raw


def test_a_flat_logon_becomes_a_sentinel_security_event() -> None:
    tables, _ = parse(line())
    (row,) = tables["SecurityEvent"]
    assert row["Account"] == "CORP\\alice"
    assert row["LogonType"] == 3
    assert row["LogonTypeName"] == "3 - Network"
    assert row["Activity"] == "4624 - An account was successfully logged on."
    assert row["TimeGenerated"].isoformat() == "2024-01-02T03:04:05.678000+00:00"
    ws = Workspace.open(None)
    ws.ingest("SecurityEvent", tables["SecurityEvent"])
    assert column(ws, "SecurityEvent | where Account == 'CORP\\\\alice' | count") == [1]
    ws.close()


def test_sniff_is_specific() -> None:
    parser = WindowsJsonParser()
    head = member(labels()[0]["file"])[:4096]
    assert parser.sniff(head, "x.json")
    assert parser.sniff(line(), "events")
    # a Log Analytics export (TimeGenerated, Type) is not this layout
    assert not parser.sniff(
        b'{"TimeGenerated": "2021-08-02T13:09:20Z", "EventID": 412, "Channel": "Security"}\n', "x"
    )
    assert not parser.sniff(b'{"ts": 1, "uid": "C1", "id.orig_h": "10.0.0.1"}\n', "conn.log")
    assert not parser.sniff(b'{"event_type": "alert", "src_ip": "10.0.0.1"}\n', "eve.json")
    assert not parser.sniff(b"ElfFile\x00", "x.evtx")
