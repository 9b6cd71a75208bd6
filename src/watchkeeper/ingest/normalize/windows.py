"""Windows event records into Sentinel's Windows tables, whatever they were read from.

Both the EVTX parser and the Security-Datasets JSON parser reduce a record to a :class:`WindowsRecord`
(its System header and its event data by field name) and hand it to :func:`rows_for`, which writes:

- the ``Security`` channel to ``SecurityEvent``: every event-data field whose name is a column of the
  table (sentinel-table-schemas.md, SecurityEvent), plus the columns Sentinel derives: ``Account``
  (the target account if the event names one, else the subject, as ``DOMAIN\\user``), ``AccountType``
  (``Machine`` for names ending in ``$``), ``SubjectAccount``/``TargetAccount`` (``-\\-`` kept as Sentinel
  writes it), ``Activity`` (``"4624 - An account was successfully logged on."``, or the bare id for an
  event not in :data:`SECURITY_ACTIVITIES`), ``LogonTypeName`` (``"3 - Network"``), ``Process`` (the file
  name of ``NewProcessName``/``ProcessName``), ``Level`` (``"8"`` audit success, ``"16"`` audit failure)
  and ``EventData`` (the event data as XML);
- every other channel to ``Event``, the table the Windows agent fills from event logs and that Sentinel's
  Sysmon parser and hunting queries read (``Source``, ``EventLog``, ``EventLevelName``, ``EventData`` as
  the agent's ``<DataItem>`` XML, ``ParameterXml``, ``RenderedDescription``, ``UserName``);
- Sysmon events additionally to the Defender XDR tables (:mod:`watchkeeper.ingest.normalize.sysmon`).

The column shapes follow rows exported from a Sentinel workspace (Security-Datasets' Golden SAML
``WindowsEvents`` export: ``SubjectAccount`` ``-\\-``, ``Level`` ``"8"``, ``Activity`` ``"412"``).
"""

from __future__ import annotations

import ntpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from watchkeeper.schema import Catalog, KqlType

__all__ = [
    "EVENT_NS",
    "SECURITY_ACTIVITIES",
    "SYSMON_CHANNEL",
    "WINDOWS_TABLES",
    "WindowsRecord",
    "event_row",
    "file_name",
    "parse_time",
    "rows_for",
    "security_event_row",
]

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SECURITY_CHANNEL = "Security"
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
# the tables Windows events fill: Security, other channels, and (Sysmon) the Defender XDR tables
WINDOWS_TABLES = (
    "SecurityEvent",
    "Event",
    "DeviceProcessEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceRegistryEvents",
    "DeviceImageLoadEvents",
    "DeviceEvents",
)

