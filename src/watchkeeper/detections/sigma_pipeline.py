"""Where a Sigma rule's events are in our tables: log source -> table, Sigma field -> column, as a
pySigma processing pipeline for the Kusto backend.

Each Sigma log source has one or more :class:`Route` s, tried in order:

- Sysmon categories (``process_creation``, ``network_connection``, ``file_*``, ``registry_*``,
  ``image_load``, ``process_access``, ``dns_query``...) read the Defender XDR tables that the Sysmon
  normaliser fills (``watchkeeper.ingest.normalize.sysmon``: which event id lands in which table and
  which field in which column). A field without a column is read from ``AdditionalFields`` (the
  normaliser keeps the whole Sysmon event data there) where the table has it. A rule that still
  names a field the table cannot give falls back to the second route: the same events in ``Event``
  (every Sysmon record is also an ``Event`` row), whose fields are read from the ``EventData`` XML
  exactly as Sysmon wrote them.
- Windows services: ``security`` reads ``SecurityEvent`` (event-data fields are its columns, the
  rest from ``EventData``); every other channel (``system``, ``powershell``, ``windefend``, ``wmi``...,
  pySigma's ``windows_logsource_mapping``) reads ``Event`` of that channel.
- ``linux`` services read ``Syslog`` (keywords search ``SyslogMessage``); ``aws``/``cloudtrail`` reads
  ``AWSCloudTrail`` (``requestParameters.x`` from the JSON column); ``azure`` ``signinlogs``,
  ``auditlogs`` and ``activitylogs`` read ``SigninLogs``, ``AuditLogs`` and ``AzureActivity``; there a
  field named in another case is its column (``operationName``) and a dotted field reads into a
  ``dynamic`` column (``DeviceDetail.isCompliant``).

- ``zeek`` services, ``linux`` ``auditd`` and Linux ``process_creation`` read the custom tables the
  Zeek and auditd parsers fill (:mod:`watchkeeper.detections.sigma_custom_tables`).

A log source no table here holds (web servers, proxies, macOS, SaaS audit logs) is not converted:
the rule is skipped with that reason.

Sigma matches text case-insensitively; the Kusto backend writes ``=~``, ``in~``, ``contains``,
``startswith``, ``endswith`` (all case-insensitive in KQL) and :class:`SigmaKusto` makes the regular
expressions it writes for wildcards case-insensitive too (``(?i)``). User text reaches the query only
as KQL string literals (JSON-quoted) and field names only after :func:`_checked_name`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

from sigma.backends.kusto.kusto import KustoBackend
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.pipelines.azuremonitor.mappings import AZURE_MONITOR_FIELD_MAPPINGS
from sigma.pipelines.common import windows_logsource_mapping
from sigma.processing.conditions import IncludeFieldCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline, QueryPostprocessingItem
from sigma.processing.postprocessing import QueryPostprocessingTransformation
from sigma.processing.transformations import ReplaceStringTransformation
from sigma.processing.transformations.base import DetectionItemTransformation, ValueTransformation
from sigma.rule import SigmaDetectionItem, SigmaLogSource, SigmaRule
from sigma.types import SigmaString, SigmaType

from watchkeeper.detections.sigma_custom_tables import (
    auditd_route,
    custom_tables,
    linux_process_route,
    record_field,
    zeek_route,
)
from watchkeeper.detections.sigma_route import Route, UnmappedError, kql_literal, kql_literals
from watchkeeper.ingest.normalize.sysmon import DEVICE_EVENT_ACTIONS
from watchkeeper.ingest.normalize.windows import SYSMON_CHANNEL
from watchkeeper.schema import Catalog, KqlType

__all__ = ["Route", "SigmaKusto", "UnmappedError", "pipeline_for", "routes_for", "sigma_catalog"]


# ---------------------------------------------------------------- Sysmon categories

# category -> Sysmon event ids (Sysmon's schema; Sigma's log source definitions)
SYSMON_EVENTS: dict[str, tuple[int, ...]] = {
    "process_creation": (1,), "file_change": (2,), "network_connection": (3,), "sysmon_status": (4, 16),
    "process_termination": (5,), "driver_load": (6,), "image_load": (7,), "create_remote_thread": (8,),
    "raw_access_thread": (9,), "process_access": (10,), "file_event": (11,), "registry_add": (12,),
    "registry_delete": (12,), "registry_set": (13,), "registry_rename": (14,), "registry_event": (12, 13, 14),
    "create_stream_hash": (15,), "pipe_created": (17, 18), "wmi_event": (19, 20, 21), "dns_query": (22,),
    "file_delete": (23, 26), "clipboard_capture": (24,), "process_tampering": (25,),
    "file_delete_detected": (26,), "file_block_executable": (27,), "file_block_shredding": (28,),
    "file_executable_detected": (29,), "sysmon_error": (255,),
}  # fmt: skip


def _account(prefix: str) -> str:
    """Sysmon's ``DOMAIN\\user`` from Defender's split account columns."""
    domain, name = f"{prefix}Domain", f"{prefix}Name"
    return f'iff(isempty({domain}), {name}, strcat({domain}, @"\\", {name}))'


_ACTOR = {
    "Image": "InitiatingProcessFolderPath",
    "ProcessId": "InitiatingProcessId",
    "Computer": "DeviceName",
}
_ACTOR_USER = {"User": _account("InitiatingProcessAccount")}
_HASHES = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}
_PROCESS = {
    "Image": "FolderPath", "CommandLine": "ProcessCommandLine", "ProcessId": "ProcessId",
    "ParentImage": "InitiatingProcessFolderPath", "ParentCommandLine": "InitiatingProcessCommandLine",
    "ParentProcessId": "InitiatingProcessId", "OriginalFileName": "ProcessVersionInfoOriginalFileName",
    "Company": "ProcessVersionInfoCompanyName", "Description": "ProcessVersionInfoFileDescription",
    "Product": "ProcessVersionInfoProductName", "FileVersion": "ProcessVersionInfoProductVersion",
    "IntegrityLevel": "ProcessIntegrityLevel", "Computer": "DeviceName", **_HASHES,
}  # fmt: skip
_TARGET_PROCESS = {
    "SourceImage": "InitiatingProcessFolderPath", "SourceProcessId": "InitiatingProcessId",
    "TargetImage": "FolderPath", "TargetProcessId": "ProcessId", "Computer": "DeviceName",
}  # fmt: skip
_NETWORK = {
    **_ACTOR, "SourceIp": "LocalIP", "SourcePort": "LocalPort", "DestinationIp": "RemoteIP",
    "DestinationPort": "RemotePort", "DestinationHostname": "RemoteUrl",
}  # fmt: skip
_REGISTRY_KEY = 'iff(isempty(RegistryValueName), RegistryKey, strcat(RegistryKey, @"\\", RegistryValueName))'

# Sysmon's Details: what the normaliser stores for "Binary Data" (no data) and "(Empty)" (empty text)
_REGISTRY_DETAILS = (
    'case(RegistryValueType == "Binary", "Binary Data", '
    'RegistryValueType == "String" and isempty(RegistryValueData), "(Empty)", RegistryValueData)'
)
_REGISTRY = {**_ACTOR, "EventType": "ActionType"}
_REGISTRY_DERIVED = {"TargetObject": _REGISTRY_KEY, "Details": _REGISTRY_DETAILS, **_ACTOR_USER}

# the Device table, its rows' ActionType (None: every row) and the columns of each category
_DEVICE: dict[str, tuple[str, tuple[str, ...] | None, Mapping[str, str], Mapping[str, str]]] = {
    "process_creation": ("DeviceProcessEvents", None, _PROCESS,
                         {"User": _account("Account"), "ParentUser": _account("InitiatingProcessAccount")}),
    "network_connection": ("DeviceNetworkEvents", None, _NETWORK, _ACTOR_USER),
    "image_load": ("DeviceImageLoadEvents", None, {**_ACTOR, "ImageLoaded": "FolderPath", **_HASHES}, _ACTOR_USER),
    "file_event": ("DeviceFileEvents", ("FileCreated",), {**_ACTOR, "TargetFilename": "FolderPath"}, _ACTOR_USER),
    "file_delete": ("DeviceFileEvents", ("FileDeleted",), {**_ACTOR, "TargetFilename": "FolderPath"}, _ACTOR_USER),
    "registry_add": ("DeviceRegistryEvents", ("RegistryKeyCreated",), _REGISTRY, _REGISTRY_DERIVED),
    "registry_delete": ("DeviceRegistryEvents", ("RegistryKeyDeleted", "RegistryValueDeleted"), _REGISTRY,
                        _REGISTRY_DERIVED),
    "registry_set": ("DeviceRegistryEvents", ("RegistryValueSet",), _REGISTRY, _REGISTRY_DERIVED),
    "registry_rename": ("DeviceRegistryEvents", ("RegistryKeyRenamed",), _REGISTRY, _REGISTRY_DERIVED),
    "registry_event": ("DeviceRegistryEvents", None, _REGISTRY, _REGISTRY_DERIVED),
    "process_access": ("DeviceEvents", None, _TARGET_PROCESS, {"SourceUser": _account("InitiatingProcessAccount")}),
    "create_remote_thread": ("DeviceEvents", None, _TARGET_PROCESS,
                             {"SourceUser": _account("InitiatingProcessAccount")}),
    "dns_query": ("DeviceEvents", None, {**_ACTOR, "QueryName": "RemoteUrl"}, _ACTOR_USER),
    "driver_load": ("DeviceEvents", None, {"ImageLoaded": "FolderPath", "Computer": "DeviceName", **_HASHES}, {}),
}  # fmt: skip
_FILE_TARGET = {**_ACTOR, "TargetFilename": "FolderPath"}


def _device_route(category: str) -> Route:
    table, actions, columns, derived = _DEVICE.get(
        category, ("DeviceEvents", None, _FILE_TARGET, _ACTOR_USER)
    )
    if table == "DeviceEvents":
        actions = tuple(dict.fromkeys(DEVICE_EVENT_ACTIONS[i] for i in SYSMON_EVENTS[category]))
    where = f"ActionType in ({kql_literals(actions)})" if actions else ""
    return Route(table, where, columns, derived, raw="additional", registry=table == "DeviceRegistryEvents")


def _sysmon_event_route(category: str) -> Route:
    ids = ", ".join(str(i) for i in SYSMON_EVENTS[category])
    where = f"EventLog == {kql_literal(SYSMON_CHANNEL)} and EventID in ({ids})"
    return Route("Event", where, _EVENT_COLUMNS, raw="event_data", own_columns=False)


# ---------------------------------------------------------------- other log sources

_EVENT_COLUMNS = {
    "Provider_Name": "Source",
    "Channel": "EventLog",
    "EventID": "EventID",
    "Computer": "Computer",
}
_SECURITY_COLUMNS = {"Provider_Name": "EventSourceName"}
# Sigma's syslog services and the syslog program (or facility) that writes them
_SYSLOG_WHERE = {
    "sshd": 'ProcessName =~ "sshd"', "sudo": 'ProcessName =~ "sudo"', "cron": 'ProcessName in~ ("cron", "crond")',
    "auth": 'Facility in~ ("auth", "authpriv")', "vsftpd": 'ProcessName =~ "vsftpd"',
    "clamav": 'ProcessName startswith "clam"', "guacamole": 'ProcessName contains "guacamole"',
}  # fmt: skip
_SYSLOG_SERVICES = (*_SYSLOG_WHERE, "syslog", None)
_CLOUDTRAIL = {
    "eventSource": "EventSource", "eventName": "EventName", "eventType": "EventTypeName",
    "errorCode": "ErrorCode", "errorMessage": "ErrorMessage", "awsRegion": "AWSRegion",
    "sourceIPAddress": "SourceIpAddress", "userAgent": "UserAgent", "recipientAccountId": "RecipientAccountId",
    "eventID": "AwsEventId", "requestID": "AwsRequestId", "readOnly": "ReadOnly",
    "userIdentity.type": "UserIdentityType", "userIdentity.arn": "UserIdentityArn",
    "userIdentity.accountId": "UserIdentityAccountId", "userIdentity.principalId": "UserIdentityPrincipalid",
    "userIdentity.userName": "UserIdentityUserName", "userIdentity.accessKeyId": "UserIdentityAccessKeyId",
    "userIdentity.invokedBy": "UserIdentityInvokedBy",
    "userIdentity.sessionContext.sessionIssuer.type": "SessionIssuerType",
    "userIdentity.sessionContext.sessionIssuer.userName": "SessionIssuerUserName",
    "userIdentity.sessionContext.sessionIssuer.arn": "SessionIssuerArn",
    "userIdentity.sessionContext.attributes.mfaAuthenticated": "SessionMfaAuthenticated",
}  # fmt: skip
_CLOUDTRAIL_JSON = {
    "requestParameters": "RequestParameters", "responseElements": "ResponseElements",
    "additionalEventData": "AdditionalEventData",
}  # fmt: skip
_AZURE_SIGNIN = {
    k: v for k, v in AZURE_MONITOR_FIELD_MAPPINGS.table_mappings["SigninLogs"].items() if isinstance(v, str)
}
_AZURE_AUDIT = {"properties.message": "OperationName", "Status": "Result", "Initiated By": "InitiatedBy"}
_AZURE_ACTIVITY = {"operationName": "OperationNameValue", "properties.message": "OperationNameValue",
                   "status": "ActivityStatusValue", "Status": "ActivityStatusValue"}  # fmt: skip


def routes_for(logsource: SigmaLogSource) -> tuple[Route, ...]:
    """The routes a log source's events can be read from, in order; :class:`UnmappedError` if none."""
    product, category, service = logsource.product, logsource.category, logsource.service
    if product == "windows" and category in SYSMON_EVENTS and service is None:
        return (_device_route(category), _sysmon_event_route(category))
    if product == "windows" and category is None and service is not None:
        return (_windows_service_route(service),)
    if product == "windows" and category in _POWERSHELL:
        return (_powershell_route(category),)
    if product == "zeek" and category is None and service is not None:
        return (zeek_route(service),)
    if product == "linux" and category is None and service == "auditd":
        return (auditd_route(),)
    if product == "linux" and category == "process_creation" and service is None:
        return (linux_process_route(),)
    if product == "linux" and category is None and service in _SYSLOG_SERVICES:
        where = _SYSLOG_WHERE.get(service or "", "")
        return (Route("Syslog", where, {"Computer": "Computer"}, keywords="SyslogMessage"),)
    cloud = _cloud_route(product, service)
    if cloud is not None:
        return (cloud,)
    raise UnmappedError(f"no table holds log source {_describe(logsource)}")


