"""Alerts in Graph's shapes (``../shared/specs/graph-security-api.md`` sections 2, 3 and 5).

* ``security.alert`` (alerts_v2, :func:`alert_json`): camelCase, enums in Graph's spelling
  (severity ``medium``; status ``new``/``inProgress``/``resolved``), ``detectorId`` the rule id,
  ``category`` the first tactic, ``mitreTechniques`` the rule's techniques, console URLs on this
  server, and ``evidence``: one typed evidence object per entity of the alert (``account`` ->
  ``userEvidence``, ``ip`` -> ``ipEvidence``, ... :data:`EVIDENCE`), then the alert's own
  ``properties["evidence"]`` verbatim (alerts of other products). Entity types Graph has no
  evidence for (``iotdevice``, ``submission-mail``) are left out of ``evidence``; they stay in the
  ``SecurityAlert`` table's ``Entities``. ``additionalData`` (Graph's open dictionary) names the
  alert's ``workspaceId`` and, for a rule's alert, the rule's ``query`` and the window it ran
  over (``queryStartDateTime``, ``queryEndDateTime``): what reproduces the alert in hunting.
* Rule alerts report serviceSource ``microsoftSentinel``, detectionSource ``scheduledAlerts`` or
  ``nrtAlerts`` and productName ``watchkeeper``; alerts of other products report their own
  (``properties``). These members follow ``unknownFutureValue`` in Graph's evolvable enums, so they
  are sent only to callers asking with ``Prefer: include-unknown-enum-members``; others read
  ``unknownFutureValue``, as Graph does.
* The legacy ``alert`` (:func:`legacy_alert_json`): the same alerts in the v1 schema;
  ``vendorInformation`` is ``{provider: "watchkeeper", vendor: "watchkeeper"}`` for rule alerts, the
  product's name otherwise; userStates, hostStates, networkConnections (an ``ip`` entity is a
  connection to that address, a ``network-connection`` entity a full one), fileStates, processes,
  registryKeyStates and malwareStates come from the entities.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from watchkeeper.cases import AlertRead
from watchkeeper.cases.models import AlertComment

__all__ = [
    "EVIDENCE",
    "AlertContext",
    "alert_json",
    "comment_json",
    "evolvable",
    "iso",
    "legacy_alert_json",
    "legacy_vendor",
]

ODATA = "#microsoft.graph.security."
# Graph's evolvable enums: the members after unknownFutureValue (sent only when the caller opts in)
_LATE_MEMBERS: dict[str, frozenset[str]] = {
    "serviceSource": frozenset({"microsoftDefenderForCloud", "microsoftSentinel", "microsoftInsiderRiskManagement",
                                "microsoftThreatIntelligence", "microsoftSecurityForAI"}),
    "detectionSource": frozenset({
        "microsoftDefenderForCloud", "microsoftDefenderForIoT", "microsoftDefenderForServers",
        "microsoftDefenderForStorage", "microsoftDefenderForDNS", "microsoftDefenderForDatabases",
        "microsoftDefenderForContainers", "microsoftDefenderForNetwork", "microsoftDefenderForAppService",
        "microsoftDefenderForKeyVault", "microsoftDefenderForResourceManager", "microsoftDefenderForApiManagement",
        "nrtAlerts", "scheduledAlerts", "microsoftDefenderThreatIntelligenceAnalytics", "builtInMl",
        "microsoftInsiderRiskManagement", "microsoftThreatIntelligence", "microsoftSentinel"}),
    "incidentStatus": frozenset({"awaitingAction"}),
}  # fmt: skip
_EARLY_MEMBERS: dict[str, frozenset[str]] = {
    "serviceSource": frozenset({"unknown", "microsoftDefenderForEndpoint", "microsoftDefenderForIdentity",
                                "microsoftDefenderForCloudApps", "microsoftDefenderForOffice365",
                                "microsoft365Defender", "azureAdIdentityProtection", "microsoftAppGovernance",
                                "dataLossPrevention"}),
    "detectionSource": frozenset({
        "unknown", "microsoftDefenderForEndpoint", "antivirus", "smartScreen", "customTi",
        "microsoftDefenderForOffice365", "automatedInvestigation", "microsoftThreatExperts", "customDetection",
        "microsoftDefenderForIdentity", "cloudAppSecurity", "microsoft365Defender", "azureAdIdentityProtection",
        "manual", "microsoftDataLossPrevention", "appGovernancePolicy", "appGovernanceDetection"}),
}  # fmt: skip
RULE_PRODUCT = "watchkeeper"


def evolvable(enum: str, value: str, *, late_members: bool) -> str:
    """``value`` of Graph's evolvable ``enum`` as a caller sees it: a member declared after
    ``unknownFutureValue`` only if the caller opted in (``late_members``); a value Graph does not
    know at all is ``unknown``."""
    if value in _LATE_MEMBERS.get(enum, ()):
        return value if late_members else "unknownFutureValue"
    early = _EARLY_MEMBERS.get(enum)
    return value if early is None or value in early else "unknown"


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` (Graph's dates)."""
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


