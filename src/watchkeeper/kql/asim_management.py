"""Built-in ASIM User Management and Audit Event parsers: changes to accounts, groups and configuration.

Schemas: learn.microsoft.com/azure/sentinel/normalization-schema-user-management and
normalization-schema-audit. Sources, unioned:

- ``imUserManagement`` / ``_Im_UserManagement`` / ``ASimUserManagement``: the native
  ``ASimUserManagementActivityLogs`` and Windows account management in ``SecurityEvent``
  (4720-4726, 4738, 4740, 4767, 4781 on users; 4727-4737 and 4754-4758 on global, local and
  universal security groups). In a membership event the group is ``TargetUserName``/``TargetSid``
  and the member ``MemberName``/``MemberSid``.
- ``imAuditEvent`` / ``_Im_AuditEvent`` / ``ASimAuditEvent``: the native ``ASimAuditEventLogs``,
  ``AzureActivity`` (Azure Resource Manager operations: the operation's last segment gives the
  type, ``/write`` a ``Set``, ``/delete`` a ``Delete``, ``/action`` an ``Execute``) and Exchange
  admin cmdlets in ``OfficeActivity`` (``RecordType`` ``ExchangeAdmin``: the cmdlet's verb gives the
  type, its ``Parameters`` are the ``NewValue``).

``pack`` is accepted and has no effect: no source-specific fields are kept to pack.
"""

from __future__ import annotations

from watchkeeper.kql.asim_filters import IN_TIME, TIME_PARAMS, any_prefix, dynamic_params, has_any, in_list

__all__ = ["MANAGEMENT_PARSERS"]

_COMMON = """TimeGenerated, Type, EventStartTime = coalesce(EventStartTime, TimeGenerated),
    EventEndTime = coalesce(EventEndTime, TimeGenerated), EventCount = coalesce(EventCount, toint(1)),
    EventType, EventSubType, EventResult, EventResultDetails, EventOriginalType, EventProduct, EventVendor,
    ActorUsername, ActorUserId, ActorUserIdType, ActorSessionId, SrcIpAddr, DvcHostname, Dvc = DvcHostname"""

_WINDOWS = """EventProduct = 'Security Events', EventVendor = 'Microsoft', EventOriginalType = tostring(EventID),
       EventResult = 'Success', ActorUsername = iff(isempty(SubjectDomainName), SubjectUserName,
           strcat(SubjectDomainName, '\\\\', SubjectUserName)),
       ActorUserId = SubjectUserSid, ActorUserIdType = iff(isempty(SubjectUserSid), '', 'SID'),
       ActorSessionId = SubjectLogonId, DvcHostname = Computer"""

# Windows account management events (learn.microsoft.com/windows/security/threat-protection/auditing)
_USER_EVENTS = "(4720, 4722, 4723, 4724, 4725, 4726, 4738, 4740, 4767, 4781)"
_GROUP_EVENTS = "(4727, 4728, 4729, 4730, 4731, 4732, 4733, 4734, 4735, 4737, 4754, 4755, 4756, 4757, 4758)"
_USER_TYPE = """case(EventID == 4720, 'UserCreated', EventID == 4722, 'UserEnabled', EventID == 4723, 'PasswordChanged',
           EventID == 4724, 'PasswordReset', EventID == 4725, 'UserDisabled', EventID == 4726, 'UserDeleted',
           EventID == 4740, 'UserLocked', EventID == 4767, 'UserUnlocked',
           EventID in (4727, 4731, 4754), 'GroupCreated', EventID in (4730, 4734, 4758), 'GroupDeleted',
           EventID in (4735, 4737, 4755), 'GroupModified', EventID in (4728, 4732, 4756), 'UserAddedToGroup',
           EventID in (4729, 4733, 4757), 'UserRemovedFromGroup', 'UserModified')"""
_GROUP_TYPE = """case(EventID between (4727 .. 4730) or EventID in (4735, 4737), 'Global Security Enabled',
           EventID between (4731 .. 4734), 'Local Security Enabled',
           EventID between (4754 .. 4758), 'Universal Security Enabled', '')"""

_USER_PARAMS = f"{TIME_PARAMS}, " + dynamic_params(
    "srcipaddr_has_any_prefix", "targetusername_has_any", "actorusername_has_any", "eventtype_in",
) + ", pack:bool=false"  # fmt: skip

_USER_WINDOWS = f"""SecurityEvent | where EventID in {_USER_EVENTS} or EventID in {_GROUP_EVENTS}
   | where {IN_TIME}
   | extend _group = EventID in {_GROUP_EVENTS},
       _account = iff(isempty(TargetDomainName), TargetUserName, strcat(TargetDomainName, '\\\\', TargetUserName))
   | project TimeGenerated, Type, EventType = {_USER_TYPE}, {_WINDOWS},
       TargetUsername = iff(_group, MemberName, _account), TargetUserId = iff(_group, MemberSid, TargetSid),
       GroupName = iff(_group, _account, ''), GroupId = iff(_group, TargetSid, ''), GroupType = {_GROUP_TYPE}"""

_USER_FIELDS = (
    "TargetUsername, TargetUserId, GroupName, GroupId, GroupType, PreviousPropertyValue, NewPropertyValue"
)