def _windows_service_route(service: str) -> Route:
    if service == "security":
        return Route("SecurityEvent", columns=_SECURITY_COLUMNS, raw="event_data")
    channels = windows_logsource_mapping.get(service)
    if channels is None:
        raise UnmappedError(f"no Windows event log channel is known for service {service!r}")
    names = [channels] if isinstance(channels, str) else list(channels)
    return Route(
        "Event", f"EventLog in~ ({kql_literals(names)})", _EVENT_COLUMNS, raw="event_data", own_columns=False
    )


# PowerShell's script block (4104), module (4103), engine start (400) and provider start (600) events
_POWERSHELL = {
    "ps_script": (("Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"), 4104),
    "ps_module": (("Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"), 4103),
    "ps_classic_start": (("Windows PowerShell",), 400),
    "ps_classic_provider_start": (("Windows PowerShell",), 600),
}


def _powershell_route(category: str) -> Route:
    channels, event_id = _POWERSHELL[category]
    where = f"EventLog in~ ({kql_literals(channels)}) and EventID == {event_id}"
    return Route("Event", where, _EVENT_COLUMNS, raw="event_data", own_columns=False)


def _cloud_route(product: str | None, service: str | None) -> Route | None:
    if product == "aws" and service == "cloudtrail":
        return Route("AWSCloudTrail", columns=_CLOUDTRAIL, json_columns=_CLOUDTRAIL_JSON)
    if product == "azure" and service == "signinlogs":
        return Route("SigninLogs", columns=_AZURE_SIGNIN)
    if product == "azure" and service == "auditlogs":
        return Route("AuditLogs", columns=_AZURE_AUDIT)
    if product == "azure" and service == "activitylogs":
        return Route("AzureActivity", columns=_AZURE_ACTIVITY)
    return None