# Security audit event descriptions, as the first line of each event's message (and Sentinel's
# Activity column) reads; the events Sentinel's detections and hunting queries use most.
SECURITY_ACTIVITIES: dict[int, str] = {
    1100: "The event logging service has shut down.",
    1102: "The audit log was cleared.",
    4608: "Windows is starting up.",
    4616: "The system time was changed.",
    4624: "An account was successfully logged on.",
    4625: "An account failed to log on.",
    4627: "Group membership information.",
    4634: "An account was logged off.",
    4647: "User initiated logoff.",
    4648: "A logon was attempted using explicit credentials.",
    4656: "A handle to an object was requested.",
    4657: "A registry value was modified.",
    4658: "The handle to an object was closed.",
    4660: "An object was deleted.",
    4661: "A handle to an object was requested.",
    4662: "An operation was performed on an object.",
    4663: "An attempt was made to access an object.",
    4670: "Permissions on an object were changed.",
    4672: "Special privileges assigned to new logon.",
    4673: "A privileged service was called.",
    4674: "An operation was attempted on a privileged object.",
    4688: "A new process has been created.",
    4689: "A process has exited.",
    4690: "An attempt was made to duplicate a handle to an object.",
    4697: "A service was installed in the system.",
    4698: "A scheduled task was created.",
    4699: "A scheduled task was deleted.",
    4700: "A scheduled task was enabled.",
    4701: "A scheduled task was disabled.",
    4702: "A scheduled task was updated.",
    4703: "A token right was adjusted.",
    4704: "A user right was assigned.",
    4719: "System audit policy was changed.",
    4720: "A user account was created.",
    4722: "A user account was enabled.",
    4723: "An attempt was made to change an account's password.",
    4724: "An attempt was made to reset an account's password.",
    4725: "A user account was disabled.",
    4726: "A user account was deleted.",
    4727: "A security-enabled global group was created.",
    4728: "A member was added to a security-enabled global group.",
    4729: "A member was removed from a security-enabled global group.",
    4732: "A member was added to a security-enabled local group.",
    4733: "A member was removed from a security-enabled local group.",
    4738: "A user account was changed.",
    4740: "A user account was locked out.",
    4741: "A computer account was created.",
    4742: "A computer account was changed.",
    4743: "A computer account was deleted.",
    4756: "A member was added to a security-enabled universal group.",
    4757: "A member was removed from a security-enabled universal group.",
    4765: "SID History was added to an account.",
    4767: "A user account was unlocked.",
    4768: "A Kerberos authentication ticket (TGT) was requested.",
    4769: "A Kerberos service ticket was requested.",
    4770: "A Kerberos service ticket was renewed.",
    4771: "Kerberos pre-authentication failed.",
    4776: "The computer attempted to validate the credentials for an account.",
    4778: "A session was reconnected to a Window Station.",
    4779: "A session was disconnected from a Window Station.",
    4781: "The name of an account was changed.",
    4794: "An attempt was made to set the Directory Services Restore Mode administrator password.",
    4798: "A user's local group membership was enumerated.",
    4799: "A security-enabled local group membership was enumerated.",
    4985: "The state of a transaction has changed.",
    5136: "A directory service object was modified.",
    5137: "A directory service object was created.",
    5140: "A network share object was accessed.",
    5142: "A network share object was added.",
    5145: "A network share object was checked to see whether client can be granted desired access.",
    5156: "The Windows Filtering Platform has permitted a connection.",
    5157: "The Windows Filtering Platform has blocked a connection.",
    5158: "The Windows Filtering Platform has permitted a bind to a local port.",
    5379: "Credential Manager credentials were read.",
    7045: "A service was installed in the system.",
}

LOGON_TYPE_NAMES: dict[int, str] = {
    0: "System",
    2: "Interactive",
    3: "Network",
    4: "Batch",
    5: "Service",
    7: "Unlock",
    8: "NetworkCleartext",
    9: "NewCredentials",
    10: "RemoteInteractive",
    11: "CachedInteractive",
    12: "CachedRemoteInteractive",
    13: "CachedUnlock",
}

LEVEL_NAMES: dict[int, str] = {
    0: "Information",
    1: "Critical",
    2: "Error",
    3: "Warning",
    4: "Information",
    5: "Verbose",
}

# Keywords bits of the Security channel: audit success / failure (Sentinel's Level "8" / "16")
_AUDIT_SUCCESS = 0x0020000000000000
_AUDIT_FAILURE = 0x0010000000000000

WELL_KNOWN_SIDS: dict[str, str] = {
    "S-1-5-18": "NT AUTHORITY\\SYSTEM",
    "S-1-5-19": "NT AUTHORITY\\LOCAL SERVICE",
    "S-1-5-20": "NT AUTHORITY\\NETWORK SERVICE",
}

# SecurityEvent columns that come from the record's header or are derived, never from event data
_SECURITY_RESERVED = frozenset(
    {
        "TimeGenerated", "Type", "TenantId", "SourceSystem", "Computer", "EventID", "Channel", "Activity",
        "Account", "AccountType", "SubjectAccount", "TargetAccount", "EventData", "EventSourceName",
        "Level", "Keywords", "Task", "Opcode", "Version", "EventRecordId", "Correlation",
        "SystemProcessId", "SystemThreadId", "SystemUserId", "_ResourceId", "_SubscriptionId",
        "_BilledSize", "_IsBillable", "ManagementGroupName", "SourceComputerId", "AzureDeploymentID",
        "LogonTypeName", "Process", "EventLevelName",
    }
)  # fmt: skip