class AlertContext:
    """What the alert shapes need beyond the alert: the console's origin, whether the caller takes
    late enum members, the kinds of the rules that raised the alerts, and their comments."""

    def __init__(self, *, origin: str, late_members: bool, rule_kinds: Mapping[str, str],
                 comments: Mapping[str, Sequence[AlertComment]]) -> None:  # fmt: skip
        self.origin, self.late_members = origin, late_members
        self.rule_kinds, self.comments = rule_kinds, comments

    def alert_url(self, alert: AlertRead) -> str:
        return str(alert.properties.get("alertWebUrl") or f"{self.origin}/console/alerts/{alert.id}")

    def incident_url(self, incident_id: str | None) -> str | None:
        return f"{self.origin}/console/incidents/{incident_id}" if incident_id else None


def comment_json(comment: AlertComment) -> dict[str, Any]:
    """An ``alertComment``."""
    return {"@odata.type": "#microsoft.graph.security.alertComment", "comment": comment.comment,
            "createdByDisplayName": comment.created_by, "createdDateTime": iso(comment.created_at)}  # fmt: skip


def _sources(alert: AlertRead, context: AlertContext) -> tuple[str, str, str]:
    """(serviceSource, detectionSource, productName): the product's own, or a rule's."""
    props = alert.properties
    kind = context.rule_kinds.get(alert.rule_ref or "", "Scheduled")
    detection = str(props.get("detectionSource") or ("nrtAlerts" if kind == "NRT" else "scheduledAlerts"))
    service = str(props.get("serviceSource") or "microsoftSentinel")
    return service, detection, str(props.get("productName") or RULE_PRODUCT)


def alert_json(alert: AlertRead, context: AlertContext) -> dict[str, Any]:
    """``alert`` as a ``#microsoft.graph.security.alert``."""
    service, detection, product = _sources(alert, context)
    late = context.late_members
    return {
        "@odata.type": f"{ODATA}alert", "id": alert.id,
        "providerAlertId": str(alert.properties.get("providerAlertId") or alert.id),
        "incidentId": alert.incident_id, "status": alert.status, "severity": alert.severity.lower(),
        "classification": alert.classification, "determination": alert.determination,
        "serviceSource": evolvable("serviceSource", service, late_members=late),
        "detectionSource": evolvable("detectionSource", detection, late_members=late),
        "productName": product, "detectorId": alert.rule_id, "tenantId": alert.tenant_id, "title": alert.title,
        "description": alert.description, "recommendedActions": "", "category": _category(alert),
        "assignedTo": alert.assigned_to, "alertWebUrl": context.alert_url(alert),
        "incidentWebUrl": context.incident_url(alert.incident_id), "actorDisplayName": None,
        "threatDisplayName": None, "threatFamilyName": None, "mitreTechniques": list(alert.techniques),
        "createdDateTime": iso(alert.created_at), "lastUpdateDateTime": iso(alert.updated_at),
        "resolvedDateTime": iso(alert.resolved_at), "firstActivityDateTime": iso(alert.first_activity),
        "lastActivityDateTime": iso(alert.last_activity), "systemTags": [],
        "customDetails": alert.custom_details, "additionalData": _additional_data(alert),
        "comments": [comment_json(c) for c in context.comments.get(alert.id, ())],
        "evidence": alert_evidence(alert),
    }  # fmt: skip


