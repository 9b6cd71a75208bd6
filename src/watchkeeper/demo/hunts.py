"""Hunting queries that find the demo's attacks: the KQL an analyst would write, kept verbatim.

The demo tests run every one of them against a built workspace, so they double as a check that
the KQL engine handles everyday SOC queries (``has``, ``has_any``, ``extract``, ``bin``, ``join``).
"""

from __future__ import annotations

__all__ = [
    "AUDIT_LOG_CLEARED",
    "BRUTE_FORCE_THEN_SUCCESS",
    "CREDENTIAL_DUMPING_4688",
    "CREDENTIAL_DUMPING_MDE",
    "ENCODED_POWERSHELL_4688",
    "ENCODED_POWERSHELL_MDE",
    "PASSWORD_SPRAY",
    "SSH_PASSWORD_GUESSING",
    "WEVTUTIL_CLEAR_LOG",
]

SSH_PASSWORD_GUESSING = r"""Syslog
| where ProcessName == "sshd" and SyslogMessage has "Failed password"
| extend SourceIP = extract(@"from (\d{1,3}(\.\d{1,3}){3})", 1, SyslogMessage)
| summarize Attempts = count() by SourceIP, Computer, bin(TimeGenerated, 1h)
| where Attempts >= 20"""

BRUTE_FORCE_THEN_SUCCESS = """let failures = SecurityEvent
    | where EventID == 4625
    | summarize Failures = count(), LastFailure = max(TimeGenerated) by IpAddress, Computer, bin(TimeGenerated, 1h)
    | where Failures >= 20;
failures
| join kind=inner (
    SecurityEvent
    | where EventID == 4624
    | project SuccessTime = TimeGenerated, IpAddress, Computer, Account
  ) on IpAddress, Computer
| where SuccessTime > LastFailure and SuccessTime < LastFailure + 1h
| project IpAddress, Computer, Account, Failures, SuccessTime"""

PASSWORD_SPRAY = """SigninLogs
| where ResultType == "50126"
| summarize Accounts = dcount(UserPrincipalName), Attempts = count() by IPAddress, bin(TimeGenerated, 1h)
| where Accounts >= 30"""

ENCODED_POWERSHELL_MDE = """DeviceProcessEvents
| where FileName =~ "powershell.exe" and ProcessCommandLine has "-enc"
| project Timestamp, DeviceName, AccountName, ProcessCommandLine"""

ENCODED_POWERSHELL_4688 = """SecurityEvent
| where EventID == 4688 and CommandLine has "-enc"
| project TimeGenerated, Computer, Account, CommandLine"""

CREDENTIAL_DUMPING_MDE = """DeviceProcessEvents
| where ProcessCommandLine has_any ("lsass", "MiniDump", "sekurlsa")
| project Timestamp, DeviceName, AccountName, FileName, ProcessCommandLine"""

CREDENTIAL_DUMPING_4688 = """SecurityEvent
| where EventID == 4688 and CommandLine has_any ("lsass", "MiniDump", "sekurlsa")
| distinct Computer"""

AUDIT_LOG_CLEARED = """SecurityEvent
| where EventID == 1102
| project TimeGenerated, Computer, Account"""

WEVTUTIL_CLEAR_LOG = """DeviceProcessEvents
| where FileName =~ "wevtutil.exe" and ProcessCommandLine has_any ("cl", "clear-log")
| project Timestamp, DeviceName, ProcessCommandLine"""
