"""Built-in ASIM File Event and Registry Event parsers: what a process did on an endpoint.

Schemas: learn.microsoft.com/azure/sentinel/normalization-schema-file-event and
normalization-schema-registry-event. Sources, unioned:

- ``imFileEvent`` / ``_Im_FileEvent`` / ``ASimFileEvent``: the native ``ASimFileEventLogs`` and
  Defender's ``DeviceFileEvents`` (its ``ActionType`` values ``FileCreated``, ``FileModified``,
  ``FileDeleted``, ``FileRenamed`` are already ASIM event types; a rename's old name is the
  ``SrcFile*``). Sysmon events 11, 23 and 26 reach ``DeviceFileEvents`` at ingestion (their rows
  carry ``AdditionalFields.SysmonEventID``): those say ``EventProduct`` ``Sysmon`` and keep the Sysmon
  event id as ``EventOriginalType``. Sysmon in the ``Event`` table's ``EventData`` XML is not read.
- ``imRegistry`` / ``_Im_RegistryEvent`` / ``ASimRegistry``: the native ``ASimRegistryEventLogs``
  and ``DeviceRegistryEvents`` (its ``ActionType`` values are ASIM's registry event types and its
  keys are already spelled ``HKEY_LOCAL_MACHINE\\...``). Sysmon 12/13/14 reach it at ingestion too; its
  rows have no field that tells them from Defender's, so they say ``M365 Defender for Endpoint``.

``imFileEvent``'s ``pack`` is accepted and has no effect: no source-specific fields are kept to pack.

The acting process and actor come from Defender's ``InitiatingProcess*`` columns. ``Username``
(an alias earlier versions of the registry schema had) is kept because rules still name it.
"""

from __future__ import annotations

from watchkeeper.kql.asim_filters import IN_TIME, TIME_PARAMS, any_prefix, dynamic_params, has_any, in_list

__all__ = ["ENDPOINT_PARSERS"]

# the actor and acting process of a Defender for Endpoint event
_MDE_ACTOR = """EventVendor = 'Microsoft',
       ActorUsername = iff(isempty(InitiatingProcessAccountDomain), InitiatingProcessAccountName,
           strcat(InitiatingProcessAccountDomain, '\\\\', InitiatingProcessAccountName)),
       ActorUserId = InitiatingProcessAccountSid, ActorUserIdType = iff(isempty(InitiatingProcessAccountSid), '', 'SID'),
       ActorUserAadId = InitiatingProcessAccountObjectId, ActorSessionId = tostring(InitiatingProcessSessionId),
       ActingProcessName = InitiatingProcessFolderPath, ActingProcessId = tostring(InitiatingProcessId),
       ActingProcessCommandLine = InitiatingProcessCommandLine, DvcHostname = DeviceName, DvcId = DeviceId"""

_ACTOR_FIELDS = """ActorUsername, ActorUserId, ActorUserIdType, ActorUserAadId, ActorSessionId, ActingProcessName,
       ActingProcessId, ActingProcessCommandLine, DvcHostname, DvcId"""

_COMMON = """TimeGenerated, Type, EventStartTime = coalesce(EventStartTime, TimeGenerated),
    EventEndTime = coalesce(EventEndTime, TimeGenerated), EventCount = coalesce(EventCount, toint(1)),
    EventType, EventSubType, EventResult = iff(isempty(EventResult), 'Success', EventResult), EventOriginalType,
    EventProduct, EventVendor"""

_FILE_PARAMS = f"{TIME_PARAMS}, " + dynamic_params(
    "eventtype_in", "srcipaddr_has_any_prefix", "actorusername_has_any", "targetfilepath_has_any",
    "srcfilepath_has_any", "hashes_has_any", "dvchostname_has_any",
) + ", pack:bool=false"  # fmt: skip

_FILE_MDE = f"""DeviceFileEvents | where {IN_TIME}
   | extend _sysmon = tostring(AdditionalFields.SysmonEventID)
   | project TimeGenerated, Type, EventType = ActionType, {_MDE_ACTOR},
       EventProduct = iff(isempty(_sysmon), 'M365 Defender for Endpoint', 'Sysmon'),
       EventOriginalType = iff(isempty(_sysmon), ActionType, _sysmon), TargetFileName = FileName, TargetFilePath = FolderPath, TargetFileMD5 = MD5, TargetFileSHA1 = SHA1,
       TargetFileSHA256 = SHA256, TargetFileSize = FileSize, SrcFileName = PreviousFileName,
       SrcFilePath = iff(isempty(PreviousFolderPath) or isempty(PreviousFileName), PreviousFolderPath,
           strcat(PreviousFolderPath, iff(PreviousFolderPath endswith '\\\\', '', '\\\\'), PreviousFileName)),
       SrcIpAddr = RequestSourceIP, TargetUrl = FileOriginUrl"""