def _describe(logsource: SigmaLogSource) -> str:
    parts = {"product": logsource.product, "category": logsource.category, "service": logsource.service}
    return ", ".join(f"{k}: {v}" for k, v in parts.items() if v) or "(empty)"


# ---------------------------------------------------------------- reading a field


@cache
def sigma_catalog() -> Catalog:
    """The tables Sigma rules read: the shipped ones, and the custom tables our parsers fill."""
    return Catalog.sentinel().with_tables(custom_tables())


@cache
def table_columns(table: str) -> frozenset[str]:
    """The columns of one of our tables."""
    definition = sigma_catalog().table(table)
    return frozenset(c.name for c in definition.columns) if definition is not None else frozenset()


@cache
def _folded(table: str) -> dict[str, str]:
    """A table's columns by lower-case name."""
    return {c.lower(): c for c in table_columns(table)}


@cache
def _dynamic_columns(table: str) -> dict[str, str]:
    """A table's ``dynamic`` columns by lower-case name (a dotted Sigma field reads into them)."""
    definition = sigma_catalog().table(table)
    columns = definition.columns if definition is not None else ()
    return {c.name.lower(): c.name for c in columns if c.type is KqlType.DYNAMIC}


_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$")


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise UnmappedError(f"field name {name!r} is not one a log can have")
    return name