_USER_NATIVE = f"""ASimUserManagementActivityLogs | where {IN_TIME}
   | project TimeGenerated, Type, EventStartTime, EventEndTime, EventCount, EventType, EventSubType, EventResult,
       EventResultDetails, EventOriginalType, EventProduct, EventVendor, ActorUsername, ActorUserId,
       ActorUserIdType, ActorSessionId, SrcIpAddr, DvcHostname, {_USER_FIELDS}"""

_USER = f"""union ({_USER_NATIVE}), ({_USER_WINDOWS})
| project {_COMMON}, EventSchema = 'UserManagement', {_USER_FIELDS}, User = TargetUsername,
    Src = SrcIpAddr, IpAddr = SrcIpAddr
| where {any_prefix("srcipaddr_has_any_prefix", "SrcIpAddr")}
    and {has_any("targetusername_has_any", "TargetUsername")} and {has_any("actorusername_has_any", "ActorUsername")}
    and {in_list("eventtype_in", "EventType")}"""

_AUDIT_PARAMS = f"{TIME_PARAMS}, " + dynamic_params(
    "srcipaddr_has_any_prefix", "actorusername_has_any", "operation_has_any", "eventtype_in", "object_has_any",
    "newvalue_has_any",
) + ", eventresult:string='*', pack:bool=false"  # fmt: skip

_AZURE = f"""AzureActivity | where {IN_TIME}
   | extend _verb = tolower(tostring(split(OperationNameValue, '/')[-1])), _status = tolower(ActivityStatusValue)
   | project TimeGenerated, Type, EventProduct = 'Azure Resource Manager', EventVendor = 'Microsoft',
       EventType = case(_verb == 'write', 'Set', _verb == 'delete', 'Delete', _verb == 'action', 'Execute',
           _verb == 'read', 'Read', 'Other'),
       EventResult = case(_status in ('success', 'succeeded'), 'Success', _status in ('failure', 'failed'), 'Failure',
           'NA'),
       EventResultDetails = ActivitySubstatusValue, EventOriginalType = OperationNameValue,
       Operation = OperationNameValue, Object = ResourceId, ObjectType = 'Cloud Resource', ActorUsername = Caller,
       SrcIpAddr = CallerIpAddress, TargetAppName = ResourceProviderValue"""

# an Exchange cmdlet's verb says what it does (learn.microsoft.com/powershell/scripting/developer/cmdlet/approved-verbs)
_EXCHANGE = f"""OfficeActivity | where RecordType == 'ExchangeAdmin' and {IN_TIME}
   | extend _verb = tolower(tostring(split(Operation, '-')[0]))
   | project TimeGenerated, Type, EventProduct = 'Exchange 365', EventVendor = 'Microsoft',
       EventType = case(_verb in ('new', 'add'), 'Create', _verb in ('set', 'update'), 'Set',
           _verb == 'remove', 'Delete', _verb == 'enable', 'Enable', _verb == 'disable', 'Disable',
           _verb == 'get', 'Read', 'Other'),
       EventResult = iff(ResultStatus =~ 'False' or ResultStatus =~ 'Failed', 'Failure', 'Success'),
       EventOriginalType = Operation, Operation, Object = OfficeObjectId, ObjectType = 'Configuration Atom',
       NewValue = Parameters, ActorUsername = UserId,
       SrcIpAddr = coalesce(extract(@'^(\\d+\\.\\d+\\.\\d+\\.\\d+)(:\\d+)?$', 1, ClientIP), ClientIP),
       TargetAppName = 'Exchange 365', DvcHostname = OriginatingServer"""

_AUDIT_FIELDS = "Operation, Object, ObjectType, OldValue, NewValue, TargetAppName"

_AUDIT_NATIVE = f"""ASimAuditEventLogs | where {IN_TIME}
   | project TimeGenerated, Type, EventStartTime, EventEndTime, EventCount, EventType, EventSubType, EventResult,
       EventResultDetails, EventOriginalType, EventProduct, EventVendor, ActorUsername, ActorUserId,
       ActorUserIdType, ActorSessionId, SrcIpAddr, DvcHostname, {_AUDIT_FIELDS}"""

_AUDIT = f"""union ({_AUDIT_NATIVE}), ({_AZURE}), ({_EXCHANGE})
| project {_COMMON}, EventSchema = 'AuditEvent', {_AUDIT_FIELDS}, User = ActorUsername,
    Src = SrcIpAddr, IpAddr = SrcIpAddr, Application = TargetAppName
| where {any_prefix("srcipaddr_has_any_prefix", "SrcIpAddr")}
    and {has_any("actorusername_has_any", "ActorUsername")} and {has_any("operation_has_any", "Operation")}
    and {in_list("eventtype_in", "EventType")} and {has_any("object_has_any", "Object")}
    and {has_any("newvalue_has_any", "NewValue")} and (eventresult == '*' or EventResult == eventresult)"""

MANAGEMENT_PARSERS: dict[tuple[str, ...], tuple[str, str]] = {
    ("imUserManagement", "_Im_UserManagement", "_ASim_UserManagement", "ASimUserManagement"): (
        _USER_PARAMS, _USER,
    ),
    ("imAuditEvent", "_Im_AuditEvent", "_ASim_AuditEvent", "ASimAuditEvent"): (_AUDIT_PARAMS, _AUDIT),
}  # fmt: skip
