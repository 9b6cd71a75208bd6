"""The EVTX parser over the EVTX-ATTACK-SAMPLES recordings (GPL-3.0: read in place, never copied).

Counts are checked against the dataset README, which lists each file's record count, channels and
event-id histogram as published with the recordings, independently of this parser: every record becomes
exactly one ``SecurityEvent`` (Security channel) or ``Event`` (other channels) row, and every Sysmon record
one more row in a Defender XDR table.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import evtx
import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.ingest.parsers import evtx as evtx_parser
from watchkeeper.ingest.parsers.base import Parsed, Rejected
from watchkeeper.ingest.parsers.evtx import EvtxParser, NoEventTime, record_from_json

SAMPLES = SHARED / "datasets" / "windows" / "evtx-attack-samples"
README = SHARED / "datasets" / "README.md"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
DEVICE_TABLES = (
    "DeviceProcessEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceRegistryEvents",
    "DeviceImageLoadEvents",
    "DeviceEvents",
)

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"EVTX samples not found at {SAMPLES}")


@dataclass
class Expected:
    records: int
    channels: dict[str, int]
    event_ids: Counter[int]


@dataclass
class Outcome:
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)

    def rows(self, *tables: str) -> list[dict[str, Any]]:
        return [row for table in tables for row in self.tables.get(table, [])]


def readme_expectations() -> dict[str, Expected]:
    """The README's table for the EVTX samples: ``| path | bytes | N record(s); channels: C (n); ...;
    event ids (id x count): 4624x18 ...; time ... |``."""
    section = README.read_text().split("### windows/evtx-attack-samples/", 1)[1].split("\n### ", 1)[0]
    expected = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].endswith(".evtx"):
            continue
        content = cells[2]
        records = int(re.match(r"([\d,]+) record", content).group(1).replace(",", ""))
        channel_text = re.search(r"channels: (.*?); event ids", content).group(1)
        channels = {m[0].strip(): int(m[1]) for m in re.findall(r"([^;()]+) \((\d+)\)", channel_text)}
        ids = Counter(
            {int(i): int(n) for i, n in re.findall(r"(\d+)x(\d+)", content.split("event ids", 1)[1])}
        )
        expected[cells[0]] = Expected(records, channels, ids)
    return expected


def parse(parser: EvtxParser, stream: Any, source: str) -> Outcome:
    outcome = Outcome()
    for batch in parser.parse(stream, source):
        assert isinstance(batch, Parsed)
        for table, rows in batch.tables.items():
            outcome.tables.setdefault(table, []).extend(rows)
        outcome.rejected.extend(batch.rejected)
    return outcome


@pytest.fixture(scope="module")
def parsed() -> dict[str, Outcome]:
    """Every sample file parsed once, by its path relative to the samples folder."""
    parser = EvtxParser()
    outcomes = {}
    for path in sorted(SAMPLES.rglob("*.evtx")):
        with path.open("rb") as stream:
            outcomes[path.relative_to(SAMPLES).as_posix()] = parse(parser, stream, path.name)
    return outcomes


@pytest.fixture(scope="module")
def workspace(parsed: dict[str, Outcome]) -> Iterator[Workspace]:
    """One workspace holding every sample's rows."""
    ws = Workspace.open(None)
    for outcome in parsed.values():
        for table, rows in outcome.tables.items():
            ws.ingest(table, rows)
    yield ws
    ws.close()


def column(ws: Workspace, kql: str) -> list[Any]:
    return [row[0] for row in ws.query(kql).rows]


# ---------------------------------------------------------------- every file, every record


def test_every_sample_in_the_readme_is_parsed(parsed: dict[str, Outcome]) -> None:
    assert set(parsed) == set(readme_expectations())
    assert len(parsed) >= 40


def test_each_record_is_one_security_event_or_event_row(parsed: dict[str, Outcome]) -> None:
    for name, expected in readme_expectations().items():
        outcome = parsed[name]
        assert outcome.rejected == [], name
        security, event = outcome.rows("SecurityEvent"), outcome.rows("Event")
        assert len(security) + len(event) == expected.records, name
        assert len(security) == expected.channels.get("Security", 0), name
        ids = Counter(row["EventID"] for row in security + event)
        # the README lists a file's eight most frequent event ids
        assert {i: ids[i] for i in expected.event_ids} == expected.event_ids, name
        assert len(expected.event_ids) == 8 or set(ids) == set(expected.event_ids), name