def resolve_field(route: Route, name: str) -> tuple[str, str | None]:
    """The name a Sigma field has in the query, and the KQL expression computing it (None for a
    column read as it is)."""
    columns = table_columns(route.table)
    if name in route.columns:
        return route.columns[name], None
    if name in route.derived:
        return _alias(name, columns), route.derived[name]
    if route.own_columns and name in columns:
        return name, None
    if route.own_columns and name.lower() in _folded(route.table):
        return _folded(route.table)[name.lower()], None  # cloud rules write operationName, Resultdescription
    expression = _raw_expression(route, _checked_name(name), columns)
    if expression is None:
        raise UnmappedField(name, route.table)
    return _alias(name, columns), expression


def UnmappedField(name: str, table: str) -> UnmappedError:
    """The error for a field ``table`` cannot give."""
    return UnmappedError(f"field {name!r} has no column in {table}")


def _raw_expression(route: Route, name: str, columns: frozenset[str]) -> str | None:
    if route.raw == "additional" and "AdditionalFields" in columns:
        key = "SysmonEventID" if name == "EventID" else name  # the normaliser's name for Sysmon's event id
        return f"tostring(AdditionalFields[{kql_literal(key)}])"
    if route.raw == "event_data" and re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        return _event_data_field(name)
    if route.raw == "record":
        return record_field(name)
    prefix, _, path = name.partition(".")
    if not path:
        return None
    keys = "".join(f"[{kql_literal(key)}]" for key in path.split("."))
    if prefix in route.json_columns:
        return f"tostring(parse_json({route.json_columns[prefix]}){keys})"
    dynamic = _dynamic_columns(route.table).get(prefix.lower()) if route.own_columns else None
    return f"tostring({dynamic}{keys})" if dynamic else None  # SigninLogs' DeviceDetail.isCompliant