@dataclass(slots=True)
class WindowsRecord:
    """One Windows event: its System header and its event data (field name -> value)."""

    channel: str
    provider: str
    event_id: int
    computer: str
    time: datetime
    record_id: int | None = None
    level: int | None = None
    task: int | None = None
    opcode: int | None = None
    keywords: str | None = None
    version: int | None = None
    correlation: str | None = None
    process_id: int | None = None
    thread_id: int | None = None
    user_id: str | None = None
    source_name: str | None = None
    message: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # the event data as XML (``<EventData>``/``<UserData>``); rendered from ``data`` when None
    data_xml: str | None = None
    # ``time`` as ``datetime.isoformat`` spells it, when the reader has that text already (formatting
    # a time costs more than the rest of an ``Event`` row); formatted from ``time`` when None
    time_text: str | None = None

    @property
    def event_data_xml(self) -> str:
        """The record's event data as the XML Windows renders it."""
        return self.data_xml if self.data_xml is not None else event_data_xml(self.data)


def rows_for(record: WindowsRecord) -> list[tuple[str, dict[str, Any]]]:
    """The rows a record becomes: one in ``SecurityEvent`` or ``Event``, plus one Defender XDR row
    for a Sysmon event."""
    if record.channel == SECURITY_CHANNEL:
        return [("SecurityEvent", security_event_row(record))]
    rows = [("Event", event_row(record))]
    if record.channel == SYSMON_CHANNEL:
        from watchkeeper.ingest.normalize.sysmon import device_row  # sysmon builds on this module

        rows.append(device_row(record))
    return rows


# ---------------------------------------------------------------- SecurityEvent


@cache
def security_columns() -> dict[str, KqlType]:
    """SecurityEvent's columns that event data may fill, with their types."""
    table = Catalog.sentinel().table("SecurityEvent")
    assert table is not None, "the catalog has no SecurityEvent table"
    return {c.name: c.type for c in table.columns if c.name not in _SECURITY_RESERVED}


@cache
def _security_converters() -> dict[str, Callable[[Any], Any]]:
    """How each column event data may fill takes a value (:func:`typed_value`, decided once)."""
    return {name: _CONVERTERS.get(kql_type, _as_is) for name, kql_type in security_columns().items()}


def security_event_row(record: WindowsRecord) -> dict[str, Any]:
    """A ``SecurityEvent`` row: mapped event data, the header, and Sentinel's derived columns."""
    row = _security_data_columns(record.data)
    row.update(_security_header(record))
    row.update(_security_accounts(record.data))
    logon_type = row.get("LogonType")
    if isinstance(logon_type, int):
        row["LogonTypeName"] = f"{logon_type} - {LOGON_TYPE_NAMES.get(logon_type, 'Unknown')}"
    process = record.data.get("NewProcessName") or record.data.get("ProcessName")
    if isinstance(process, str) and process:
        row["Process"] = file_name(process)
    return row


@lru_cache(maxsize=4096)
def file_name(path: str) -> str:
    """The file name of a Windows path (the same few executables recur in every log)."""
    return ntpath.basename(path)


def _security_data_columns(data: Mapping[str, Any]) -> dict[str, Any]:
    converters = _security_converters()
    row: dict[str, Any] = {}
    for name, value in data.items():
        convert = converters.get(name)
        if convert is None or value is None:
            continue
        typed = convert(value)
        if typed is not None:
            row[name] = typed
    return row


@lru_cache(maxsize=1024)
def _activity(event_id: int) -> str:
    """Sentinel's ``Activity``: ``"4624 - An account was successfully logged on."``, or the bare id."""
    description = SECURITY_ACTIVITIES.get(event_id)
    return f"{event_id} - {description}" if description else str(event_id)


def _security_header(record: WindowsRecord) -> dict[str, Any]:
    header: dict[str, Any] = {
        "TimeGenerated": record.time,
        "Computer": record.computer,
        "EventID": record.event_id,
        "Channel": record.channel,
        "EventSourceName": record.provider,
        "Activity": _activity(record.event_id),
        "EventData": record.event_data_xml,
        "Level": _security_level(record.keywords, record.level),
        "Task": record.task,
        "Version": record.version,
        "Keywords": record.keywords,
        "Opcode": None if record.opcode is None else str(record.opcode),
        "EventRecordId": None if record.record_id is None else str(record.record_id),
        "Correlation": record.correlation,
        "SystemProcessId": record.process_id,
        "SystemThreadId": record.thread_id,
        "SystemUserId": record.user_id,
    }
    return {k: v for k, v in header.items() if v is not None}