def _additional_data(alert: AlertRead) -> dict[str, Any]:
    """Graph's open ``additionalData``: the workspace the alert is in and, for a rule's alert, the
    rule's query and the window it ran over (what reproduces the alert in hunting)."""
    data: dict[str, Any] = {"workspaceId": alert.workspace_id}
    if alert.query and "providerAlertId" not in alert.properties:
        data |= {"ruleName": alert.rule_name, "query": alert.query, "queryStartDateTime": iso(alert.window_start),
                 "queryEndDateTime": iso(alert.window_end)}  # fmt: skip
    return data


def _category(alert: AlertRead) -> str | None:
    return str(alert.properties.get("category") or "") or (alert.tactics[0] if alert.tactics else None)


# ---------------------------------------------------------------------------- evidence


def alert_evidence(alert: AlertRead) -> list[dict[str, Any]]:
    """The alert's evidence: one object per entity Graph has a type for, then its own (verbatim)."""
    base: dict[str, Any] = {"createdDateTime": iso(alert.created_at), "verdict": "suspicious", "remediationStatus": "none",
            "remediationStatusDetails": None, "roles": [], "detailedRoles": [], "tags": []}  # fmt: skip
    derived = []
    for entity in alert.entities:
        shape = EVIDENCE.get(str(entity.get("Type", "")).lower())
        if shape is not None:
            name, build = shape
            derived.append({"@odata.type": f"{ODATA}{name}", **base, **build(entity)})
    own = alert.properties.get("evidence")
    return derived + [e for e in own if isinstance(e, dict)] if isinstance(own, list) else derived


def _text(entity: Mapping[str, Any], key: str) -> str | None:
    value = entity.get(key)
    return None if value in (None, "") else str(value)


def _number(entity: Mapping[str, Any], key: str) -> int | None:
    value = entity.get(key)
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _upn(entity: Mapping[str, Any]) -> str | None:
    name, suffix = _text(entity, "Name"), _text(entity, "UPNSuffix")
    return f"{name}@{suffix}" if name and suffix else None


