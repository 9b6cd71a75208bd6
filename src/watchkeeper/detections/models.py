"""What a detection rule is, whatever format it came in: the one model every loader produces
(Sentinel analytics rule YAML, Sigma) and the scheduler, runner and alerting read.

The field names follow the Sentinel analytics rule (``../shared/specs/sentinel-content.md`` section 1)
since it is the richest format; a Sigma rule fills what it has and takes defaults for the rest.
Everything is immutable: a loaded rule is data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

__all__ = [
    "AGGREGATION_KINDS",
    "ENTITY_IDENTIFIERS",
    "MATCHING_METHODS",
    "SEVERITIES",
    "TACTICS",
    "AlertDetailsOverride",
    "DetectionRule",
    "EntityMapping",
    "GroupingConfiguration",
    "IncidentConfiguration",
    "RuleKind",
    "RuleLoadError",
    "RuleTest",
]


class RuleKind(StrEnum):
    SCHEDULED = "Scheduled"
    NRT = "NRT"


SEVERITIES = ("Informational", "Low", "Medium", "High")
TACTICS = (
    "Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence", "PrivilegeEscalation",
    "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Collection", "CommandAndControl",
    "Exfiltration", "Impact", "ImpairProcessControl", "InhibitResponseFunction", "PreAttack",
)  # fmt: skip
AGGREGATION_KINDS = ("SingleAlert", "AlertPerResult")
MATCHING_METHODS = ("AllEntities", "AnyAlert", "Selected")

# entity type -> (identifiers, the identifier sets of which at least one must be mapped)
ENTITY_IDENTIFIERS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "Account": (("Name", "FullName", "NTDomain", "DnsDomain", "UPNSuffix", "Sid", "AadTenantId", "AadUserId",
                 "PUID", "IsDomainJoined", "DisplayName", "ObjectGuid"),
                (("FullName",), ("Sid",), ("Name",), ("AadUserId",), ("PUID",), ("ObjectGuid",))),
    "Host": (("DnsDomain", "NTDomain", "HostName", "FullName", "NetBiosName", "AzureID", "OMSAgentID", "OSFamily",
              "OSVersion", "IsDomainJoined"),
             (("FullName",), ("HostName",), ("NetBiosName",), ("AzureID",), ("OMSAgentID",))),
    "IP": (("Address",), (("Address",),)),
    "URL": (("Url",), (("Url",),)),
    "FileHash": (("Algorithm", "Value"), (("Algorithm", "Value"),)),
    "File": (("Directory", "Name"), (("Name",),)),
    "Process": (("ProcessId", "CommandLine", "ElevationToken", "CreationTimeUtc"), (("CommandLine",), ("ProcessId",))),
    "CloudApplication": (("AppId", "Name", "InstanceName"), (("AppId",), ("Name",))),
    "DNS": (("DomainName",), (("DomainName",),)),
    "AzureResource": (("ResourceId",), (("ResourceId",),)),
    "Mailbox": (("MailboxPrimaryAddress", "DisplayName", "Upn", "ExternalDirectoryObjectId", "RiskLevel"),
                (("MailboxPrimaryAddress",),)),
    "MailMessage": (("Recipient", "Urls", "Threats", "Sender", "P1Sender", "P1SenderDisplayName", "P1SenderDomain",
                     "SenderIP", "P2Sender", "P2SenderDisplayName", "P2SenderDomain", "ReceivedDate",
                     "NetworkMessageId", "InternetMessageId", "Subject", "BodyFingerprintBin1", "BodyFingerprintBin2",
                     "BodyFingerprintBin3", "BodyFingerprintBin4", "BodyFingerprintBin5", "AntispamDirection",
                     "DeliveryAction", "DeliveryLocation", "Language", "ThreatDetectionMethods"),
                    (("NetworkMessageId",), ("Recipient",))),
    "MailCluster": (("NetworkMessageIds", "CountByDeliveryStatus", "CountByThreatType", "CountByProtectionStatus",
                     "Threats", "Query", "QueryTime", "MailCount", "IsVolumeAnomaly", "Source",
                     "ClusterSourceIdentifier", "ClusterSourceType", "ClusterQueryStartTime", "ClusterQueryEndTime",
                     "ClusterGroup"), (("Query",), ("Source",))),
    "SubmissionMail": (("NetworkMessageId", "Timestamp", "Recipient", "Sender", "SenderIp", "Subject", "ReportType",
                        "SubmissionId", "SubmissionDate", "Submitter"),
                       (("SubmissionId",), ("NetworkMessageId",), ("Recipient",), ("Submitter",))),
    "Malware": (("Name", "Category"), (("Name",),)),
    "RegistryKey": (("Hive", "Key"), (("Key",), ("Hive",))),
    "RegistryValue": (("Name", "Value", "ValueType"), (("Name",),)),
    "SecurityGroup": (("DistinguishedName", "SID", "ObjectGuid"), (("DistinguishedName",), ("SID",), ("ObjectGuid",))),
    "IoTDevice": (("DeviceId", "DeviceName", "Manufacturer", "Model", "FirmwareVersion", "OperatingSystem",
                   "MacAddress", "Protocols", "SerialNumber", "Source", "IoTSecurityAgentId", "DeviceType"),
                  (("DeviceId",),)),
}  # fmt: skip


class RuleLoadError(ValueError):
    """A rule file that cannot be loaded: where (file, line, field) and why."""

    def __init__(
        self, source: str, message: str, *, line: int | None = None, field_path: str | None = None
    ) -> None:
        self.source = source
        self.line = line
        self.field_path = field_path
        self.message = message
        where = source + (f":{line}" if line is not None else "")
        about = f" {field_path}:" if field_path else ""
        super().__init__(f"{where}:{about} {message}")


@dataclass(frozen=True, slots=True)
class EntityMapping:
    """One entity of each result row: its type and which result column gives each identifier."""

    entity_type: str
    fields: tuple[tuple[str, str], ...]  # (identifier, column)


@dataclass(frozen=True, slots=True)
class AlertDetailsOverride:
    display_name_format: str | None = None
    description_format: str | None = None
    tactics_column: str | None = None
    severity_column: str | None = None
    dynamic_properties: tuple[tuple[str, str], ...] = ()  # (alert property, column)


@dataclass(frozen=True, slots=True)
class GroupingConfiguration:
    enabled: bool = False
    reopen_closed_incident: bool = False
    lookback: timedelta = timedelta(hours=5)
    matching_method: str = "AllEntities"
    group_by_entities: tuple[str, ...] = ()
    group_by_alert_details: tuple[str, ...] = ()
    group_by_custom_details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncidentConfiguration:
    create_incident: bool = True
    grouping: GroupingConfiguration = field(default_factory=GroupingConfiguration)


@dataclass(frozen=True, slots=True)
class RuleTest:
    """A detection test carried by a rule file: events to ingest (inline rows per table, or a
    fixture file) and what the rule must then raise."""

    name: str
    events: tuple[tuple[str, tuple[dict[str, object], ...]], ...] = ()  # (table, rows)
    fixture: str | None = None  # a file `wk ingest` reads, relative to the rule file
    expect_alerts: int | None = None  # exactly this many (None: at least one)
    expect_entities: tuple[
        tuple[str, str, str], ...
    ] = ()  # (entity type, identifier, value) that must appear


@dataclass(frozen=True, slots=True)
class DetectionRule:
    """A detection rule, loaded and validated. ``rule_id`` is the format's own id (Sentinel's or
    Sigma's GUID); ``source_format`` says which loader made it (``sentinel``, ``sigma``)."""

    rule_id: str
    name: str
    source_format: str
    query: str
    kind: RuleKind = RuleKind.SCHEDULED
    description: str = ""
    severity: str = "Medium"
    query_frequency: timedelta = timedelta(hours=1)
    query_period: timedelta = timedelta(hours=1)
    trigger_operator: str = "gt"  # gt, lt, eq, ne
    trigger_threshold: int = 0
    tactics: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()  # T1078, T1078.004
    entity_mappings: tuple[EntityMapping, ...] = ()
    custom_details: tuple[tuple[str, str], ...] = ()  # (key, column)
    alert_details_override: AlertDetailsOverride | None = None
    aggregation: str = "SingleAlert"
    suppression_enabled: bool = False
    suppression_duration: timedelta = timedelta(hours=5)
    incident: IncidentConfiguration = field(default_factory=IncidentConfiguration)
    enabled: bool = True
    version: str = ""
    status: str = ""
    tables: tuple[str, ...] = ()  # the tables (or functions) the query reads, as the format declares them
    tests: tuple[RuleTest, ...] = ()
    origin: str = ""  # the file (and member of an archive) it was loaded from
    text: str = ""  # the rule file's text, kept for `wk rules show` and export

    def triggered(self, rows: int) -> bool:
        """Whether a run that returned ``rows`` rows raises alerts."""
        if self.kind is RuleKind.NRT:
            return rows > 0
        threshold = self.trigger_threshold
        return {"gt": rows > threshold, "lt": rows < threshold, "eq": rows == threshold,
                "ne": rows != threshold}[self.trigger_operator]  # fmt: skip
