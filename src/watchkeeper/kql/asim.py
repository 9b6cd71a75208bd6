"""Built-in ASIM parsers: Sentinel's normalisation functions as KQL over our tables.

Sentinel resolves ``imProcessCreate``, ``_Im_Dns``... to workspace functions that union each
source's parser into one schema (the ASIM schemas of learn.microsoft.com/azure/sentinel/normalization).
Every workspace has these (a function the workspace stores under the same name replaces one).
Each parser maps the fields our tables can give; a field none of its sources has is a typed empty
column, so a rule naming it binds and reads no value rather than failing on an unknown column.

What each maps (sources, then the fields left empty):

- ``imProcessCreate`` / ``_Im_ProcessCreate`` / ``imProcess``: ``SecurityEvent`` 4688 and
  ``DeviceProcessEvents`` (ProcessCreated), where ingestion also writes Sysmon event 1 (those rows,
  marked by ``AdditionalFields.SysmonEventID``, say ``EventProduct`` ``Sysmon``; so do Sysmon 3 rows
  of ``DeviceNetworkEvents`` below). Sysmon in the ``Event`` table's ``EventData`` XML is not read. Empty: ``TargetProcessIMPHASH``,
  ``TargetProcessFileCompany``, ``TargetUserSessionId``, hashes for SecurityEvent. The aliases of
  earlier ASIM versions (``TargetProcessFilePath``, ``FilePath``, ``AccountName``) are kept.
- ``imDns`` / ``_Im_Dns``: ``DnsEvents`` queries (SubType ``LookupQuery``). Empty: ``SrcPortNumber``,
  ``DnsFlags``, ``TransactionIdHex``, ``SrcProcessName``.
- ``imNetworkSession`` / ``_Im_NetworkSession``: ``DeviceNetworkEvents``. Empty: byte and packet
  counts, ``NetworkDirection`` beyond what the action type tells.
- ``imAuthentication`` / ``_Im_Authentication``: ``SigninLogs`` and ``SecurityEvent`` 4624/4625.
  Empty: ``TargetSessionId`` for sign-ins, ``SrcGeoCountry`` for Windows logons.

Web sessions are in ``asim_web``; file and registry events in ``asim_endpoint``; user management
and audit events in ``asim_management`` (each also reads its schema's native ``ASim*Logs`` table);
the filtering parameters all share are built in ``asim_filters``. Each parser is registered under
its ``im*``, ``_Im_*``, ``ASim*`` and ``_ASim_*`` names.
"""

from __future__ import annotations

from watchkeeper.kql.asim_endpoint import ENDPOINT_PARSERS
from watchkeeper.kql.asim_filters import IN_TIME as _IN_TIME
from watchkeeper.kql.asim_filters import TIME_PARAMS as _TIME
from watchkeeper.kql.asim_filters import any_prefix, has_any
from watchkeeper.kql.asim_management import MANAGEMENT_PARSERS
from watchkeeper.kql.asim_web import WEB_SESSION_PARSERS
from watchkeeper.kql.scope import StoredFunction

__all__ = ["ASIM_FUNCTIONS"]