def _user_account(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {"accountName": _text(entity, "Name"), "domainName": _text(entity, "NTDomain") or _text(entity, "DnsDomain"),
            "userSid": _text(entity, "Sid"), "azureAdUserId": _text(entity, "AadUserId"),
            "userPrincipalName": _upn(entity), "displayName": _text(entity, "DisplayName") or _text(entity, "FullName"),
            "activeDirectoryObjectGuid": _text(entity, "ObjectGuid"), "tenantId": _text(entity, "AadTenantId")}  # fmt: skip


def _fqdn(entity: Mapping[str, Any]) -> str | None:
    host, domain = _text(entity, "HostName"), _text(entity, "DnsDomain")
    return _text(entity, "FullName") or (f"{host}.{domain}" if host and domain else host)


def _device(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {"hostName": _text(entity, "HostName") or _text(entity, "NetBiosName"), "deviceDnsName": _fqdn(entity),
            "dnsDomain": _text(entity, "DnsDomain"), "ntDomain": _text(entity, "NTDomain"),
            "osPlatform": _text(entity, "OSFamily"), "version": _text(entity, "OSVersion"), "mdeDeviceId": None,
            "azureAdDeviceId": None, "loggedOnUsers": [], "ipInterfaces": []}  # fmt: skip


def _ip(address: str | None) -> dict[str, Any]:
    return {"@odata.type": f"{ODATA}ipEvidence", "ipAddress": address}


def _file_details(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {"fileName": _text(entity, "Name"), "filePath": _text(entity, "Directory")}


def _hash_algorithm(entity: Mapping[str, Any]) -> str:
    algorithm = str(entity.get("Algorithm", "")).lower()
    return {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha256ac": "sha256ac"}.get(
        algorithm, "unknown"
    )


def _process(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {"processId": _number(entity, "ProcessId"), "processCommandLine": _text(entity, "CommandLine"),
            "processCreationDateTime": _text(entity, "CreationTimeUtc"), "detectionStatus": None}  # fmt: skip


def _azure_resource(entity: Mapping[str, Any]) -> dict[str, Any]:
    resource = _text(entity, "ResourceId") or ""
    parts = [p for p in resource.split("/") if p]
    kind = "/".join(parts[-3:-1]) if len(parts) >= 3 else None
    return {
        "resourceId": resource or None,
        "resourceName": parts[-1] if parts else None,
        "resourceType": kind,
    }


def _connection(entity: Mapping[str, Any]) -> dict[str, Any]:
    protocol = str(entity.get("Protocol", "")).lower()
    return {"sourceAddress": _ip(_text(entity, "SourceAddress")), "sourcePort": _number(entity, "SourcePort"),
            "destinationAddress": _ip(_text(entity, "DestinationAddress")),
            "destinationPort": _number(entity, "DestinationPort"),
            "protocol": protocol if protocol in ("tcp", "udp") else None}  # fmt: skip


# Sentinel entity type -> (Graph evidence type, its own fields from the entity's identifiers)
EVIDENCE: dict[str, tuple[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "account": ("userEvidence", lambda e: {"userAccount": _user_account(e)}),
    "host": ("deviceEvidence", _device),
    "ip": ("ipEvidence", lambda e: {"ipAddress": _text(e, "Address")}),
    "url": ("urlEvidence", lambda e: {"url": _text(e, "Url")}),
    "file": ("fileEvidence", lambda e: {"fileDetails": _file_details(e), "detectionStatus": None}),
    "filehash": ("fileHashEvidence", lambda e: {"algorithm": _hash_algorithm(e), "value": _text(e, "Value")}),
    "process": ("processEvidence", _process),
    "registry-key": ("registryKeyEvidence", lambda e: {"registryHive": _text(e, "Hive"),
                                                       "registryKey": _text(e, "Key")}),
    "registry-value": ("registryValueEvidence", lambda e: {
        "registryValueName": _text(e, "Name"), "registryValue": _text(e, "Value"),
        "registryValueType": _text(e, "ValueType")}),
    "mailbox": ("mailboxEvidence", lambda e: {"primaryAddress": _text(e, "MailboxPrimaryAddress"),
                                              "displayName": _text(e, "DisplayName"), "upn": _text(e, "Upn")}),
    "mail-message": ("analyzedMessageEvidence", lambda e: {
        "networkMessageId": _text(e, "NetworkMessageId"), "internetMessageId": _text(e, "InternetMessageId"),
        "subject": _text(e, "Subject"), "recipientEmailAddress": _text(e, "Recipient"),
        "senderIp": _text(e, "SenderIP"), "language": _text(e, "Language")}),
    "mail-cluster": ("mailClusterEvidence", lambda e: {"query": _text(e, "Query"), "clusterBy": _text(e, "Source")}),
    "cloud-application": ("cloudApplicationEvidence", lambda e: {
        "appId": _number(e, "AppId"), "displayName": _text(e, "Name"), "instanceName": _text(e, "InstanceName")}),
    "azure-resource": ("azureResourceEvidence", _azure_resource),
    "security-group": ("securityGroupEvidence", lambda e: {
        "distinguishedName": _text(e, "DistinguishedName"), "sid": _text(e, "SID"),
        "activeDirectoryObjectGuid": _text(e, "ObjectGuid")}),
    "dns": ("dnsEvidence", lambda e: {"domainName": _text(e, "DomainName")}),
    "malware": ("malwareEvidence", lambda e: {"name": _text(e, "Name"), "category": _text(e, "Category"),
                                              "files": [], "processes": []}),
    "network-connection": ("networkConnectionEvidence", _connection),
}  # fmt: skip


# ---------------------------------------------------------------------------- legacy alert

_LEGACY_STATUS = {"new": "newAlert", "inProgress": "inProgress", "resolved": "resolved"}
_FEEDBACK = {"truePositive": "truePositive", "falsePositive": "falsePositive",
             "informationalExpectedActivity": "benignPositive", "unknown": "unknown"}  # fmt: skip


def legacy_vendor(alert: AlertRead) -> dict[str, Any]:
    """``vendorInformation``: watchkeeper for rule alerts, else the product that raised the alert."""
    product = str(alert.properties.get("productName") or RULE_PRODUCT)
    return {"provider": product, "providerVersion": None, "subProvider": None, "vendor": product}


def legacy_alert_json(alert: AlertRead, context: AlertContext) -> dict[str, Any]:
    """``alert`` as a legacy ``microsoft.graph.alert``."""
    states = _legacy_states(alert.entities)
    return {
        "id": alert.id, "azureTenantId": alert.tenant_id, "title": alert.title, "description": alert.description,
        "category": _category(alert), "severity": alert.severity.lower(), "status": _LEGACY_STATUS[alert.status],
        "feedback": _FEEDBACK.get(alert.classification, "unknown"), "assignedTo": alert.assigned_to,
        "createdDateTime": iso(alert.created_at), "eventDateTime": iso(alert.first_activity or alert.created_at),
        "lastEventDateTime": iso(alert.last_activity or alert.created_at),
        "lastModifiedDateTime": iso(alert.updated_at), "closedDateTime": iso(alert.resolved_at),
        "comments": [c.comment for c in context.comments.get(alert.id, ())], "tags": [],
        "detectionIds": [alert.rule_id], "incidentIds": [alert.incident_id] if alert.incident_id else [],
        "sourceMaterials": [context.alert_url(alert)], "recommendedActions": [], "confidence": None,
        "vendorInformation": legacy_vendor(alert), "triggers": [], "alertDetections": [], "cloudAppStates": [],
        "historyStates": [], "investigationSecurityStates": [], "messageSecurityStates": [],
        "uriClickSecurityStates": [], "vulnerabilityStates": [], "securityResources": [], **states,
    }  # fmt: skip


def _legacy_states(entities: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    states: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in _LEGACY.values()}
    for entity in entities:
        shape = _LEGACY.get(str(entity.get("Type", "")).lower())
        if shape is not None:
            states[shape[0]].append(shape[1](entity))
    return states


def _user_state(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {"accountName": _text(entity, "Name"), "domainName": _text(entity, "NTDomain") or _text(entity, "UPNSuffix"),
            "aadUserId": _text(entity, "AadUserId"), "userPrincipalName": _upn(entity),
            "onPremisesSecurityIdentifier": _text(entity, "Sid"), "emailRole": "unknown", "isVpn": None,
            "logonType": None, "userAccountType": None, "riskScore": None}  # fmt: skip


def _host_state(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {"fqdn": _fqdn(entity), "netBiosName": _text(entity, "NetBiosName") or _text(entity, "HostName"),
            "os": _text(entity, "OSFamily"), "privateIpAddress": None, "publicIpAddress": None, "riskScore": None}  # fmt: skip


def _network_connection(entity: Mapping[str, Any]) -> dict[str, Any]:
    if str(entity.get("Type", "")).lower() == "ip":
        return {"destinationAddress": _text(entity, "Address")}
    return {"sourceAddress": _text(entity, "SourceAddress"), "sourcePort": _text(entity, "SourcePort"),
            "destinationAddress": _text(entity, "DestinationAddress"),
            "destinationPort": _text(entity, "DestinationPort"), "protocol": _text(entity, "Protocol")}  # fmt: skip


def _file_state(entity: Mapping[str, Any]) -> dict[str, Any]:
    if str(entity.get("Type", "")).lower() == "filehash":
        return {"fileHash": {"hashType": _hash_algorithm(entity), "hashValue": _text(entity, "Value")}}
    return {
        "name": _text(entity, "Name"),
        "path": _text(entity, "Directory"),
        "fileHash": None,
        "riskScore": None,
    }


def _process_state(entity: Mapping[str, Any]) -> dict[str, Any]:
    return {"processId": _number(entity, "ProcessId"), "commandLine": _text(entity, "CommandLine"),
            "createdDateTime": _text(entity, "CreationTimeUtc")}  # fmt: skip


# Sentinel entity type -> (legacy alert collection, its item from the entity)
_LEGACY: dict[str, tuple[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "account": ("userStates", _user_state),
    "host": ("hostStates", _host_state),
    "ip": ("networkConnections", _network_connection),
    "network-connection": ("networkConnections", _network_connection),
    "file": ("fileStates", _file_state),
    "filehash": ("fileStates", _file_state),
    "process": ("processes", _process_state),
    "registry-key": ("registryKeyStates", lambda e: {"key": _text(e, "Key"), "hive": None}),
    "registry-value": ("registryKeyStates", lambda e: {"valueName": _text(e, "Name"), "valueData": _text(e, "Value")}),
    "malware": ("malwareStates", lambda e: {"name": _text(e, "Name"), "category": _text(e, "Category")}),
}  # fmt: skip
