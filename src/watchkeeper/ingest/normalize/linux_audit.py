"""Linux audit records: reading one line, and the field encodings of the audit system.

A record is ``[node=HOST ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`` (auditd's log
format, ``auditd.conf(5)``; a syslog prefix such as ``audispd:`` before it is allowed). Values are
``"quoted"`` text, bare tokens, or hex for fields that may hold any bytes (``proctitle``, EXECVE
arguments, ``name``, ``cwd``, ``comm``, ``exe`` when not quoted). User-space records
(``USER_LOGIN``, ``USER_CMD``...) carry their own fields inside ``msg='...'``. In the ENRICHED log
format the interpreted values follow a GS character (0x1d) as upper-case keys (``UID="root"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["AuditRecord", "decode_untrusted", "read_record", "syscall_name"]

_HEADER = re.compile(
    r"(?:^|\s)(?:node=(?P<node>\S+) )?type=(?P<type>[A-Za-z0-9_]+) "
    r"msg=audit\((?P<sec>\d+)\.(?P<ms>\d+):(?P<serial>\d+)\):\s?"
)
_FIELD = re.compile(r"""([A-Za-z0-9_-]+(?:\[\d+\])?)=("[^"]*"|'[^']*'|\S*)""")
_HEX = re.compile(r"(?:[0-9A-F]{2})+")
# fields whose unquoted value is hex-encoded bytes (audit_log_untrustedstring in the kernel): by
# record type, and for other types; a SYSCALL's a0..a3 are numbers, an EXECVE's are arguments
_UNTRUSTED = {"EXECVE": re.compile(r"a\d+(?:\[\d+\])?"), "PROCTITLE": re.compile("proctitle")}
_UNTRUSTED_ANY = re.compile(r"comm|exe|cwd|name|acct|key|cmd|data")
# user-space records wrap their fields in msg='...'
_NESTED = "msg"


@dataclass(slots=True)
class AuditRecord:
    """One line: its type, the event it belongs to (time and serial) and its fields, decoded."""

    type: str
    time: datetime
    stamp: str
    serial: int
    node: str
    fields: dict[str, str] = field(default_factory=dict)
    enriched: dict[str, str] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        """``SECONDS.MILLIS:SERIAL``, as ``ausearch -a`` takes it."""
        return f"{self.stamp}:{self.serial}"


def read_record(line: str) -> AuditRecord | None:
    """The record on ``line``, or None if it has no audit header."""
    header = _HEADER.search(line)
    if header is None:
        return None
    raw, _, enriched = line[header.end() :].partition("\x1d")
    millis = int(header["ms"].ljust(3, "0")[:3])
    time = datetime.fromtimestamp(int(header["sec"]) + millis / 1000, UTC)
    stamp = f"{header['sec']}.{header['ms']}"
    record = AuditRecord(header["type"], time, stamp, int(header["serial"]), header["node"] or "")
    record.fields = _fields(raw, record.type)
    record.enriched = {key: _unquote(value) for key, value in _FIELD.findall(enriched)}
    return record


def _fields(text: str, kind: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    untrusted = _UNTRUSTED.get(kind, _UNTRUSTED_ANY)
    for key, value in _FIELD.findall(text):
        if key == _NESTED and value.startswith("'"):
            fields.update(_fields(value[1:-1], kind))
        else:
            fields[key] = decode_untrusted(value, hexed=untrusted.fullmatch(key) is not None)
    return fields


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def decode_untrusted(value: str, *, hexed: bool) -> str:
    """A field's text: quotes removed, or hex decoded if it is a field the kernel hex-encodes
    (``hexed``; NUL separators, as between ``proctitle``'s arguments, become spaces)."""
    if value[:1] in "\"'":
        return _unquote(value)
    if hexed and _HEX.fullmatch(value):
        return bytes.fromhex(value).decode("utf-8", errors="replace").replace("\x00", " ").rstrip()
    return value


def syscall_name(arch: str, number: str) -> str:
    """The name of syscall ``number`` on x86-64 (``arch=c000003e``), for the syscalls audit rules
    usually watch; "" when unknown."""
    if arch != "c000003e" or not number.isdigit():
        return ""
    return _X86_64.get(int(number), "")


# x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl), those security audit rules watch
_X86_64 = {
    0: "read", 1: "write", 2: "open", 3: "close", 41: "socket", 42: "connect", 43: "accept",
    44: "sendto", 45: "recvfrom", 49: "bind", 50: "listen", 56: "clone", 57: "fork", 58: "vfork",
    59: "execve", 62: "kill", 76: "truncate", 77: "ftruncate", 82: "rename", 83: "mkdir",
    84: "rmdir", 85: "creat", 86: "link", 87: "unlink", 88: "symlink", 90: "chmod", 91: "fchmod",
    92: "chown", 93: "fchown", 94: "lchown", 101: "ptrace", 105: "setuid", 106: "setgid",
    113: "setreuid", 114: "setregid", 117: "setresuid", 119: "setresgid", 133: "mknod",
    165: "mount", 166: "umount2", 169: "reboot", 170: "sethostname", 175: "init_module",
    176: "delete_module", 246: "kexec_load", 257: "openat", 258: "mkdirat", 260: "fchownat",
    263: "unlinkat", 264: "renameat", 265: "linkat", 266: "symlinkat", 268: "fchmodat",
    288: "accept4", 313: "finit_module", 316: "renameat2", 319: "memfd_create", 322: "execveat",
}  # fmt: skip
