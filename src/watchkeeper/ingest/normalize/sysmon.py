"""Sysmon events as Defender XDR advanced hunting rows, so that Defender hunting queries and Sigma rules
converted for the ``Device*`` tables run on Sysmon data.

Where each event goes (sentinel-table-schemas.md, the ``Device*`` tables; sentinel-content.md section 5 for
the ``ActionType`` values):

==================  =========================  ==================================================
Sysmon event        table                      ActionType
==================  =========================  ==================================================
1                   DeviceProcessEvents        ProcessCreated
3                   DeviceNetworkEvents        ConnectionSuccess (initiated) / InboundConnectionAccepted
7                   DeviceImageLoadEvents      ImageLoaded
11                  DeviceFileEvents           FileCreated
23, 26              DeviceFileEvents           FileDeleted
12, 13, 14          DeviceRegistryEvents       RegistryKeyCreated / RegistryKeyDeleted / RegistryValueDeleted /
                                               RegistryValueSet / RegistryKeyRenamed
any other           DeviceEvents               :data:`DEVICE_EVENT_ACTIONS` (Defender's name where it has one:
                                               CreateRemoteThreadApiCall, OpenProcessApiCall, DnsQueryResponse,
                                               NamedPipeEvent, DriverLoad, ...)
==================  =========================  ==================================================

Columns are where Defender writes them: ``FolderPath`` and ``InitiatingProcessFolderPath`` are full paths
including the file name, ``DeviceName`` is the host name in lower case, hashes are lower-case hex, registry
keys start with the ``HKEY_`` root names (``HKEY_CURRENT_USER\\<SID>`` for a user's hive), ``ReportId`` is
the event record id. Each row's ``AdditionalFields`` (where the table has it) carries the Sysmon event id and
its full event data, so nothing Sysmon recorded is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from watchkeeper.ingest.normalize.windows import WindowsRecord, as_int, file_name, parse_time
from watchkeeper.schema import Catalog

__all__ = ["DEVICE_EVENT_ACTIONS", "device_row", "registry_key"]

# Sysmon events without a Device* table of their own, as DeviceEvents action types
DEVICE_EVENT_ACTIONS: dict[int, str] = {
    2: "FileCreationTimeChanged",
    4: "SysmonServiceStateChanged",
    5: "ProcessTerminated",
    6: "DriverLoad",
    8: "CreateRemoteThreadApiCall",
    9: "RawAccessRead",
    10: "OpenProcessApiCall",
    15: "FileCreateStreamHash",
    16: "SysmonConfigurationChanged",
    17: "NamedPipeEvent",
    18: "NamedPipeEvent",
    19: "WmiEventFilterRegistered",
    20: "WmiEventConsumerRegistered",
    21: "WmiBindEventFilterToConsumer",
    22: "DnsQueryResponse",
    24: "ClipboardChanged",
    25: "ProcessTampering",
    27: "FileBlockExecutable",
    28: "FileBlockShredding",
    29: "FileExecutableDetected",
    255: "SysmonError",
}

_REGISTRY_ACTIONS = {
    "CreateKey": "RegistryKeyCreated",
    "DeleteKey": "RegistryKeyDeleted",
    "DeleteValue": "RegistryValueDeleted",
    "SetValue": "RegistryValueSet",
    "RenameKey": "RegistryKeyRenamed",
}

_HIVES = (
    ("HKLM\\", "HKEY_LOCAL_MACHINE\\"),
    ("HKCU\\", "HKEY_CURRENT_USER\\"),
    ("HKCR\\", "HKEY_CLASSES_ROOT\\"),
    ("\\REGISTRY\\MACHINE\\", "HKEY_LOCAL_MACHINE\\"),
)
# a user's own hive (domain or local account SID): Defender writes HKEY_CURRENT_USER\<SID>
_USER_HIVE = re.compile(r"^(?:HKU|\\REGISTRY\\USER)\\(S-1-5-21-[\d-]+)(\\|$)", re.IGNORECASE)
_DWORD = re.compile(r"^DWORD \((0x[0-9a-fA-F]+)\)$")
_QWORD = re.compile(r"^QWORD \((0x[0-9a-fA-F]+)-(0x[0-9a-fA-F]+)\)$")

Row = dict[str, Any]


def device_row(record: WindowsRecord) -> tuple[str, Row]:
    """The Defender XDR table and row for a Sysmon record."""
    table, build = _BUILDERS.get(record.event_id, ("DeviceEvents", _device_event))
    row = _common(record)
    row.update(build(record.data))
    if table == "DeviceEvents" and "ActionType" not in row:
        row["ActionType"] = DEVICE_EVENT_ACTIONS.get(record.event_id, f"SysmonEvent{record.event_id}")
    return table, _fit(table, row)


def _common(record: WindowsRecord) -> Row:
    data = record.data
    row: Row = {
        "TimeGenerated": record.time,
        "DeviceName": record.computer.lower(),
        "ReportId": record.record_id,
        "AdditionalFields": {"SysmonEventID": record.event_id, **data},
    }
    row.update(_process("InitiatingProcess", data.get("Image"), data.get("ProcessId")))
    row.update(_account("InitiatingProcessAccount", data.get("User")))
    return row


@cache
def _columns(table: str) -> frozenset[str]:
    definition = Catalog.sentinel().table(table)
    assert definition is not None, f"the catalog has no {table} table"
    return frozenset(c.name for c in definition.columns)


def _fit(table: str, row: Row) -> Row:
    """The row without empty values and without columns the table lacks (``AdditionalFields`` is
    not in every Device* table; the event data is then in ``Event`` only)."""
    columns = _columns(table)
    return {k: v for k, v in row.items() if k in columns and v is not None and v != ""}


# ---------------------------------------------------------------- per event


def _process_created(data: Mapping[str, Any]) -> Row:
    row = _process("", data.get("Image"), data.get("ProcessId"))
    row.update(_process("InitiatingProcess", data.get("ParentImage"), data.get("ParentProcessId")))
    row["InitiatingProcessCommandLine"] = data.get("ParentCommandLine")
    row["ActionType"] = "ProcessCreated"
    row["ProcessCommandLine"] = data.get("CommandLine")
    row["ProcessCreationTime"] = parse_time(data.get("UtcTime"))
    row["ProcessIntegrityLevel"] = data.get("IntegrityLevel")
    row["LogonId"] = as_int(data.get("LogonId"))
    row.update(_account("Account", data.get("User")))
    # the parent's account: Sysmon 13+ records ParentUser; before, the creator's is unknown
    row.pop("InitiatingProcessAccountName", None)
    row.pop("InitiatingProcessAccountDomain", None)
    row.update(_account("InitiatingProcessAccount", data.get("ParentUser")))
    row.update(_hashes("", data.get("Hashes")))
    row.update(_version_info("ProcessVersionInfo", data))
    return row


def _network(data: Mapping[str, Any]) -> Row:
    # Sysmon's Source is the local end whichever side connected (an accepted RDP connection is
    # Source 10.0.2.17:3389 -> Destination <client>:49186), so Initiated only decides the action
    initiated = str(data.get("Initiated")).lower() == "true"
    protocol = data.get("Protocol")
    return {
        "ActionType": "ConnectionSuccess" if initiated else "InboundConnectionAccepted",
        "LocalIP": data.get("SourceIp"),
        "LocalPort": as_int(data.get("SourcePort")),
        "RemoteIP": data.get("DestinationIp"),
        "RemotePort": as_int(data.get("DestinationPort")),
        "RemoteUrl": data.get("DestinationHostname"),
        "Protocol": protocol.capitalize() if isinstance(protocol, str) else None,
    }


def _image_loaded(data: Mapping[str, Any]) -> Row:
    row = _file(data.get("ImageLoaded"))
    row.update(_hashes("", data.get("Hashes")))
    row["ActionType"] = "ImageLoaded"
    return row


def _file_created(data: Mapping[str, Any]) -> Row:
    return {**_file(data.get("TargetFilename")), "ActionType": "FileCreated"}


def _file_deleted(data: Mapping[str, Any]) -> Row:
    row = _file(data.get("TargetFilename"))
    row.update(_hashes("", data.get("Hashes")))
    row["ActionType"] = "FileDeleted"
    return row


def _registry(data: Mapping[str, Any]) -> Row:
    kind = str(data.get("EventType") or "")
    target = registry_key(str(data.get("TargetObject") or ""))
    row: Row = {"ActionType": _REGISTRY_ACTIONS.get(kind, kind or "RegistryEvent")}
    if kind in ("SetValue", "DeleteValue"):
        key, _, value_name = target.rpartition("\\")
        row.update(RegistryKey=key, RegistryValueName=value_name)
    elif kind == "RenameKey":
        row.update(RegistryKey=registry_key(str(data.get("NewName") or "")), PreviousRegistryKey=target)
    else:
        row["RegistryKey"] = target
    if kind == "SetValue":
        row.update(_registry_value(str(data.get("Details") or "")))
    return row


def _device_event(data: Mapping[str, Any]) -> Row:
    """Sysmon events in ``DeviceEvents``: the acted-on process, file, pipe or DNS name."""
    if "TargetImage" in data:  # 8, 10, 25: one process acting on another
        row = _process("InitiatingProcess", data.get("SourceImage"), data.get("SourceProcessId"))
        row.update(_account("InitiatingProcessAccount", data.get("SourceUser")))
        row.update(_process("", data.get("TargetImage"), data.get("TargetProcessId")))
        return row
    if "QueryName" in data:  # 22
        return {"RemoteUrl": data.get("QueryName")}
    if "TargetFilename" in data:
        return {**_file(data.get("TargetFilename")), **_hashes("", data.get("Hashes"))}
    if "ImageLoaded" in data:  # 6: driver
        return {**_file(data.get("ImageLoaded")), **_hashes("", data.get("Hashes"))}
    return {}


_Builder = Callable[[Mapping[str, Any]], Row]
_BUILDERS: dict[int, tuple[str, _Builder]] = {
    1: ("DeviceProcessEvents", _process_created),
    3: ("DeviceNetworkEvents", _network),
    7: ("DeviceImageLoadEvents", _image_loaded),
    11: ("DeviceFileEvents", _file_created),
    23: ("DeviceFileEvents", _file_deleted),
    26: ("DeviceFileEvents", _file_deleted),
    12: ("DeviceRegistryEvents", _registry),
    13: ("DeviceRegistryEvents", _registry),
    14: ("DeviceRegistryEvents", _registry),
}


# ---------------------------------------------------------------- field shapes


def _process(prefix: str, image: Any, process_id: Any) -> Row:
    """``{prefix}FileName``, ``{prefix}FolderPath`` (the full path, as Defender writes it) and
    ``{prefix}Id`` (``ProcessId`` for the process itself)."""
    name, folder, identifier = _process_columns(prefix)
    row: Row = {name: file_name(image), folder: image} if isinstance(image, str) and image else {}
    row[identifier] = as_int(process_id)
    return row


@cache
def _process_columns(prefix: str) -> tuple[str, str, str]:
    return f"{prefix}FileName", f"{prefix}FolderPath", f"{prefix}Id" if prefix else "ProcessId"


def _file(path: Any) -> Row:
    if not isinstance(path, str) or not path:
        return {}
    return {"FileName": file_name(path), "FolderPath": path}


def _account(prefix: str, user: Any) -> Row:
    """``DOMAIN\\name`` split into ``{prefix}Domain`` and ``{prefix}Name``."""
    if not isinstance(user, str) or not user or user == "-":
        return {}
    domain, _, name = user.rpartition("\\")
    domain_column, name_column = _account_columns(prefix)
    return {domain_column: domain or None, name_column: name}


@cache
def _account_columns(prefix: str) -> tuple[str, str]:
    return f"{prefix}Domain", f"{prefix}Name"


_HASH_COLUMNS = {"SHA1": "SHA1", "MD5": "MD5", "SHA256": "SHA256"}


def _hashes(prefix: str, hashes: Any) -> Row:
    """Sysmon's ``SHA1=..,MD5=..,SHA256=..,IMPHASH=..`` as Defender's lower-case hash columns."""
    if not isinstance(hashes, str):
        return {}
    row: Row = {}
    for item in hashes.split(","):
        algorithm, _, value = item.partition("=")
        column = _HASH_COLUMNS.get(algorithm.strip().upper())
        if column and value:
            row[f"{prefix}{column}"] = value.strip().lower()
    return row


# Defender's version-information columns and the Sysmon fields they come from
_VERSION_INFO = (
    ("OriginalFileName", "OriginalFileName"),
    ("CompanyName", "Company"),
    ("FileDescription", "Description"),
    ("ProductName", "Product"),
    ("ProductVersion", "FileVersion"),
)


def _version_info(prefix: str, data: Mapping[str, Any]) -> Row:
    return {f"{prefix}{column}": data.get(source) for column, source in _VERSION_INFO}


def registry_key(key: str) -> str:
    """A Sysmon registry path with the root Defender writes (``HKLM\\..`` -> ``HKEY_LOCAL_MACHINE\\..``)."""
    user = _USER_HIVE.match(key)
    if user:
        return f"HKEY_CURRENT_USER\\{user.group(1)}{key[user.end(1) :]}"
    for short, full in (*_HIVES, ("HKU\\", "HKEY_USERS\\"), ("\\REGISTRY\\USER\\", "HKEY_USERS\\")):
        if key.upper().startswith(short.upper()):
            return full + key[len(short) :]
    return key


def _registry_value(details: str) -> Row:
    """Sysmon's ``Details`` as Defender's value type and data (``DWORD (0x00000001)`` -> Dword, "1")."""
    dword = _DWORD.match(details)
    if dword:
        return {"RegistryValueType": "Dword", "RegistryValueData": str(int(dword.group(1), 16))}
    qword = _QWORD.match(details)
    if qword:
        value = (int(qword.group(1), 16) << 32) | int(qword.group(2), 16)
        return {"RegistryValueType": "Qword", "RegistryValueData": str(value)}
    if details == "Binary Data":
        return {"RegistryValueType": "Binary"}
    return {"RegistryValueType": "String", "RegistryValueData": "" if details == "(Empty)" else details}
