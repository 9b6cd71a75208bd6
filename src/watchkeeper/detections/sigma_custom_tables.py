"""Sigma log sources whose events our parsers write into custom tables: Zeek's logs
(``product: zeek``) and Linux audit events (``product: linux``, ``service: auditd``, and the
``process_creation`` category).

- Zeek ``service: X`` reads ``Zeek_X_CL`` (:mod:`watchkeeper.ingest.parsers.zeek`); a Sigma field
  is a Zeek field name (``id.orig_h``), read from its column (``id_orig_h``). Only the fields of the
  logs Zeek's default scripts write are known (:mod:`watchkeeper.ingest.normalize.zeek`); a rule
  naming another (``client_header_names`` of a policy script) or a log not known there (``rdp``) is
  skipped. A ``set``/``vector`` field matches when one of its items does (as Sigma backends of
  Zeek's JSON logs read a list): its items are joined between newlines, which Zeek never writes
  inside an item (its writers escape control characters), and each value is matched as one item.
  A bool field takes ``'true'``/``'false'`` as written in rules.
- ``auditd`` reads ``LinuxAudit_CL`` (:mod:`watchkeeper.ingest.parsers.auditd`), one row per event.
  Sigma's auditd fields are those of one record (``type``, ``a0``..``aN`` of ``EXECVE``, ``exe``,
  ``comm``, ``key``, ``euid`` of ``SYSCALL``, ``name`` of ``PATH``...), so the query expands the
  event's ``Records`` and matches each record alone, its fields as auditd wrote them (text: a rule's
  number ``a0: 26`` is the text ``26``, the hex auditd writes). ``SYSCALL`` is the syscall's name:
  the ENRICHED log's, or the parser's name of the number (``SyscallName``, x86-64); a rule naming a
  syscall the parser does not name would never match a RAW log and is skipped. Keywords are
  searched in the record's fields.
- Linux ``process_creation`` reads the ``LinuxAudit_CL`` events of a successful ``execve`` (they
  have an ``EXECVE`` record): ``Image`` is ``exe``, ``CommandLine`` the joined arguments,
  ``CurrentDirectory`` the ``CWD`` record, ``User`` the ENRICHED log's user name (uid 0 is
  ``root`` in a RAW log). An audit event does not say what the parent process ran, nor a logon id:
  rules on ``ParentImage``, ``ParentCommandLine`` or ``LogonId`` are skipped.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache, partial

from sigma.processing.conditions import IncludeFieldCondition
from sigma.processing.pipeline import ProcessingItem
from sigma.processing.transformations.base import ValueTransformation
from sigma.types import SigmaBool, SigmaNumber, SigmaString, SigmaType, SpecialChars

from watchkeeper.detections.sigma_route import Route, UnmappedError, kql_literal
from watchkeeper.ingest.normalize.linux_audit import syscall_name
from watchkeeper.ingest.normalize.zeek import known_log, known_logs, log_fields
from watchkeeper.ingest.parsers.auditd import COLUMN_TYPES
from watchkeeper.ingest.parsers.auditd import TABLE as AUDIT_TABLE
from watchkeeper.ingest.parsers.zeek import zeek_column, zeek_columns, zeek_table
from watchkeeper.schema import KqlType
from watchkeeper.schema.catalog import TableDef, custom_table

__all__ = ["auditd_route", "custom_tables", "linux_process_route", "zeek_route"]

# ---------------------------------------------------------------- Zeek

_ITEM_BREAK = "\n"


def zeek_route(service: str) -> Route:
    """The route of Zeek log ``service``; :class:`UnmappedError` for a log whose fields are unknown."""
    if not known_log(service):
        raise UnmappedError(f"the fields of Zeek's {service} log are not known (no table holds it)")
    types = zeek_columns(service)
    fields = {name: zeek_column(name) for name, _ in log_fields(service)}
    lists = frozenset(name for name, column in fields.items() if types[column] is KqlType.DYNAMIC)
    bools = frozenset(name for name, column in fields.items() if types[column] is KqlType.BOOL)
    return Route(
        zeek_table(service),
        columns={name: column for name, column in fields.items() if name not in lists},
        derived={name: _joined_items(fields[name]) for name in lists},
        own_columns=False,
        items=partial(_zeek_items, lists, bools),
    )


def _joined_items(column: str) -> str:
    """A list column as its items between item breaks (``\\nA\\nB\\n``; empty for no items)."""
    brk = kql_literal(_ITEM_BREAK)
    return f'iff(array_length({column}) > 0, strcat({brk}, strcat_array({column}, {brk}), {brk}), "")'


def _zeek_items(lists: Collection[str], bools: Collection[str]) -> list[ProcessingItem]:
    items = []
    if lists:
        items.append(
            ProcessingItem(ListItemValues(), field_name_conditions=[IncludeFieldCondition(list(lists))])
        )
    if bools:
        items.append(ProcessingItem(BoolValues(), field_name_conditions=[IncludeFieldCondition(list(bools))]))
    return items


class ListItemValues(ValueTransformation):
    """A value of a list field as the pattern of one item of the joined items (``A`` is
    ``*\\nA\\n*``, ``A*`` is ``*\\nA*``): the field matches when one of its items does."""

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | None:
        if isinstance(val, SigmaNumber):
            val = SigmaString(str(val))
        if not isinstance(val, SigmaString):
            raise UnmappedError(f"a {type(val).__name__} value of the list field {field!r}")
        if not val.startswith(SpecialChars.WILDCARD_MULTI):
            val = SpecialChars.WILDCARD_MULTI + (_ITEM_BREAK + val)
        if not val.endswith(SpecialChars.WILDCARD_MULTI):
            val = val + _ITEM_BREAK + SpecialChars.WILDCARD_MULTI
        return val


class BoolValues(ValueTransformation):
    """``'true'``/``'false'`` (as rules write them for Zeek's ``T``/``F``) as booleans."""

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | None:
        if isinstance(val, SigmaBool):
            return None
        text = str(val).lower()
        if text not in ("true", "false"):
            raise UnmappedError(f"the value {str(val)!r} of the bool field {field!r} is not true or false")
        return SigmaBool(text == "true")


# ---------------------------------------------------------------- auditd

_RECORD = "Sigma_Record"  # the record of an event's Records the query matches
_X86_64 = "c000003e"
_SYSCALL = (
    f'iff(isnotempty(tostring({_RECORD}["SYSCALL"])), tostring({_RECORD}["SYSCALL"]), '
    f'iff(tostring({_RECORD}["type"]) == "SYSCALL", SyscallName, ""))'
)


@cache
def _named_syscalls() -> frozenset[str]:
    """The syscalls the parser names (``SyscallName``) in a RAW log."""
    return frozenset(syscall_name(_X86_64, str(number)) for number in range(1024)) - {""}


def auditd_route() -> Route:
    """The route of ``service: auditd``: each record of each event in ``LinuxAudit_CL``."""
    return Route(
        AUDIT_TABLE,
        expand=f"mv-expand {_RECORD} = Records",
        derived={"SYSCALL": _SYSCALL},
        raw="record",
        own_columns=False,
        keywords=f"tostring({_RECORD})",
        items=_audit_items,
    )


def record_field(name: str) -> str:
    """A field of the record the auditd route matches, as text."""
    return f"tostring({_RECORD}[{kql_literal(name)}])"


def _audit_items() -> list[ProcessingItem]:
    return [
        ProcessingItem(RecordValues()),
        ProcessingItem(SyscallNames(), field_name_conditions=[IncludeFieldCondition(["SYSCALL"])]),
    ]


class RecordValues(ValueTransformation):
    """A number in a rule is the text auditd writes (``a0: 26`` is the hex argument ``26``)."""

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | None:
        return SigmaString(str(val)) if isinstance(val, SigmaNumber) else None


class SyscallNames(ValueTransformation):
    """A ``SYSCALL`` name the parser cannot give for a RAW log: the rule is skipped."""

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | None:
        name = str(val).lower()
        if isinstance(val, SigmaString) and val.contains_special():
            raise UnmappedError("a syscall name with a wildcard (the parser names syscalls exactly)")
        if name not in _named_syscalls():
            raise UnmappedError(f"syscall {name!r} is not one the auditd parser names in RAW logs")
        return None


# ---------------------------------------------------------------- Linux process creation

_PROCESS = {
    "Image": "Exe",
    "CommandLine": "CommandLine",
    "CurrentDirectory": "Cwd",
    "ProcessId": "ProcessId",
    "ParentProcessId": "ParentProcessId",
    "Computer": "Computer",
}
_USER = 'iff(isnotempty(UserName), UserName, iff(UserId == 0, "root", ""))'


def linux_process_route() -> Route:
    """The route of Linux ``process_creation``: successful ``execve`` events in ``LinuxAudit_CL``."""
    return Route(
        AUDIT_TABLE,
        where='Success == true and set_has_element(RecordTypes, "EXECVE")',
        columns=_PROCESS,
        derived={"User": _USER},
        own_columns=False,
        keywords="CommandLine",
    )


# ---------------------------------------------------------------- the tables


@cache
def custom_tables() -> tuple[TableDef, ...]:
    """The custom tables these routes read, as the parsers fill them (the catalog rules compile in)."""
    zeek = (custom_table(zeek_table(log), zeek_columns(log).items()) for log in known_logs())
    return (*zeek, custom_table(AUDIT_TABLE, COLUMN_TYPES.items()))
