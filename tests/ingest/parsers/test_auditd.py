"""Linux auditd logs into LinuxAudit_CL (one row per event), over the OTRF atomic Linux recordings
(MIT), read from the shared datasets: every event arrives, and KQL answers what the raw lines say."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.ingest.parsers.auditd import OPEN_EVENTS, AuditdParser
from watchkeeper.ingest.parsers.base import Rejected

LINUX = SHARED / "datasets" / "linux" / "security-datasets"
LOGS = sorted(LINUX.glob("sh_*.zip"))
AUOMS = SHARED / "datasets" / "linux" / "security-datasets-log4shell"
pytestmark = pytest.mark.skipif(not LOGS, reason=f"the auditd recordings are not at {LINUX}")
SERIAL = re.compile(rb"msg=audit\(\d+\.\d+:(\d+)\)")


def read_zip(path: Any) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(archive.namelist()[0])


def parse(data: bytes, source: str = "audit.log") -> tuple[list[dict[str, Any]], list[Rejected]]:
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for batch in AuditdParser().parse(io.BytesIO(data), source):
        rows.extend(batch.tables.get("LinuxAudit_CL", []))
        rejected.extend(batch.rejected)
    return rows, rejected


def raw_field(data: bytes, kind: str, name: str) -> list[str]:
    """A field's values in records of type ``kind``, read with a plain regex."""
    pattern = re.compile(rf"type={kind} [^\n]*?\b{name}=\"?([^\"\s]*)\"?".encode())
    return [m.group(1).decode() for m in pattern.finditer(data)]


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    ws = Workspace.open(None)
    for path in LOGS:
        rows, rejected = parse(read_zip(path), path.name)
        assert not rejected
        ws.ingest("LinuxAudit_CL", rows)
    return ws


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_every_event_of_the_recordings_is_one_row(path: Any) -> None:
    data = read_zip(path)
    rows, rejected = parse(data, path.name)
    assert not rejected
    serials = sorted({int(s) for s in SERIAL.findall(data)})
    assert sorted(r["EventSerial"] for r in rows) == serials
    records = sum(1 for line in data.splitlines() if line.strip())
    assert sum(len(r["Records"]) for r in rows) == records  # every record is kept with its event
    assert AuditdParser().sniff(data[:8192], path.name)


def test_the_arp_cache_discovery_shows_its_command_and_user(workspace: Workspace) -> None:
    data = read_zip(LINUX / "sh_arp_cache.zip")
    found = [list(r) for r in workspace.query(
        "LinuxAudit_CL | where SyscallName == 'execve' and Comm == 'arp'"
        " | project CommandLine, Exe, Cwd, AuditUserId, Success, ProcessTitle"
    ).rows]  # fmt: skip
    arguments = " ".join(re.findall(r'a\d="([^"]*)"', data.decode().splitlines()[1]))
    exe = raw_field(data, "SYSCALL", "exe")[0]
    cwd = raw_field(data, "CWD", "cwd")[0]
    auid = int(raw_field(data, "SYSCALL", "auid")[0])
    # PROCTITLE is hex: the decoded title is the command line too
    title = bytes.fromhex(raw_field(data, "PROCTITLE", "proctitle")[0]).replace(b"\0", b" ").decode()
    assert found == [[arguments, exe, cwd, auid, True, title]]
    assert arguments == "arp -a"