_PROCESS_PARAMS = (
    f"{_TIME}, commandline_has_any:dynamic=dynamic([]), commandline_has_all:dynamic=dynamic([]), "
    "actingprocess_has_any:dynamic=dynamic([]), targetprocess_has_any:dynamic=dynamic([]), "
    "parentprocess_has_any:dynamic=dynamic([]), dvchostname_has_any:dynamic=dynamic([])"
)
_PROCESS = f"""union
  (SecurityEvent | where EventID == 4688
   | extend EventProduct = 'Security Events', EventVendor = 'Microsoft', EventSchema = 'ProcessEvent',
       TargetProcessName = NewProcessName, TargetProcessCommandLine = CommandLine,
       TargetProcessId = tostring(NewProcessId), ActingProcessName = ParentProcessName,
       ActingProcessId = tostring(ProcessId), ActingProcessCommandLine = '',
       ActorUsername = iff(isempty(SubjectDomainName), SubjectUserName, strcat(SubjectDomainName, '\\\\', SubjectUserName)),
       ActorUserId = SubjectUserSid, ActorSessionId = SubjectLogonId,
       TargetUsername = iff(isempty(TargetDomainName), TargetUserName, strcat(TargetDomainName, '\\\\', TargetUserName)),
       TargetUserId = TargetUserSid, DvcHostname = Computer, DvcId = '',
       TargetProcessMD5 = '', TargetProcessSHA1 = '', TargetProcessSHA256 = '',
       TargetProcessIntegrityLevel = MandatoryLabel, ParentProcessName = ParentProcessName),
  (DeviceProcessEvents | where ActionType == 'ProcessCreated'
   | extend EventProduct = iff(isempty(tostring(AdditionalFields.SysmonEventID)), 'M365 Defender for Endpoint',
           'Sysmon'), EventVendor = 'Microsoft', EventSchema = 'ProcessEvent',
       TargetProcessName = FolderPath, TargetProcessCommandLine = ProcessCommandLine,
       TargetProcessId = tostring(ProcessId), ActingProcessName = InitiatingProcessFolderPath,
       ActingProcessId = tostring(InitiatingProcessId), ActingProcessCommandLine = InitiatingProcessCommandLine,
       ActorUsername = iff(isempty(InitiatingProcessAccountDomain), InitiatingProcessAccountName,
           strcat(InitiatingProcessAccountDomain, '\\\\', InitiatingProcessAccountName)),
       ActorUserId = InitiatingProcessAccountSid, ActorSessionId = tostring(InitiatingProcessLogonId),
       TargetUsername = iff(isempty(AccountDomain), AccountName, strcat(AccountDomain, '\\\\', AccountName)),
       TargetUserId = AccountSid, DvcHostname = DeviceName, DvcId = DeviceId,
       TargetProcessMD5 = MD5, TargetProcessSHA1 = SHA1, TargetProcessSHA256 = SHA256,
       TargetProcessIntegrityLevel = ProcessIntegrityLevel, ParentProcessName = InitiatingProcessParentFileName)
| where {_IN_TIME}
| project TimeGenerated, EventStartTime = TimeGenerated, EventEndTime = TimeGenerated, EventType = 'ProcessCreated',
    EventResult = 'Success', EventCount = toint(1), EventProduct, EventVendor, EventSchema,
    TargetProcessName, TargetProcessCommandLine, TargetProcessId, ActingProcessName, ActingProcessId,
    ActingProcessCommandLine, ActorUsername, ActorUserId, ActorSessionId, TargetUsername, TargetUserId,
    DvcHostname, DvcId, Dvc = DvcHostname, TargetProcessMD5, TargetProcessSHA1, TargetProcessSHA256,
    TargetProcessIntegrityLevel, ParentProcessName, TargetProcessIMPHASH = '', TargetProcessFileCompany = '',
    TargetUserSessionId = '', TargetProcessFilename = tostring(split(replace_string(TargetProcessName, '\\\\', '/'), '/')[-1]),
    ActingProcessFilename = tostring(split(replace_string(ActingProcessName, '\\\\', '/'), '/')[-1]),
    CommandLine = TargetProcessCommandLine, Process = TargetProcessName, User = ActorUsername,
    Hostname = DvcHostname, Hash = coalesce(TargetProcessSHA256, TargetProcessSHA1, TargetProcessMD5),
    TargetProcessFilePath = TargetProcessName, FilePath = TargetProcessName, AccountName = ActorUsername
| where {has_any("commandline_has_any", "TargetProcessCommandLine")}
    and (array_length(commandline_has_all) == 0 or TargetProcessCommandLine has_all (commandline_has_all))
    and {has_any("actingprocess_has_any", "ActingProcessName")} and {has_any("targetprocess_has_any", "TargetProcessName")}
    and {has_any("parentprocess_has_any", "ParentProcessName")} and {has_any("dvchostname_has_any", "DvcHostname")}"""