def _event_data_field(name: str) -> str:
    """One event-data field from the ``EventData`` XML (``<Data Name="X">`` or, for ``UserData``
    events, ``<X>``), with the XML escapes Windows writes undone. Sigma writes names without the
    spaces some providers put in them (Defender's ``Threat Name`` is ``ThreatName``): a space may
    stand before each capital letter of a ``Data`` name."""
    escaped = re.escape(name)
    spaced = re.sub(r"(?<=.)([A-Z])", r" ?\1", escaped)
    pattern = kql_literal(f'(?:<Data Name="{spaced}">|<{escaped}>)([^<]*)<')
    value = f"extract({pattern}, 1, EventData)"
    if name == "Data":
        # classic PowerShell events (400, 600, 800) carry unnamed <Data> items, the engine's
        # "HostApplication=... CommandLine=..." text in the third; Sigma's Data is all of them
        value = "EventData"
    for entity, text in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&amp;", "&")):
        value = f"replace_string({value}, {kql_literal(entity)}, {kql_literal(text)})"
    return value


def _alias(name: str, columns: frozenset[str]) -> str:
    alias = re.sub(r"\W", "_", name)
    # a column differing only in case is the same column to the SQL the query becomes (auditd's
    # ``exe`` beside ``Exe``)
    taken = alias.lower() in {column.lower() for column in columns}
    return alias if not taken and alias == name else f"Sigma_{alias}"