def test_each_sysmon_record_is_also_one_defender_row(parsed: dict[str, Outcome]) -> None:
    for name, expected in readme_expectations().items():
        outcome = parsed[name]
        device = outcome.rows(*DEVICE_TABLES)
        assert len(device) == expected.channels.get(SYSMON, 0), name
        assert len(outcome.rows("Event")) == expected.records - expected.channels.get("Security", 0), name


def test_event_data_is_well_formed_xml_and_the_agents_time_is_the_events(parsed: dict[str, Outcome]) -> None:
    for name, outcome in parsed.items():
        for row in outcome.rows("SecurityEvent"):
            ET.fromstring(row["EventData"])
        for row in outcome.rows("Event"):
            item = ET.fromstring(row["EventData"])
            assert item.get("time") == row["TimeGenerated"].isoformat(), name
            ET.fromstring(f"<ParameterXml>{row['ParameterXml']}</ParameterXml>")


def test_batches_stay_bounded_and_together_hold_every_row(
    parsed: dict[str, Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evtx_parser, "BATCH_ROWS", 100)
    name = "Command and Control/bits_openvpn.evtx"
    batches = list(EvtxParser().parse(io.BytesIO(sample(name)), "bits.evtx"))
    sizes = [batch.rows + len(batch.rejected) for batch in batches]
    assert len(sizes) > 10
    # a batch is handed on once it holds 100 entries; a Sysmon record adds two rows at once
    assert all(100 <= size <= 101 for size in sizes[:-1]), sizes
    assert sum(sizes) == sum(len(rows) for rows in parsed[name].tables.values())


def test_rows_land_in_a_workspace_with_every_count(parsed: dict[str, Outcome], workspace: Workspace) -> None:
    expected = readme_expectations()
    total = sum(e.records for e in expected.values())
    sysmon = sum(e.channels.get(SYSMON, 0) for e in expected.values())
    assert column(workspace, "union SecurityEvent, Event | count") == [total]
    assert column(workspace, f"union {', '.join(DEVICE_TABLES)} | count") == [sysmon]
    assert column(workspace, "Event | where EventLog == 'Microsoft-Windows-Sysmon/Operational' | count") == [
        sysmon
    ]


def test_records_written_with_a_zero_header_time_keep_their_event_time(workspace: Workspace) -> None:
    # de_hiding_files_via_attrib_cmdlet.evtx holds one record whose header time is a zero FILETIME
    # (the README shows 1601-01-01); its TimeCreated is 2019-05-19T17:32:00.482982Z
    rows = workspace.query(
        "DeviceProcessEvents | where FileName =~ 'attrib.exe' and TimeGenerated == datetime(2019-05-19T17:32:00.482982Z)"
        " | project ProcessCommandLine"
    ).rows
    assert len(rows) == 1
    assert "+h" in rows[0][0].lower()
    assert column(
        workspace, "union SecurityEvent, Event | where TimeGenerated < datetime(2000-01-01) | count"
    ) == [0]


# ---------------------------------------------------------------- known answers


def test_failed_interactive_logon_through_chrome(workspace: Workspace) -> None:
    # CA_4624_4625_LogonType2_LogonProc_chrome.evtx: one 4625 with logon process "Chrome"
    rows = workspace.query(
        "SecurityEvent | where EventID == 4625 | project Account, TargetAccount, LogonType, LogonTypeName,"
        " LogonProcessName, Status, SubStatus, Process, Level, Activity"
    ).rows
    assert rows == [
        (
            "MSEDGEWIN10\\IEUser",
            "MSEDGEWIN10\\IEUser",
            2,
            "2 - Interactive",
            "Chrome",
            "0xc000006d",
            "0xc000006a",
            "chrome.exe",
            "16",
            "4625 - An account failed to log on.",
        )
    ]


def test_rdp_logons_name_the_user(workspace: Workspace) -> None:
    # DE_RDP_Tunneling_4624.evtx: RDP tunnelled over loopback, RemoteInteractive logons
    accounts = column(
        workspace,
        "SecurityEvent | where EventID == 4624 and LogonType == 10 | summarize by Account | order by Account asc",
    )
    assert "EXAMPLE\\user01" in accounts or "EXAMPLE\\admin01" in accounts
    assert column(
        workspace, "SecurityEvent | where EventID == 4624 and LogonType == 10 | summarize by IpAddress"
    ) == ["127.0.0.1"]


def test_audit_log_cleared_names_who_cleared_it(workspace: Workspace) -> None:
    # 1102 carries its subject in UserData, not EventData
    accounts = column(workspace, "SecurityEvent | where EventID == 1102 | summarize by SubjectAccount")
    assert "EXAMPLE\\admin01" in accounts
    data = column(workspace, "SecurityEvent | where EventID == 1102 | take 1 | project EventData")[0]
    assert data.startswith("<UserData>")
    assert "LogFileCleared" in data


def test_kerberos_password_spray(workspace: Workspace) -> None:
    # kerberos_pwd_spray_4771.evtx: pre-authentication failures (status 0x18: wrong password)
    rows = workspace.query("SecurityEvent | where EventID == 4771 | summarize count() by Status").rows
    assert rows == [("0x18", 2)]


def test_lsass_silent_process_exit(workspace: Workspace) -> None:
    # LsassSilentProcessExit_process_exit_monitor_3001_lsass.evtx: Application channel -> Event
    rows = workspace.query(
        "Event | where EventID == 3001 | project EventLog, Source, EventData, ParameterXml"
    ).rows
    assert len(rows) == 2
    for log, source, data, params in rows:
        assert (log, source) == ("Application", "Process Exit Monitor")
        assert "C:\\Windows\\System32\\lsass.exe" in data
        assert data.startswith("<DataItem")
        assert params.startswith("<Param>C:\\Windows\\System32\\lsass.exe</Param>")


def test_sysmon_process_creation_in_defender_columns(workspace: Workspace) -> None:
    # DE_sysmon-3-rdp-tun.evtx: plink.exe opens a reverse tunnel to 10.0.2.18
    rows = workspace.query(
        "DeviceProcessEvents | where FileName == 'plink.exe' | project DeviceName, FolderPath, ProcessCommandLine,"
        " InitiatingProcessFileName, InitiatingProcessFolderPath, AccountDomain, AccountName, SHA1, ActionType"
        " | take 1"
    ).rows
    assert rows == [
        (
            "pc01.example.corp",
            "C:\\Users\\IEUser\\Desktop\\plink.exe",
            "plink.exe  10.0.2.18 -P 80 -C -R 127.0.0.3:4444:127.0.0.2:3389 -l test -pw test",
            "cmd.exe",
            "C:\\Windows\\System32\\cmd.exe",
            "PC01",
            "IEUser",
            "7806ad24f669cd8bb9ebe16f87e90173047f8ee4",
            "ProcessCreated",
        )
    ]


def test_sysmon_network_connections(workspace: Workspace) -> None:
    rows = workspace.query(
        "DeviceNetworkEvents | where InitiatingProcessFileName == 'plink.exe' and RemotePort == 80"
        " | project ActionType, LocalIP, RemoteIP, Protocol, RemoteUrl"
    ).rows
    assert rows == [("ConnectionSuccess", "10.0.2.17", "10.0.2.18", "Tcp", "PC02")]
    # an accepted connection: Sysmon's Source is the local listener (RDP on 3389)
    inbound = workspace.query(
        "DeviceNetworkEvents | where ActionType == 'InboundConnectionAccepted' and LocalPort == 3389"
        " | summarize count() by InitiatingProcessFileName"
    ).rows
    assert inbound
    assert inbound[0][0] == "svchost.exe"


def test_sysmon_registry_run_key_persistence(workspace: Workspace) -> None:
    rows = workspace.query(
        "DeviceRegistryEvents | where RegistryValueName == 'Tendyron'"
        " | project ActionType, RegistryKey, RegistryValueData, RegistryValueType"
    ).rows
    assert len(rows) == 1
    action, key, data, value_type = rows[0]
    assert (action, data, value_type) == (
        "RegistryValueSet",
        "C:\\Users\\Public\\tools\\apt\\tendyron.exe",
        "String",
    )
    assert key.startswith("HKEY_CURRENT_USER\\S-1-5-21-")
    assert key.endswith("\\Software\\Microsoft\\Windows\\CurrentVersion\\Run")


def test_sysmon_dword_values_and_deleted_values(workspace: Workspace) -> None:
    # de_PsScriptBlockLogging_disabled_sysmon12_13.evtx: script block logging set to 0, then deleted
    rows = workspace.query(
        "DeviceRegistryEvents | where RegistryValueName == 'EnableScriptBlockLogging'"
        " | order by TimeGenerated asc | project ActionType, RegistryKey, RegistryValueData, RegistryValueType"
    ).rows
    key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Policies\\Microsoft\\Windows\\PowerShell\\ScriptBlockLogging"
    assert rows == [("RegistryValueSet", key, "0", "Dword"), ("RegistryValueDeleted", key, "", "")]


def test_sysmon_process_access_targets(workspace: Workspace) -> None:
    # ppl_bypass_ppldump_knowdll_hijack_sysmon_security.evtx: ppldump reads lsass memory
    targets = column(
        workspace,
        "DeviceEvents | where ActionType == 'OpenProcessApiCall' and FileName =~ 'lsass.exe'"
        " | summarize by InitiatingProcessFileName",
    )
    assert targets
    extra = column(
        workspace,
        "DeviceEvents | where ActionType == 'OpenProcessApiCall' | take 1 | project AdditionalFields",
    )
    assert "GrantedAccess" in extra[0]
    assert extra[0]["SysmonEventID"] == 10


def test_powershell_script_block(workspace: Workspace) -> None:
    # exec_emotet_ps_4104.evtx: the obfuscated download cradle is in the script block text
    rows = workspace.query(
        "Event | where EventLog == 'Microsoft-Windows-PowerShell/Operational' and EventID == 4104"
        " | project Computer, EventLevelName, EventData"
    ).rows
    assert len(rows) == 1
    assert rows[0][:2] == ("DESKTOP-RIPCLIP", "Verbose")
    assert '<Data Name="ScriptBlockText">' in rows[0][2]
    assert "neT.WEbcLiENt" in rows[0][2]


def test_sysmon_events_are_also_in_event_as_the_agent_stores_them(workspace: Workspace) -> None:
    rows = workspace.query(
        "Event | where Source == 'Microsoft-Windows-Sysmon' and EventID == 1 | where EventData has 'plink.exe'"
        " | take 1 | project UserName, EventLevelName, EventData"
    ).rows
    user, level, data = rows[0]
    assert (user, level) == ("NT AUTHORITY\\SYSTEM", "Information")
    assert '<Data Name="CommandLine">plink.exe  10.0.2.18' in data


# ---------------------------------------------------------------- damage


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def library_count(data: bytes) -> int:
    return sum(1 for _ in evtx.PyEvtxParser(io.BytesIO(data)).records_json())


def lost_records(rejections: list[Rejected]) -> int:
    """Records the rejections account for: one per ``#record N``, a range per ``#records a..b``."""
    lost = 0
    for rejection in rejections:
        if (chunk := re.search(r"#records (\d+)\.\.(\d+)$", rejection.source)) is not None:
            lost += int(chunk.group(2)) - int(chunk.group(1)) + 1
        else:
            assert re.search(r"#record \d+$", rejection.source), rejection
            lost += 1
    return lost


def test_damaged_records_are_rejected_one_by_one_and_the_rest_kept() -> None:
    data = bytearray(sample("Command and Control/bits_openvpn.evtx"))
    start = 4096 + 65536 + 0x200 + 2000  # inside the second chunk's records (a template many share)
    data[start : start + 400] = b"A" * 400
    outcome = parse(EvtxParser(), io.BytesIO(bytes(data)), "bits.evtx")
    kept = len(outcome.rows("Event"))
    assert 0 < kept < 1537
    assert outcome.rejected
    assert all(r.reason.startswith("unreadable record: ") for r in outcome.rejected)
    assert kept + lost_records(outcome.rejected) == 1537


def test_a_chunk_with_a_broken_string_table_is_one_rejection_naming_its_records() -> None:
    data = bytearray(sample("Command and Control/DE_RDP_Tunnel_5156.evtx"))
    start = 4096 + 0x200 + 3000
    data[start : start + 400] = b"A" * 400
    outcome = parse(EvtxParser(), io.BytesIO(bytes(data)), "rdp.evtx")
    assert [r.source for r in outcome.rejected] == ["rdp.evtx#records 1..101"]
    assert outcome.rejected[0].reason.startswith("unreadable chunk (records 1..101)")
    assert len(outcome.rows("SecurityEvent")) + lost_records(outcome.rejected) == 101


def test_a_truncated_file_keeps_its_whole_chunks_and_says_what_is_lost() -> None:
    data = sample("Command and Control/bits_openvpn.evtx")
    boundary = 4096 + 3 * 65536
    outcome = parse(EvtxParser(), io.BytesIO(data[: boundary + 1000]), "cut.evtx")
    assert len(outcome.rows("Event")) == library_count(data[:boundary]) > 0
    assert len(outcome.rejected) == 1
    assert outcome.rejected[0].reason.startswith("file truncated: its header declares")
    assert f"from byte {boundary} on are lost" in outcome.rejected[0].reason


def test_a_file_cut_inside_its_only_chunk_is_rejected_not_silently_empty() -> None:
    data = sample("Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx")
    outcome = parse(EvtxParser(), io.BytesIO(data[:30000]), "cut.evtx")
    assert outcome.rows("SecurityEvent") == []
    assert [r.source for r in outcome.rejected] == ["cut.evtx"]
    assert "file truncated" in outcome.rejected[0].reason


def test_a_broken_header_is_one_rejection() -> None:
    outcome = parse(EvtxParser(), io.BytesIO(b"ElfFile\x00" + b"\x00" * 100), "broken.evtx")
    assert outcome.tables == {}
    assert len(outcome.rejected) == 1
    assert outcome.rejected[0].reason.startswith("not a readable EVTX file")


def test_a_record_without_any_time_is_rejected() -> None:
    data = sample("Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx")
    item = next(iter(evtx.PyEvtxParser(io.BytesIO(data)).records_json()))
    import json

    event = json.loads(item["data"])["Event"]
    event["System"]["TimeCreated"]["#attributes"]["SystemTime"] = "1601-01-01T00:00:00Z"
    with pytest.raises(NoEventTime):
        record_from_json(event, "1601-01-01T00:00:00Z UTC")
    # a zero TimeCreated with a header time keeps the header's
    assert record_from_json(event, "2020-09-09T13:18:25.37712Z UTC").time.year == 2020


class Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_an_unseekable_stream_is_read_whole(parsed: dict[str, Outcome]) -> None:
    name = "Command and Control/DE_RDP_Tunnel_5156.evtx"
    outcome = parse(EvtxParser(), io.BufferedReader(Unseekable(sample(name))), "pipe")
    assert len(outcome.rows("SecurityEvent")) == len(parsed[name].rows("SecurityEvent")) == 101


def test_sniff_claims_evtx_and_nothing_else() -> None:
    parser = EvtxParser()
    head = sample("Other/emotet/exec_emotet_ps_4104.evtx")[:4096]
    assert parser.sniff(head, "anything.bin")
    assert not parser.sniff(b'{"EventID": 4624, "Channel": "Security"}\n', "x.evtx")
    assert not parser.sniff(b"", "x.evtx")


def test_path_names_in_readme_exist() -> None:
    for name in readme_expectations():
        assert Path(SAMPLES / name).is_file(), name


def test_a_crafted_record_is_rejected_alone() -> None:
    """An element with attributes where text belongs (here ``Keywords``) fails that record only."""

    def event(keywords: object, record_id: int) -> dict[str, Any]:
        system = {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}}, "EventID": 4624,
                  "TimeCreated": {"#attributes": {"SystemTime": "2026-01-01T00:00:00.000000Z"}},
                  "Channel": "Security", "Computer": "dc1", "EventRecordID": record_id, "Keywords": keywords}  # fmt: skip
        data = json.dumps(
            {"Event": {"System": system, "EventData": {"TargetUserName": "bob", "LogonType": 3}}}
        )
        return {"data": data, "event_record_id": record_id, "timestamp": "2026-01-01 00:00:00.000000 UTC"}

    batch = Parsed()
    evtx_parser._add_record(batch, event("0x8020000000000000", 1), "crafted.evtx")
    evtx_parser._add_record(batch, event({"#attributes": {"x": "1"}, "#text": "0x1"}, 2), "crafted.evtx")
    evtx_parser._add_record(batch, event("0x8020000000000000", 3), "crafted.evtx")
    assert [row["EventID"] for row in batch.tables["SecurityEvent"]] == [4624, 4624]
    (rejected,) = batch.rejected
    assert rejected.source == "crafted.evtx#record 2"
    assert "unreadable record" in rejected.reason