_DNS_PARAMS = (
    f"{_TIME}, srcipaddr:string='*', domain_has_any:dynamic=dynamic([]), responsecodename:string='*', "
    "response_has_ipv4:string='*', response_has_any_prefix:dynamic=dynamic([]), eventtype:string='Query'"
)
_DNS = f"""DnsEvents
| where SubType == 'LookupQuery' and {_IN_TIME}
| project TimeGenerated, EventStartTime = TimeGenerated, EventEndTime = TimeGenerated, EventType = 'Query',
    EventSubType = 'response', EventCount = toint(1), EventProduct = 'DNS Server', EventVendor = 'Microsoft',
    EventSchema = 'Dns', SrcIpAddr = ClientIP, SrcPortNumber = toint(null), DnsQuery = Name,
    Domain = Name, DnsQueryType = toint(QueryType), DnsQueryTypeName = tostring(QueryType),
    DnsResponseCode = toint(ResultCode), DnsResponseCodeName = iff(ResultCode == 0, 'NOERROR',
        iff(ResultCode == 3, 'NXDOMAIN', iff(ResultCode == 2, 'SERVFAIL', tostring(ResultCode)))),
    DnsResponseName = IPAddresses, EventResult = iff(ResultCode == 0, 'Success', 'Failure'),
    EventResultDetails = tostring(ResultCode), Dvc = Computer, DvcHostname = Computer,
    DnsFlags = '', TransactionIdHex = '', SrcProcessName = '', SrcUsername = '', SrcHostname = '',
    DvcIpAddr = '', IpAddr = ClientIP, DnsNetworkDuration = toint(null), NetworkProtocol = 'UDP'
| where (srcipaddr == '*' or SrcIpAddr == srcipaddr) and {has_any("domain_has_any", "DnsQuery")}
    and (responsecodename == '*' or DnsResponseCodeName =~ responsecodename)
    and (response_has_ipv4 == '*' or DnsResponseName has response_has_ipv4)
    and {any_prefix("response_has_any_prefix", "DnsResponseName")}
    and (eventtype == 'Query' or EventType == eventtype)"""

_NETWORK_PARAMS = (
    f"{_TIME}, srcipaddr_has_any_prefix:dynamic=dynamic([]), dstipaddr_has_any_prefix:dynamic=dynamic([]), "
    "ipaddr_has_any_prefix:dynamic=dynamic([]), dstportnumber:int=int(null), hostname_has_any:dynamic=dynamic([]), "
    "dvcaction:dynamic=dynamic([]), eventresult:string='*'"
)
_NETWORK = f"""DeviceNetworkEvents
| where {_IN_TIME}
| project TimeGenerated, EventStartTime = TimeGenerated, EventEndTime = TimeGenerated, EventType = 'EndpointNetworkSession',
    EventCount = toint(1), EventVendor = 'Microsoft',
    EventProduct = iff(isempty(tostring(AdditionalFields.SysmonEventID)), 'M365 Defender for Endpoint', 'Sysmon'),
    EventSchema = 'NetworkSession', SrcIpAddr = LocalIP, SrcPortNumber = toint(LocalPort), DstIpAddr = RemoteIP,
    DstPortNumber = toint(RemotePort), DstDomain = RemoteUrl, DstHostname = RemoteUrl, NetworkProtocol = Protocol,
    EventResult = iff(ActionType in ('ConnectionFailed', 'InboundConnectionBlocked', 'ConnectionBlocked'), 'Failure', 'Success'),
    DvcAction = iff(ActionType endswith 'Blocked', 'Deny', 'Allow'), EventOriginalType = ActionType,
    NetworkDirection = iff(ActionType startswith 'Inbound', 'Inbound', 'Outbound'), Dvc = DeviceName,
    DvcHostname = DeviceName, DvcId = DeviceId, SrcHostname = DeviceName, SrcUsername = InitiatingProcessAccountName,
    SrcProcessName = InitiatingProcessFileName, DstBytes = long(null), SrcBytes = long(null), NetworkBytes = long(null),
    DstPackets = long(null), SrcPackets = long(null), IpAddr = LocalIP, Src = LocalIP, Dst = RemoteIP
| where {any_prefix("srcipaddr_has_any_prefix", "SrcIpAddr")} and {any_prefix("dstipaddr_has_any_prefix", "DstIpAddr")}
    and (array_length(ipaddr_has_any_prefix) == 0 or has_any_ipv4_prefix(SrcIpAddr, ipaddr_has_any_prefix)
         or has_any_ipv4_prefix(DstIpAddr, ipaddr_has_any_prefix))
    and (isnull(dstportnumber) or DstPortNumber == dstportnumber)
    and (array_length(hostname_has_any) == 0 or DstHostname has_any (hostname_has_any) or SrcHostname has_any (hostname_has_any))
    and (array_length(dvcaction) == 0 or DvcAction in (dvcaction)) and (eventresult == '*' or EventResult == eventresult)"""