# ---------------------------------------------------------------- the pipeline


def _state(pipeline: ProcessingPipeline | None) -> dict[str, Any]:
    """The per-rule state of the pipeline a transformation runs in."""
    assert pipeline is not None, "a transformation runs inside a pipeline"
    return pipeline.state


class RouteFields(DetectionItemTransformation):
    """Renames each Sigma field to its name in the route's table and records the expressions of
    derived fields (``state["extend"]``) for :class:`RouteQuery`."""

    def __init__(self, route: Route) -> None:
        self.route = route

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        if detection_item.field is None:
            return None
        name, expression = resolve_field(self.route, detection_item.field)
        if expression is not None:
            _state(self._pipeline).setdefault("extend", {})[name] = expression
        detection_item.field = name
        return None


# Sysmon's registry event types as the Defender ActionType the normaliser writes
_REGISTRY_ACTIONS = {
    "CreateKey": "RegistryKeyCreated", "DeleteKey": "RegistryKeyDeleted", "DeleteValue": "RegistryValueDeleted",
    "SetValue": "RegistryValueSet", "RenameKey": "RegistryKeyRenamed",
}  # fmt: skip
_USER_HIVE = re.compile(r"(?i)(?:^|[*\\])(?:HKU|HKCU|HKEY_USERS|HKEY_CURRENT_USER)\\")
_DWORD = re.compile(r"^(?:DWORD|QWORD) \((0x[0-9a-fA-F]+)\)$")


class RegistryValues(ValueTransformation):
    """Sysmon registry values as Defender writes them: ``DWORD (0x00000001)`` is ``1`` in
    ``RegistryValueData``; ``EventType`` values are ``ActionType`` names. Anything else in Sysmon's
    value notation (a partial ``DWORD (``, ``HKU\\``/``HKCU\\`` roots that the normaliser rewrites per
    user) cannot be matched here: the rule goes to ``Event``, where the values are Sysmon's own."""

    def apply_value(self, field: str | None, val: SigmaType) -> SigmaType | None:
        text = str(val)
        if field == "EventType":
            return SigmaString(_REGISTRY_ACTIONS.get(text, text))
        if field == "TargetObject" and _USER_HIVE.search(text):
            raise UnmappedError("a user-hive registry root Defender's columns write differently")
        if field != "Details" or "WORD (" not in text:
            return None
        dword = _DWORD.match(text)
        if dword is None or (isinstance(val, SigmaString) and val.contains_special()):
            raise UnmappedError("a registry value in Sysmon's DWORD notation matched partially")
        return SigmaString(str(int(dword.group(1), 16)))


_HIVES = (("HKLM", "HKEY_LOCAL_MACHINE"), ("HKCR", "HKEY_CLASSES_ROOT"))


def _registry_items() -> list[ProcessingItem]:
    hives = [
        ProcessingItem(
            ReplaceStringTransformation(
                regex=rf"(?i)^{short}\\", replacement=f"{full}\\\\", skip_special=True
            ),
            field_name_conditions=[IncludeFieldCondition(["TargetObject"])],
        )
        for short, full in _HIVES
    ]
    values = ProcessingItem(
        RegistryValues(),
        field_name_conditions=[IncludeFieldCondition(["TargetObject", "Details", "EventType"])],
    )
    return [*hives, values]


