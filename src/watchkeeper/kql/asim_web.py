"""Built-in ASIM Web Session parser (``_Im_WebSession``, ``imWebSession``, ``ASimWebSession``).

Schema: learn.microsoft.com/azure/sentinel/normalization-schema-web (HTTP sessions seen by web
servers, proxies and web gateways; ``EventResultDetails`` holds the HTTP status code, ``Url`` the
requested URL, ``SrcIpAddr`` the client). Sources, unioned:

- ``ASimWebSessionLogs``, the schema's native table: its fields are taken as they are.
- ``W3CIISLog`` (IIS servers): the W3C fields, with ``-`` (W3C's "no value") read as empty;
  ``Url`` is the stem plus ``?query``; a status of 400 or more is a ``Failure``.
- ``CommonSecurityLog`` rows with a ``RequestURL`` (web proxies and gateways forwarding CEF): the
  CEF request fields; ``EventOutcome`` is the status code when it is one (three digits); a
  blocking ``DeviceAction`` is a ``Failure`` with ``DvcAction`` ``Deny``.

Fields no source gives (threat, geo and most application fields) are left out; fields a source
lacks are empty in its rows.
"""

from __future__ import annotations

from watchkeeper.kql.asim_filters import IN_TIME, TIME_PARAMS, any_prefix, dynamic_params, has_any, in_list

__all__ = ["WEB_SESSION_PARSERS"]

_LIST_PARAMS = dynamic_params(
    "srcipaddr_has_any_prefix", "ipaddr_has_any_prefix", "url_has_any", "httpuseragent_has_any",
    "eventresultdetails_in", "eventresultdetails_has_any",
)  # fmt: skip
_PARAMS = f"{TIME_PARAMS}, {_LIST_PARAMS}, eventresult:string='*', disabled:bool=false"

# W3C extended log format writes '-' for a field with no value
_IIS = f"""W3CIISLog | where {IN_TIME}
   | extend _query = iff(csUriQuery == '-', '', csUriQuery), _status = toint(scStatus)
   | project TimeGenerated, Type, EventProduct = 'IIS', EventVendor = 'Microsoft',
       EventResultDetails = scStatus, EventResult = iff(_status >= 400, 'Failure', 'Success'),
       EventOriginalResultDetails = strcat(scStatus, '.', scSubStatus, ' ', scWin32Status),
       SrcIpAddr = cIP, SrcUsername = iff(csUserName == '-', '', csUserName),
       DstIpAddr = sIP, DstPortNumber = sPort, DstHostname = Computer, Dvc = Computer, DvcHostname = Computer,
       DvcIpAddr = sIP, Url = iff(isempty(_query), csUriStem, strcat(csUriStem, '?', _query)),
       HttpHost = iff(csHost == '-', '', csHost), HttpRequestMethod = csMethod,
       HttpUserAgent = iff(csUserAgent == '-', '', csUserAgent), HttpReferrer = iff(csReferer == '-', '', csReferer),
       HttpVersion = csVersion, SrcBytes = csBytes, DstBytes = scBytes, NetworkDuration = toint(TimeTaken),
       DvcAction = 'Allow'"""

_BLOCKED = "('block', 'blocked', 'deny', 'denied', 'drop', 'dropped', 'reject', 'rejected')"
_CEF = f"""CommonSecurityLog | where isnotempty(RequestURL) and {IN_TIME}
   | extend _blocked = tolower(DeviceAction) in {_BLOCKED},
       _status = iff(EventOutcome matches regex '^[1-5][0-9][0-9]$', EventOutcome, '')
   | project TimeGenerated, Type, EventProduct = DeviceProduct, EventVendor = DeviceVendor,
       EventResultDetails = _status, EventOriginalResultDetails = EventOutcome,
       EventResult = iff(_blocked or toint(_status) >= 400, 'Failure', 'Success'),
       DvcAction = iff(_blocked, 'Deny', 'Allow'), DvcOriginalAction = DeviceAction,
       SrcIpAddr = SourceIP, SrcPortNumber = SourcePort, SrcHostname = SourceHostName, SrcUsername = SourceUserName,
       DstIpAddr = DestinationIP, DstPortNumber = DestinationPort, DstHostname = DestinationHostName,
       Dvc = coalesce(DeviceName, Computer), DvcHostname = DeviceName, DvcIpAddr = DeviceAddress,
       Url = RequestURL, HttpRequestMethod = RequestMethod, HttpUserAgent = RequestClientApplication,
       HttpReferrer = RequestContext, SrcBytes = SentBytes, DstBytes = ReceivedBytes, NetworkProtocol = Protocol,
       UrlCategory = DeviceEventCategory"""

