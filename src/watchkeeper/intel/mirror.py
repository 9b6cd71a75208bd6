"""Indicators as rows of the workspace's ``ThreatIntelligenceIndicator`` table, with Sentinel's
columns (``../shared/specs/sentinel-content.md``: networkIPv4 -> NetworkIP, externalId ->
ExternalIndicatorId, killChain -> KillChain* flags, ...). Every create, update and delete appends
a row, as Sentinel does, so that rules read the latest state the usual way:
``ThreatIntelligenceIndicator | summarize arg_max(TimeGenerated, *) by IndicatorId | where Active``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchkeeper.intel.models import IndicatorRead

__all__ = ["PROVIDER", "indicator_row"]

PROVIDER = "watchkeeper"

# Sentinel column -> the Graph property it shows (the same value)
_SAME: dict[str, str] = {
    "ExternalIndicatorId": "externalId", "Action": "action", "ThreatType": "threatType", "Description": "description",
    "TrafficLightProtocolLevel": "tlpLevel", "DiamondModel": "diamondModel", "DomainName": "domainName",
    "Url": "url", "UserAgent": "userAgent", "NetworkCidrBlock": "networkCidrBlock",
    "NetworkSourceCidrBlock": "networkSourceCidrBlock", "NetworkDestinationCidrBlock": "networkDestinationCidrBlock",
    "NetworkPort": "networkPort", "NetworkSourcePort": "networkSourcePort",
    "NetworkDestinationPort": "networkDestinationPort", "NetworkProtocol": "networkProtocol",
    "NetworkSourceAsn": "networkSourceAsn", "NetworkDestinationAsn": "networkDestinationAsn",
    "EmailEncoding": "emailEncoding", "EmailLanguage": "emailLanguage", "EmailRecipient": "emailRecipient",
    "EmailSenderAddress": "emailSenderAddress", "EmailSenderName": "emailSenderName",
    "EmailSourceDomain": "emailSourceDomain", "EmailSourceIpAddress": "emailSourceIpAddress",
    "EmailSubject": "emailSubject", "EmailXMailer": "emailXMailer", "FileHashType": "fileHashType",
    "FileHashValue": "fileHashValue", "FileMutexName": "fileMutexName", "FileName": "fileName",
    "FilePacker": "filePacker", "FilePath": "filePath", "FileType": "fileType", "FileSize": "fileSize",
    "FileCompileDateTime": "fileCompileDateTime", "FileCreatedDateTime": "fileCreatedDateTime",
    "KnownFalsePositives": "knownFalsePositives", "AdditionalInformation": "additionalInformation",
    "ConfidenceScore": "confidence", "ThreatSeverity": "severity", "PassiveOnly": "passiveOnly",
}  # fmt: skip
# Sentinel's one IP column per direction holds the IPv4 or the IPv6 observable
_ADDRESSES = {"NetworkIP": ("networkIPv4", "networkIPv6"),
              "NetworkSourceIP": ("networkSourceIPv4", "networkSourceIPv6"),
              "NetworkDestinationIP": ("networkDestinationIPv4", "networkDestinationIPv6")}  # fmt: skip
# Sentinel's string columns for Graph's string lists
_LISTS = {"Tags": "tags", "ActivityGroupNames": "activityGroupNames", "MalwareNames": "malwareFamilyNames"}
_KILL_CHAIN = ("Actions", "C2", "Delivery", "Exploitation", "Reconnaissance", "Weaponization")


def indicator_row(indicator: IndicatorRead, *, now: datetime, deleted: bool = False) -> dict[str, Any]:
    """A ``ThreatIntelligenceIndicator`` row for ``indicator`` as it is at ``now``; a deleted
    indicator's last row reads ``Active == false``."""
    props = indicator.properties
    row: dict[str, Any] = {
        column: props[name] for column, name in _SAME.items() if props.get(name) is not None
    }
    for column, names in _ADDRESSES.items():
        row[column] = next((props[name] for name in names if props.get(name)), None)
    for column, name in _LISTS.items():
        row[column] = ", ".join(props.get(name) or [])
    chain = set(props.get("killChain") or [])
    row |= {f"KillChain{stage}": stage in chain for stage in _KILL_CHAIN}
    return row | {
        "TimeGenerated": now, "IndicatorId": indicator.id, "ExpirationDateTime": indicator.expiration,
        "Active": indicator.active_at(now) and not deleted, "IndicatorProvider": indicator.owner_app,
        "SourceSystem": PROVIDER,
    }  # fmt: skip