_AUTH_PARAMS = f"{_TIME}, targetusername_has:string='*', srcipaddr_has_any_prefix:dynamic=dynamic([])"
_AUTH = f"""union
  (SigninLogs
   | extend EventProduct = 'Entra ID', EventType = 'Logon',
       EventResult = iff(ResultType == '0', 'Success', 'Failure'), EventResultDetails = ResultDescription,
       TargetUsername = UserPrincipalName, TargetUserId = UserId, TargetUserType = 'Regular',
       SrcIpAddr = IPAddress, SrcDvcIpAddr = IPAddress, TargetAppName = AppDisplayName, SrcGeoCountry = Location,
       HttpUserAgent = UserAgent, LogonMethod = ClientAppUsed, TargetSessionId = '', DvcHostname = '',
       LogonProtocol = ''),
  (SecurityEvent | where EventID in (4624, 4625)
   | extend EventProduct = 'Security Events', EventType = 'Logon',
       EventResult = iff(EventID == 4624, 'Success', 'Failure'), EventResultDetails = Status,
       TargetUsername = iff(isempty(TargetDomainName), TargetUserName, strcat(TargetDomainName, '\\\\', TargetUserName)),
       TargetUserId = TargetUserSid, TargetUserType = iff(TargetUserSid startswith 'S-1-5-21-', 'Regular', 'Other'),
       SrcIpAddr = IpAddress, SrcDvcIpAddr = IpAddress, TargetAppName = '', SrcGeoCountry = '',
       HttpUserAgent = '', LogonMethod = tostring(LogonType), TargetSessionId = TargetLogonId,
       DvcHostname = Computer, LogonProtocol = AuthenticationPackageName)
| where {_IN_TIME}
| project TimeGenerated, EventStartTime = TimeGenerated, EventEndTime = TimeGenerated, EventType, EventResult,
    EventResultDetails, EventCount = toint(1), EventProduct, EventVendor = 'Microsoft', EventSchema = 'Authentication',
    TargetUsername, TargetUserId, TargetUserType, SrcIpAddr, SrcDvcIpAddr, TargetAppName, SrcGeoCountry,
    HttpUserAgent, LogonMethod, TargetSessionId, DvcHostname, Dvc = DvcHostname, LogonProtocol,
    User = TargetUsername, IpAddr = SrcIpAddr
| where (targetusername_has == '*' or TargetUsername has targetusername_has)
    and {any_prefix("srcipaddr_has_any_prefix", "SrcIpAddr")}"""

_PROCESS_NAMES = ("imProcessCreate", "_Im_ProcessCreate", "imProcess", "_Im_ProcessEvent", "_ASim_ProcessCreate",
                  "ASimProcessCreate")  # fmt: skip
_NETWORK_NAMES = ("imNetworkSession", "_Im_NetworkSession", "_ASim_NetworkSession", "ASimNetworkSession")
_AUTH_NAMES = ("imAuthentication", "_Im_Authentication", "_ASim_Authentication", "ASimAuthentication")
_PARSERS = {
    _PROCESS_NAMES: (_PROCESS_PARAMS, _PROCESS),
    ("imDns", "_Im_Dns", "_ASim_Dns", "ASimDns"): (_DNS_PARAMS, _DNS),
    _NETWORK_NAMES: (_NETWORK_PARAMS, _NETWORK),
    _AUTH_NAMES: (_AUTH_PARAMS, _AUTH),
    **WEB_SESSION_PARSERS,
    **ENDPOINT_PARSERS,
    **MANAGEMENT_PARSERS,
}

ASIM_FUNCTIONS: dict[str, StoredFunction] = {
    name: StoredFunction(name, body, params) for names, (params, body) in _PARSERS.items() for name in names
}