@lru_cache(maxsize=256, typed=True)
def _security_level(keywords: str | None, level: int | None) -> str | None:
    """Sentinel's Level for a Security event: "8" audit success, "16" audit failure."""
    if keywords:
        try:
            bits = int(keywords, 16)
        except ValueError:
            bits = 0
        if bits & _AUDIT_FAILURE:
            return "16"
        if bits & _AUDIT_SUCCESS:
            return "8"
    return None if level is None else str(level)


def _security_accounts(data: Mapping[str, Any]) -> dict[str, Any]:
    subject = domain_account(data.get("SubjectDomainName"), data.get("SubjectUserName"))
    target = domain_account(data.get("TargetDomainName"), data.get("TargetUserName"))
    row: dict[str, Any] = {}
    if subject:
        row["SubjectAccount"] = subject
    if target:
        row["TargetAccount"] = target
    account = target or subject
    if account:
        row["Account"] = account
        row["AccountType"] = "Machine" if account.endswith("$") else "User"
    return row


def domain_account(domain: Any, user: Any) -> str | None:
    """``DOMAIN\\user`` as Sentinel writes accounts; the bare name when there is no domain."""
    if user is None or user == "":
        return None
    if domain is None or domain == "":
        return str(user)
    return f"{domain}\\{user}"


# ---------------------------------------------------------------- Event


def event_row(record: WindowsRecord) -> dict[str, Any]:
    """An ``Event`` row, as the Windows agent stores a record of any channel but Security."""
    texts = _escaped_texts(record.data)
    row: dict[str, Any] = {
        "TimeGenerated": record.time,
        "EventLog": record.channel,
        "Source": record.source_name or record.provider,
        "Computer": record.computer,
        "EventID": record.event_id,
        "EventData": _data_item(record, texts),
        "ParameterXml": _parameter_xml(record.data, texts),
    }
    if record.level is not None:
        row["EventLevel"] = record.level
        row["EventLevelName"] = LEVEL_NAMES.get(record.level, str(record.level))
    if record.task is not None:
        row["EventCategory"] = record.task
    if record.user_id:
        row["UserName"] = WELL_KNOWN_SIDS.get(record.user_id, record.user_id)
    if record.message:
        row["RenderedDescription"] = record.message
    return row


def _data_item(record: WindowsRecord, texts: list[str] | None) -> str:
    """The agent's wrapper around a record's event data (``texts``: its :func:`_escaped_texts`)."""
    xml = record.data_xml if record.data_xml is not None else _event_data_xml(record.data, texts)
    # an ISO timestamp has no character quoteattr would escape: it is quoted as is
    stamp = record.time_text or record.time.isoformat()
    return f'<DataItem type="System.XmlData" time="{stamp}">{xml}</DataItem>'


def _parameter_xml(data: Mapping[str, Any], texts: list[str] | None) -> str:
    """The event data's values as the agent's ``<Param>`` list (a list's items one by one)."""
    if texts is None:
        return "".join(f"<Param>{escape(_text(v))}</Param>" for v in _flat_values(data))
    return f"<Param>{'</Param><Param>'.join(texts)}</Param>" if texts else ""


def _flat_values(data: Mapping[str, Any]) -> list[Any]:
    values: list[Any] = []
    for value in data.values():
        values.extend(value if isinstance(value, list) else [value])
    return values


# ---------------------------------------------------------------- values and XML


def typed_value(value: Any, kql_type: KqlType) -> Any:
    """``value`` as a column of ``kql_type`` takes it; None when it is not one (e.g. ``%%1833`` for
    an int column: the value stays in ``EventData``)."""
    if kql_type in (KqlType.INT, KqlType.LONG):
        return as_int(value)
    if kql_type is KqlType.STRING:
        return _text(value)
    return value