class RouteQuery(QueryPostprocessingTransformation):
    """The whole query: the table, the log source's filter, the derived fields, the rule's condition."""

    def __init__(self, route: Route) -> None:
        self.route = route

    def apply(self, rule: SigmaRule | SigmaCorrelationRule, query: Any) -> str:
        lines = [self.route.table]
        if self.route.where:
            lines.append(f"| where {self.route.where}")
        if self.route.expand:
            lines.append(f"| {self.route.expand}")
        extend: dict[str, str] = _state(self._pipeline).get("extend", {})
        if extend:
            lines.append("| extend " + ", ".join(f"{name} = {expr}" for name, expr in extend.items()))
        # a line break in a value (the item break of a list field) is inside a string literal,
        # where KQL writes it as \n
        lines.append(f"| where {query}".replace("\n", "\\n"))
        return "\n".join(lines)


def pipeline_for(route: Route) -> ProcessingPipeline:
    """Our pipeline for one route (a new one per rule: the pipeline keeps per-rule state)."""
    items = _registry_items() if route.registry else []
    items.extend(route.items() if route.items is not None else ())
    items.append(ProcessingItem(RouteFields(route), identifier="watchkeeper_fields"))
    return ProcessingPipeline(
        name=f"watchkeeper {route.table}",
        priority=20,
        items=items,
        postprocessing_items=[QueryPostprocessingItem(RouteQuery(route), identifier="watchkeeper_query")],
    )


class SigmaKusto(KustoBackend):
    """pySigma's Kusto backend, case-insensitive where it was not: wildcard regexes get ``(?i)``
    and keywords become ``contains`` over the route's keyword column (``*``: every column)."""

    wildcard_match_expression: ClassVar[str] = '{field} matches regex "(?i){regex}"'
    or_chunk: ClassVar[int] = 16  # a long OR is written as parenthesised groups of this many terms

    def __init__(self, route: Route) -> None:
        super().__init__(processing_pipeline=pipeline_for(route))
        self.keyword_target = route.keywords

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> str:
        value = cond.value
        assert isinstance(value, SigmaString)
        plain = SigmaString(str(value).strip("*"))
        if plain.contains_special():
            raise NotImplementedError("a keyword with a wildcard inside")
        return f"{self.keyword_target} contains {self.convert_value_str(plain, state)}"

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        """As the backend writes it, but a nested OR (a list of values, ``windash`` variants)
        parenthesised and a long OR (rules list a thousand package names) in groups of
        :attr:`or_chunk`, so that the query nests no deeper than the compiler reads."""
        terms = [
            self.convert_condition(arg, state)
            if self.compare_precedence(cond, arg) and not isinstance(arg, ConditionOR)
            else self.convert_condition_group(arg, state)
            for arg in cond.args
        ]
        texts = [t for t in terms if isinstance(t, str)]
        if not texts:
            return super().convert_condition_or(cond, state)
        if len(texts) <= self.or_chunk:
            return " or ".join(texts)
        groups = (" or ".join(texts[i : i + self.or_chunk]) for i in range(0, len(texts), self.or_chunk))
        return " or ".join(f"({group})" for group in groups)

    def convert_condition_field_eq_expansion(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """A value's variants (``windash``) as one parenthesised OR (see :meth:`convert_condition_or`)."""
        converted = super().convert_condition_field_eq_expansion(cond, state)
        return self.group_expression.format(expr=converted) if isinstance(converted, str) else converted

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        """A field's list of values (``in~`` and a ``contains`` per wildcard value), a long OR of them
        in groups as :meth:`convert_condition_or` writes it."""
        if not isinstance(cond, ConditionOR) or len(cond.args) <= self.or_chunk:
            return super().convert_condition_as_in_expression(cond, state)
        chunks = (cond.args[i : i + self.or_chunk] for i in range(0, len(cond.args), self.or_chunk))
        parts = (
            super(SigmaKusto, self).convert_condition_as_in_expression(ConditionOR(list(c)), state)
            for c in chunks
        )
        return " or ".join(f"({part})" for part in parts)