_NATIVE = f"""ASimWebSessionLogs | where {IN_TIME}
   | project TimeGenerated, Type, EventStartTime, EventEndTime, EventCount, EventType, EventSubType, EventProduct,
       EventVendor, EventResult, EventResultDetails, EventOriginalResultDetails, EventSeverity, EventSchemaVersion,
       Dvc, DvcHostname, DvcIpAddr, DvcAction, DvcOriginalAction, SrcIpAddr, SrcPortNumber, SrcHostname,
       SrcUsername, SrcBytes, DstIpAddr, DstPortNumber, DstHostname, DstDomain, DstBytes, NetworkProtocol,
       NetworkApplicationProtocol, NetworkDuration, Url, UrlCategory, HttpVersion, HttpRequestMethod,
       HttpUserAgent, HttpReferrer, HttpHost, HttpContentType, ThreatName"""

_BODY = f"""union ({_NATIVE}), ({_IIS}), ({_CEF})
| where not(disabled)
| project TimeGenerated, Type, EventStartTime = coalesce(EventStartTime, TimeGenerated),
    EventEndTime = coalesce(EventEndTime, TimeGenerated), EventCount = coalesce(EventCount, toint(1)),
    EventType = iff(isempty(EventType), 'HTTPsession', EventType), EventSubType, EventProduct, EventVendor,
    EventSchema = 'WebSession', EventSchemaVersion = iff(isempty(EventSchemaVersion), '0.2.6', EventSchemaVersion),
    EventResult, EventResultDetails, EventOriginalResultDetails, EventSeverity, Dvc, DvcHostname, DvcIpAddr,
    DvcAction, DvcOriginalAction, SrcIpAddr, SrcPortNumber, SrcHostname, SrcUsername, SrcBytes, DstIpAddr,
    DstPortNumber, DstHostname, DstDomain, DstBytes, NetworkProtocol,
    NetworkApplicationProtocol = iff(isempty(NetworkApplicationProtocol), 'HTTP', NetworkApplicationProtocol),
    NetworkDuration, Url, UrlCategory, HttpVersion, HttpRequestMethod, HttpUserAgent, HttpReferrer, HttpHost,
    HttpContentType, ThreatName, HttpStatusCode = EventResultDetails, IpAddr = SrcIpAddr, Src = SrcIpAddr,
    Dst = DstIpAddr, User = SrcUsername, Hostname = DstHostname, UserAgent = HttpUserAgent,
    Duration = NetworkDuration
| where {any_prefix("srcipaddr_has_any_prefix", "SrcIpAddr")}
    and {any_prefix("ipaddr_has_any_prefix", "SrcIpAddr", "DstIpAddr")}
    and {has_any("url_has_any", "Url")} and {has_any("httpuseragent_has_any", "HttpUserAgent")}
    and {in_list("eventresultdetails_in", "EventResultDetails")}
    and {has_any("eventresultdetails_has_any", "EventResultDetails")}
    and (eventresult == '*' or EventResult == eventresult)"""

WEB_SESSION_PARSERS: dict[tuple[str, ...], tuple[str, str]] = {
    ("_Im_WebSession", "imWebSession", "_ASim_WebSession", "ASimWebSession"): (_PARAMS, _BODY),
}
