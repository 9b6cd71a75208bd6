"""Linux audit logs (auditd's ``/var/log/audit/audit.log``) -> ``LinuxAudit_CL``, one row per event.

Sentinel has no standard table for raw auditd logs (the Azure Monitor agent's auditd plugin,
AUOMS, sends them as ``Syslog`` messages, which leaves every field to ``parse`` at query time). An
analyst asks per event: which command ran, by whom, in which directory, on which files, with which
result. So the records of one event (same ``msg=audit(time:serial)`` and node: SYSCALL, EXECVE,
CWD, PATH, PROCTITLE...) are joined into one row of ``LinuxAudit_CL`` with typed columns:

- ``TimeGenerated`` (the event time), ``Computer`` (``node=``), ``AuditEventId``
  (``SECONDS.MILLIS:SERIAL`` as ``ausearch -a`` takes it), ``EventSerial``;
- ``RecordType`` (the event's first record type, e.g. ``SYSCALL``, ``USER_LOGIN``) and
  ``RecordTypes`` (all of them, dynamic);
- from SYSCALL: ``Syscall`` (number), ``SyscallName`` (x86-64 names of the usually watched
  syscalls), ``Success`` (bool), ``ExitCode``, ``ProcessId``, ``ParentProcessId``,
  ``AuditUserId`` (auid; 4294967295 is unset), ``UserId``, ``GroupId``, ``EffectiveUserId``,
  ``SessionId``, ``Tty``, ``Comm``, ``Exe``, ``Key`` (rule key; ``(null)`` is empty);
- ``CommandLine`` (EXECVE arguments joined by spaces, else the decoded PROCTITLE), ``ProcessTitle``,
  ``Cwd``, ``FileNames`` (the PATH records' names, dynamic);
- from user-space records (``msg='...'``): ``Operation`` (op), ``Account`` (acct), ``Hostname``,
  ``Address`` (addr), ``Terminal``, ``Result`` (res);
- ``UserName`` / ``AuditUserName`` from the ENRICHED format's ``UID`` / ``AUID`` when present;
- ``Records``: every record's type and fields (dynamic), so nothing of the event is lost.

The records of an event are usually consecutive but may interleave with another's; an event is
complete at its EOE record, or when 256 newer events are open, or at the end of the source.
Hex-encoded values are decoded. A line that is not an audit record, is not UTF-8, or is the last
line without a newline (cut off) is rejected with its line number.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

from watchkeeper.ingest.normalize.linux_audit import AuditRecord, read_record, syscall_name
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.schema.types import KqlType

__all__ = ["COLUMN_TYPES", "TABLE", "AuditdParser", "event_row"]

TABLE = "LinuxAudit_CL"
# events kept open for records that arrive interleaved with other events' records
OPEN_EVENTS = 256
_EVENT_END = "EOE"
# SYSCALL fields -> numeric columns
_NUMBERS = {
    "exit": "ExitCode",
    "pid": "ProcessId",
    "ppid": "ParentProcessId",
    "auid": "AuditUserId",
    "uid": "UserId",
    "gid": "GroupId",
    "euid": "EffectiveUserId",
    "ses": "SessionId",
}
_TEXTS = {"syscall": "Syscall", "tty": "Tty", "comm": "Comm", "exe": "Exe", "key": "Key"}
# user-space record fields -> columns
_USER = {
    "op": "Operation",
    "acct": "Account",
    "hostname": "Hostname",
    "addr": "Address",
    "terminal": "Terminal",
    "res": "Result",
}
_EMPTY = ("", "?", "(null)", "(none)")
_COLUMNS = [
    "TimeGenerated",
    "Computer",
    "AuditEventId",
    "EventSerial",
    "RecordType",
    "RecordTypes",
    "SyscallName",
    "Success",
    "CommandLine",
    "ProcessTitle",
    "Cwd",
    "FileNames",
    "UserName",
    "AuditUserName",
    "Records",
]

_DYNAMIC = ("RecordTypes", "FileNames", "Records")
# every column's type, declared with each batch: a column all of whose values are empty in the batch
# that creates the table would otherwise be typed as text (Success, the numbers of user-space events)
COLUMN_TYPES: dict[str, KqlType] = {
    **dict.fromkeys([*_COLUMNS, *_TEXTS.values(), *_USER.values()], KqlType.STRING),
    **dict.fromkeys(_NUMBERS.values(), KqlType.LONG),
    **dict.fromkeys(_DYNAMIC, KqlType.DYNAMIC),
    "TimeGenerated": KqlType.DATETIME,
    "EventSerial": KqlType.LONG,
    "Success": KqlType.BOOL,
}


class AuditdParser:
    """auditd log lines into ``LinuxAudit_CL``, one row per audit event."""

    name: ClassVar[str] = "auditd"
    tables: ClassVar[tuple[str, ...]] = (TABLE,)

    def sniff(self, head: bytes, filename: str) -> bool:
        """A line of the head that is an audit record (not JSON carrying one in a string)."""
        for line in head.split(b"\n")[:20]:
            text = line.decode("utf-8", errors="replace").lstrip()
            if text[:1] not in ("{", "[", '"') and read_record(text) is not None:
                return True
        return False

    def parse(self, stream: BinaryIO, source: str) -> Iterator[Parsed]:
        """Rows of ``LinuxAudit_CL``, one per event; unreadable lines rejected."""
        batch = Parsed()
        events: OrderedDict[tuple[str, str, int], list[AuditRecord]] = OrderedDict()
        for number, line in enumerate(stream, start=1):
            record = _read(batch, line, f"{source}:{number}")
            if record is not None:
                for done in _gather(events, record):
                    _add(batch, event_row(done))
            if batch.full:
                yield batch
                batch = Parsed()
        for rest in events.values():
            _add(batch, event_row(rest))
        if batch.rows or batch.rejected:
            yield batch


def _add(batch: Parsed, row: dict[str, Any]) -> None:
    if TABLE not in batch.columns:
        batch.declare(TABLE, COLUMN_TYPES)
    batch.add(TABLE, row)


def _read(batch: Parsed, line: bytes, where: str) -> AuditRecord | None:
    if not line.strip():
        return None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        batch.reject(where, line, f"invalid UTF-8 at byte {exc.start} of the line")
        return None
    if not text.endswith("\n"):
        batch.reject(where, text, "truncated: the last line has no newline (auditd writes whole lines)")
        return None
    record = read_record(text.rstrip("\r\n"))
    if record is None:
        batch.reject(
            where, text.rstrip("\r\n"), "not an audit record: no 'type=... msg=audit(time:serial):' header"
        )
    return record


def _gather(
    events: OrderedDict[tuple[str, str, int], list[AuditRecord]], record: AuditRecord
) -> Iterator[list[AuditRecord]]:
    """Add ``record`` to its event; yield the events that are complete."""
    key = (record.node, record.stamp, record.serial)
    if record.type == _EVENT_END:
        done = events.pop(key, None)
        if done:
            yield done
        return
    events.setdefault(key, []).append(record)
    while len(events) > OPEN_EVENTS:
        yield events.popitem(last=False)[1]


def event_row(records: list[AuditRecord]) -> dict[str, Any]:
    """The ``LinuxAudit_CL`` row of one event's records."""
    first = records[0]
    row: dict[str, Any] = dict.fromkeys(_COLUMNS)
    row["FileNames"] = []
    row.update(dict.fromkeys(_NUMBERS.values()))
    row.update(dict.fromkeys([*_TEXTS.values(), *_USER.values()], ""))
    row.update(
        TimeGenerated=first.time,
        Computer=first.node,
        AuditEventId=first.event_id,
        EventSerial=first.serial,
        RecordType=first.type,
        RecordTypes=[r.type for r in records],
        Records=[{"type": r.type, **r.fields, **r.enriched} for r in records],
    )
    for record in records:
        _fill(row, record)
    return row