_FILE_NATIVE = f"""ASimFileEventLogs | where {IN_TIME}
   | project TimeGenerated, Type, EventStartTime, EventEndTime, EventCount, EventType, EventSubType, EventResult,
       EventOriginalType, EventProduct, EventVendor, {_ACTOR_FIELDS}, TargetFileName, TargetFilePath,
       TargetFileMD5, TargetFileSHA1, TargetFileSHA256, TargetFileSize, SrcFileName, SrcFilePath, SrcIpAddr,
       TargetUrl, DvcIpAddr, DvcOs"""

_FILE = f"""union ({_FILE_NATIVE}), ({_FILE_MDE})
| project {_COMMON}, EventSchema = 'FileEvent', {_ACTOR_FIELDS}, DvcIpAddr, DvcOs, Dvc = DvcHostname,
    TargetFileName, TargetFilePath, TargetFileMD5, TargetFileSHA1, TargetFileSHA256, TargetFileSize,
    TargetFileDirectory = extract(@'^(.*)[\\\\/][^\\\\/]*$', 1, TargetFilePath),
    TargetFileExtension = extract(@'\\.([^.\\\\/]+)$', 1, TargetFileName),
    SrcFileName, SrcFilePath, SrcIpAddr, TargetUrl,
    Hash = coalesce(TargetFileSHA256, TargetFileSHA1, TargetFileMD5),
    HashType = iff(isnotempty(TargetFileSHA256), 'SHA256', iff(isnotempty(TargetFileSHA1), 'SHA1',
        iff(isnotempty(TargetFileMD5), 'MD5', ''))),
    User = ActorUsername, Process = ActingProcessName, FileName = TargetFileName, FilePath = TargetFilePath
| where {in_list("eventtype_in", "EventType")} and {any_prefix("srcipaddr_has_any_prefix", "SrcIpAddr")}
    and {has_any("actorusername_has_any", "ActorUsername")} and {has_any("targetfilepath_has_any", "TargetFilePath")}
    and {has_any("srcfilepath_has_any", "SrcFilePath")}
    and {has_any("hashes_has_any", "TargetFileSHA256", "TargetFileSHA1", "TargetFileMD5")}
    and {has_any("dvchostname_has_any", "DvcHostname")}"""

_REGISTRY_PARAMS = f"{TIME_PARAMS}, " + dynamic_params(
    "eventtype_in", "actorusername_has_any", "registrykey_has_any", "registryvalue_has_any",
    "registryvaluedata_has_any", "dvchostname_has_any",
)  # fmt: skip

_REGISTRY_MDE = f"""DeviceRegistryEvents | where {IN_TIME}
   | project TimeGenerated, Type, EventType = ActionType, {_MDE_ACTOR}, EventProduct = 'M365 Defender for Endpoint',
       EventOriginalType = ActionType, RegistryKey, RegistryValue = RegistryValueName,
       RegistryValueData, RegistryValueType, RegistryPreviousKey = PreviousRegistryKey,
       RegistryPreviousValue = PreviousRegistryValueName, RegistryPreviousValueData = PreviousRegistryValueData,
       ParentProcessName = InitiatingProcessParentFileName, ParentProcessId = tostring(InitiatingProcessParentId)"""

_REGISTRY_FIELDS = """RegistryKey, RegistryValue, RegistryValueData, RegistryValueType, RegistryPreviousKey,
       RegistryPreviousValue, RegistryPreviousValueData, ParentProcessName, ParentProcessId"""

_REGISTRY_NATIVE = f"""ASimRegistryEventLogs | where {IN_TIME}
   | project TimeGenerated, Type, EventStartTime, EventEndTime, EventCount, EventType, EventSubType, EventResult,
       EventOriginalType, EventProduct, EventVendor, {_ACTOR_FIELDS}, {_REGISTRY_FIELDS}, DvcIpAddr, DvcOs"""

_REGISTRY = f"""union ({_REGISTRY_NATIVE}), ({_REGISTRY_MDE})
| project {_COMMON}, EventSchema = 'RegistryEvent', {_ACTOR_FIELDS}, DvcIpAddr, DvcOs, Dvc = DvcHostname,
    {_REGISTRY_FIELDS}, User = ActorUsername, Username = ActorUsername, Process = ActingProcessName
| where {in_list("eventtype_in", "EventType")} and {has_any("actorusername_has_any", "ActorUsername")}
    and {has_any("registrykey_has_any", "RegistryKey")} and {has_any("registryvalue_has_any", "RegistryValue")}
    and {has_any("registryvaluedata_has_any", "RegistryValueData")}
    and {has_any("dvchostname_has_any", "DvcHostname")}"""

ENDPOINT_PARSERS: dict[tuple[str, ...], tuple[str, str]] = {
    ("imFileEvent", "_Im_FileEvent", "_ASim_FileEvent", "ASimFileEvent"): (_FILE_PARAMS, _FILE),
    ("imRegistry", "_Im_RegistryEvent", "_ASim_RegistryEvent", "ASimRegistry"): (_REGISTRY_PARAMS, _REGISTRY),
}