def as_int(value: Any) -> int | None:
    """An integer from an int or a decimal/hex string; None otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            try:
                return int(value.strip(), 10)  # leading zeros: int("010", 0) refuses
            except ValueError:
                return None
    return None


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _as_is(value: Any) -> Any:
    return value


_CONVERTERS: dict[KqlType, Callable[[Any], Any]] = {
    KqlType.INT: as_int,
    KqlType.LONG: as_int,
    KqlType.STRING: _text,
}


def event_data_xml(data: Mapping[str, Any]) -> str:
    """``<EventData>`` with one ``<Data Name=...>`` per field (a list under ``Data``: unnamed items)."""
    return _event_data_xml(data, _escaped_texts(data))


def _event_data_xml(data: Mapping[str, Any], texts: list[str] | None) -> str:
    """``<EventData>`` from the data and its :func:`_escaped_texts`."""
    if texts is None:
        return _event_data_items_xml(data)
    # records of one event id share their field names: the markup between the values is built once
    pieces = _event_data_pieces(tuple(data))
    parts = [""] * (2 * len(texts) + 1)
    parts[::2] = pieces
    parts[1::2] = texts
    return "".join(parts)


def _escaped_texts(data: Mapping[str, Any]) -> list[str] | None:
    """Each event-data value as XML-escaped text, in field order; None when a value is a list (those
    render as several elements, or joined, by name)."""
    texts: list[str] = []
    for value in data.values():
        kind = type(value)
        if kind is str:
            texts.append(value)
        elif kind is int:
            texts.append(str(value))
        elif kind is list:
            return None
        else:
            texts.append(_text(value))
    # one scan over all values: most records have nothing to escape
    joined = "".join(texts)
    if "&" in joined or "<" in joined or ">" in joined:
        return [escape(text) for text in texts]
    return texts


@lru_cache(maxsize=4096)
def _event_data_pieces(names: tuple[str, ...]) -> tuple[str, ...]:
    """The ``<EventData>`` markup around and between the values of these fields."""
    before = [f'<EventData xmlns="{EVENT_NS}">', *["</Data>"] * len(names)]
    after = [*(f"<Data Name={quoteattr(name)}>" for name in names), "</EventData>"]
    return tuple(b + a for b, a in zip(before, after, strict=True))


def _event_data_items_xml(data: Mapping[str, Any]) -> str:
    parts = [f'<EventData xmlns="{EVENT_NS}">']
    for name, value in data.items():
        if name == "Data" and isinstance(value, list):
            parts.extend(f"<Data>{escape(_text(v))}</Data>" for v in value)
        else:
            parts.append(f"<Data Name={quoteattr(name)}>{escape(_text(value))}</Data>")
    parts.append("</EventData>")
    return "".join(parts)


def element_xml(name: str, value: Any) -> str:
    """An element from its JSON form (``#attributes``, ``#text``, child elements), e.g. ``UserData``."""
    if not isinstance(value, dict):
        items = value if isinstance(value, list) else [value]
        return "".join(f"<{name}>{escape(_text(v))}</{name}>" for v in items)
    attributes = value.get("#attributes") or {}
    attrs = "".join(f" {k}={quoteattr(_text(v))}" for k, v in attributes.items())
    inner = escape(_text(value["#text"])) if "#text" in value else ""
    inner += "".join(element_xml(k, v) for k, v in value.items() if k not in ("#attributes", "#text"))
    return f"<{name}{attrs}>{inner}</{name}>"


# FILETIME 0 (1601-01-01) and the years before the Unix epoch: a record written without its time
_EARLIEST_EVENT = datetime(1970, 1, 2, tzinfo=UTC)


def parse_time(text: Any) -> datetime | None:
    """An event time from ISO 8601 text (``2020-10-18T23:50:05.910Z``, ``2020-10-18 23:50:05.910``;
    UTC when it names no zone, as Windows' SystemTime and Sysmon's UtcTime are); None when it is not
    a time or is a zero FILETIME."""
    if not isinstance(text, str) or not text:
        return None
    if len(text) == 27 and text[10] == "T" and text[26] == "Z":  # SystemTime as the evtx library writes it
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment if moment >= _EARLIEST_EVENT else None
    value = text.strip().replace(" UTC", "")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment if moment >= _EARLIEST_EVENT else None