def test_the_dd_padding_is_found_by_its_arguments(workspace: Workspace) -> None:
    found = workspace.query(
        "LinuxAudit_CL | where CommandLine has 'if=/dev/zero' | project Comm, FileNames, RecordTypes"
    ).rows
    assert len(found) == 1
    comm, files, types = found[0]
    assert comm == "dd"
    assert "/bin/dd" in files
    assert list(types) == ["SYSCALL", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE"]


def test_interleaved_records_join_their_events() -> None:
    lines = [
        'type=SYSCALL msg=audit(1700000000.100:10): arch=c000003e syscall=2 success=no exit=-13 pid=5 uid=1000 comm="cat" exe="/bin/cat" key="shadow"',
        'type=SYSCALL msg=audit(1700000000.200:11): arch=c000003e syscall=59 success=yes exit=0 pid=6 uid=0 comm="id" exe="/usr/bin/id" key=(null)',
        'type=PATH msg=audit(1700000000.100:10): item=0 name="/etc/shadow" nametype=NORMAL',
        'type=EXECVE msg=audit(1700000000.200:11): argc=2 a0="id" a1_len=6 a1[0]=2D2D7573 a1[1]=6572',
        "type=EOE msg=audit(1700000000.100:10): ",
        "type=EOE msg=audit(1700000000.200:11): ",
    ]
    rows, rejected = parse("\n".join(lines).encode() + b"\n")
    assert not rejected
    assert [(r["EventSerial"], r["SyscallName"], r["Success"], r["ExitCode"], r["Key"]) for r in rows] == [
        (10, "open", False, -13, "shadow"),
        (11, "execve", True, 0, ""),
    ]
    assert rows[0]["FileNames"] == ["/etc/shadow"]
    assert rows[1]["CommandLine"] == "id --user"  # a long argument arrives in hex pieces


def test_user_space_records_name_the_account_and_the_result() -> None:
    line = (
        "node=web1 type=USER_LOGIN msg=audit(1700000100.000:77): pid=900 uid=0 auid=4294967295 ses=4294967295 "
        'msg=\'op=login acct="mallory" exe="/usr/sbin/sshd" hostname=? addr=203.0.113.9 terminal=sshd res=failed\''
        '\x1dUID="root" AUID="unset"\n'
    )
    rows, rejected = parse(line.encode())
    assert not rejected
    row = rows[0]
    assert (row["Computer"], row["RecordType"], row["Operation"], row["Account"], row["Address"], row["Result"]) == (
        "web1", "USER_LOGIN", "login", "mallory", "203.0.113.9", "failed"
    )  # fmt: skip
    assert (row["UserName"], row["AuditUserName"], row["Hostname"], row["ProcessId"]) == (
        "root",
        "unset",
        "",
        900,
    )


def test_open_events_are_bounded() -> None:
    lines = [
        f"type=SYSCALL msg=audit(1700000000.000:{n}): syscall=59 pid={n}" for n in range(OPEN_EVENTS * 3)
    ]
    batches = list(AuditdParser().parse(io.BytesIO("\n".join(lines).encode() + b"\n"), "many.log"))
    assert sum(b.rows for b in batches) == OPEN_EVENTS * 3


def test_unreadable_lines_are_rejected_and_the_rest_kept(workspace: Workspace) -> None:
    data = read_zip(LINUX / "sh_binary_padding_dd.zip").splitlines(keepends=True)
    broken = [
        data[0],
        b"this is not an audit record\n",
        data[1],
        b'type=CWD msg=audit(1.0:5): cwd="/h\xe9"\n',
        *data[2:],
        b"type=SYSCALL msg=audit(1604996390.000:93800): arch=c000003e sysc",
    ]
    rows, rejected = parse(b"".join(broken), "dd.log")
    assert len(rows) == 1
    assert len(rows[0]["Records"]) == len(data)
    assert [(r.source, r.reason.split(":")[0]) for r in rejected] == [
        ("dd.log:2", "not an audit record"),
        ("dd.log:4", "invalid UTF-8 at byte 34 of the line"),
        (f"dd.log:{len(broken)}", "truncated"),
    ]


def test_sniffing_claims_raw_audit_logs_only() -> None:
    parser = AuditdParser()
    assert parser.sniff(
        b'Nov 10 07:48:16 ubuntu audispd: type=CWD msg=audit(1604994496.155:92733): cwd="/"\n', "messages"
    )
    assert not parser.sniff(b'{"SyslogMessage": "type=SYSCALL msg=audit(1.0:1): syscall=59"}\n', "x.json")
    assert not parser.sniff(b"2024-01-01 something else entirely\n", "x.log")
    auoms = sorted(AUOMS.glob("syslog_auoms_*.zip"))
    if auoms:  # AUOMS output exported from Syslog: JSON, not audit.log lines
        assert not parser.sniff(read_zip(auoms[0])[:8192], auoms[0].name)