def _fill(row: dict[str, Any], record: AuditRecord) -> None:
    fields = record.fields
    if record.type == "SYSCALL":
        _syscall(row, fields)
    elif record.type == "EXECVE":
        row["CommandLine"] = " ".join(_argument(fields, i) for i in range(_count(fields)))
    elif record.type == "PROCTITLE":
        row["ProcessTitle"] = fields.get("proctitle", "")
        row["CommandLine"] = row["CommandLine"] or row["ProcessTitle"]
    elif record.type == "CWD":
        row["Cwd"] = fields.get("cwd", "")
    elif record.type == "PATH" and fields.get("name", "") not in _EMPTY:
        row["FileNames"].append(fields["name"])
    elif record.type.startswith(("USER_", "CRED_", "LOGIN", "ADD_", "DEL_")):
        _texts(row, fields, _USER)
        _numbers(row, fields)
    row["UserName"] = row["UserName"] or record.enriched.get("UID")
    row["AuditUserName"] = row["AuditUserName"] or record.enriched.get("AUID")


def _syscall(row: dict[str, Any], fields: dict[str, str]) -> None:
    _texts(row, fields, _TEXTS)
    _numbers(row, fields)
    row["SyscallName"] = syscall_name(fields.get("arch", ""), fields.get("syscall", ""))
    if fields.get("success") in ("yes", "no"):
        row["Success"] = fields["success"] == "yes"


def _texts(row: dict[str, Any], fields: dict[str, str], columns: dict[str, str]) -> None:
    for field, column in columns.items():
        value = fields.get(field, "")
        if value not in _EMPTY:
            row[column] = value


def _numbers(row: dict[str, Any], fields: dict[str, str]) -> None:
    for field, column in _NUMBERS.items():
        value = fields.get(field, "")
        if value.lstrip("-").isdigit():
            row[column] = int(value)


def _argument(fields: dict[str, str], index: int) -> str:
    """EXECVE argument ``index``; a long one comes in pieces ``aN[0]``, ``aN[1]``..."""
    name = f"a{index}"
    if name in fields:
        return fields[name]
    return "".join(fields[f"{name}[{k}]"] for k in range(len(fields)) if f"{name}[{k}]" in fields)


def _count(fields: dict[str, str]) -> int:
    argc = fields.get("argc", "")
    return int(argc) if argc.isdigit() else sum(1 for key in fields if key[:1] == "a" and key[1:].isdigit())
