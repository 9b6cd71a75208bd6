"""SecurityEvent: Windows security auditing from every Windows machine of the demo world.

Background: logons (4624), logoffs (4634), failed logons (4625: people mistyping passwords),
special privileges (4672), process creation (4688) and Kerberos service tickets (4769) on the
domain controllers. :func:`security_event_row` builds single rows for injected attacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from watchkeeper.demo.accounts import AccountColumns
from watchkeeper.demo.columns import const, event_times, hex_ids, pick, text, timestamps
from watchkeeper.demo.processes import BENIGN_PROCESSES
from watchkeeper.demo.world import DOMAIN, TENANT_ID, Host, World

__all__ = ["ACTIVITIES", "LOGON_TYPE_NAMES", "background_security_events", "security_event_row"]

TABLE = "SecurityEvent"
ACTIVITIES = {
    1102: "1102 - The audit log was cleared.",
    4624: "4624 - An account was successfully logged on.",
    4625: "4625 - An account failed to log on.",
    4634: "4634 - An account was logged off.",
    4672: "4672 - Special privileges assigned to new logon.",
    4688: "4688 - A new process has been created.",
    4769: "4769 - A Kerberos service ticket was requested.",
}
_TASKS = {1102: 104, 4624: 12544, 4625: 12544, 4634: 12545, 4672: 12548, 4688: 13312, 4769: 14337}
LOGON_TYPE_NAMES = {
    2: "2 - Interactive",
    3: "3 - Network",
    5: "5 - Service",
    7: "7 - Unlock",
    10: "10 - RemoteInteractive",
    11: "11 - CachedInteractive",
}
# Share of background rows per event id.
_SHARES = {4624: 0.36, 4634: 0.14, 4625: 0.02, 4672: 0.06, 4688: 0.30, 4769: 0.12}
_PRIVILEGES = (
    "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeDebugPrivilege"
)


@dataclass(frozen=True)
class _Sessions:
    """Logon sessions: who logged on where, how and from which address."""

    host: np.ndarray  # index into world.windows
    user: np.ndarray  # index into AccountColumns
    logon_type: np.ndarray
    ip: pa.Array
    workstation: pa.Array

    def __len__(self) -> int:
        return len(self.host)


def background_security_events(world: World, rows: int) -> pa.Table:
    """``rows`` background SecurityEvent rows over the demo window, in time order."""
    rng = world.rng(TABLE)
    accounts = AccountColumns.of(world)
    counts = {event_id: int(rows * share) for event_id, share in _SHARES.items()}
    sessions = _sessions(world, rng, counts[4624])
    parts = [
        _logons(world, rng, accounts, sessions),
        _logoffs(world, rng, accounts, sessions, counts[4634]),
        _failed_logons(world, rng, accounts, counts[4625]),
        _special_privileges(world, rng, accounts, counts[4672]),
        _process_creations(world, rng, accounts, counts[4688]),
        _service_tickets(world, rng, accounts, counts[4769]),
    ]
    return pa.concat_tables(parts, promote_options="default").sort_by("TimeGenerated")


def security_event_row(host: Host, event_id: int, when: datetime, **columns: Any) -> dict[str, Any]:
    """One SecurityEvent row from ``host`` (for injected attacks); ``columns`` add or override."""
    row: dict[str, Any] = {
        "TimeGenerated": when,
        "Computer": host.fqdn,
        "EventID": event_id,
        "Activity": ACTIVITIES.get(event_id, str(event_id)),
        "Task": _TASKS.get(event_id, 0),
        "Channel": "Security",
        "EventSourceName": "Microsoft-Windows-Security-Auditing",
        "SourceComputerId": host.device_id,
        "SourceSystem": "OpsManager",
        "Type": TABLE,
        "TenantId": TENANT_ID,
    }
    row.update(columns)
    return row


def _frame(
    world: World, event_id: int, host: np.ndarray, times: np.ndarray, columns: dict[str, pa.Array]
) -> pa.Table:
    """Columns every SecurityEvent row has, plus the event's own ``columns``."""
    n = len(host)
    windows = world.windows
    common = {
        "TimeGenerated": timestamps(times),
        "Computer": pick([h.fqdn for h in windows], host),
        "EventID": const(event_id, n, pa.int32()),
        "Activity": const(ACTIVITIES[event_id], n),
        "Task": const(_TASKS[event_id], n, pa.int32()),
        "Channel": const("Security", n),
        "EventSourceName": const("Microsoft-Windows-Security-Auditing", n),
        "SourceComputerId": pick([h.device_id for h in windows], host),
        "SourceSystem": const("OpsManager", n),
        "Type": const(TABLE, n),
        "TenantId": const(TENANT_ID, n),
    }
    return pa.table({**common, **columns})


def _sessions(world: World, rng: np.random.Generator, n: int) -> _Sessions:
    """Interactive logons at one's own PC, network and RDP logons to servers, service logons."""
    workstations, servers = len(world.workstations), len(world.servers)
    system = len(world.users)
    kind = rng.choice(4, size=n, p=[0.25, 0.45, 0.25, 0.05])
    own_pc = rng.integers(0, workstations, n)
    admins = np.array(world.admins)
    admin_pc = admins[rng.integers(0, len(admins), n)]
    server = workstations + rng.integers(0, servers, n)
    any_host = rng.integers(0, workstations + servers, n)
    host = np.select([kind == 0, kind == 1, kind == 2], [own_pc, server, any_host], server)
    source = np.where(kind == 3, admin_pc, own_pc)
    user = np.select([kind == 2, kind == 3], [system, admin_pc], source)
    interactive = rng.choice([2, 7, 11], size=n, p=[0.6, 0.35, 0.05])
    logon_type = np.select([kind == 0, kind == 1, kind == 2], [interactive, 3, 5], 10)
    ips = [h.ip for h in world.workstations] + ["127.0.0.1", "-"]
    ip_index = np.select([kind == 0, kind == 2], [workstations, workstations + 1], source)
    names = [h.name for h in world.workstations] + ["-"]
    return _Sessions(
        host, user, logon_type, pick(ips, ip_index), pick(names, np.where(kind == 2, workstations, source))
    )


def _logon_columns(
    accounts: AccountColumns, sessions: _Sessions, rng: np.random.Generator
) -> dict[str, pa.Array]:
    n = len(sessions)
    network = sessions.logon_type == 3
    service = sessions.logon_type == 5
    return {
        "Account": pick(accounts.account, sessions.user),
        "AccountType": pick(["User", "Machine"], (sessions.user == accounts.system).astype(np.int64)),
        "TargetAccount": pick(accounts.account, sessions.user),
        "TargetUserName": pick(accounts.sam, sessions.user),
        "TargetDomainName": pick(accounts.domain, sessions.user),
        "TargetUserSid": pick(accounts.sid, sessions.user),
        "TargetLogonId": pick(["0x" + h for h in hex_ids(rng, 4096, 7)], rng.integers(0, 4096, n)),
        "LogonType": pa.array(sessions.logon_type.astype(np.int32)),
        "LogonTypeName": pick([LOGON_TYPE_NAMES.get(t, str(t)) for t in range(12)], sessions.logon_type),
        "IpAddress": sessions.ip,
        "IpPort": pa.array(np.where(network, rng.integers(49152, 65535, n), 0).astype(str)),
        "WorkstationName": sessions.workstation,
        "LogonProcessName": pick(["User32", "Kerberos", "Advapi"], np.select([network, service], [1, 2], 0)),
        "AuthenticationPackageName": pick(["Negotiate", "Kerberos"], network.astype(np.int64)),
        "ProcessName": pick(
            ["C:\\Windows\\System32\\winlogon.exe", "-", "C:\\Windows\\System32\\services.exe"],
            np.select([network, service], [1, 2], 0),
        ),
    }


def _logons(
    world: World, rng: np.random.Generator, accounts: AccountColumns, sessions: _Sessions
) -> pa.Table:
    times = event_times(rng, len(sessions), world.start, world.days)
    return _frame(world, 4624, sessions.host, times, _logon_columns(accounts, sessions, rng))


def _logoffs(
    world: World, rng: np.random.Generator, accounts: AccountColumns, sessions: _Sessions, n: int
) -> pa.Table:
    """Logoffs of a sample of the sessions (many sessions outlive the window or never log off)."""
    chosen = rng.choice(len(sessions), size=min(n, len(sessions)), replace=False)
    subset = _Sessions(
        sessions.host[chosen],
        sessions.user[chosen],
        sessions.logon_type[chosen],
        sessions.ip.take(chosen),
        sessions.workstation.take(chosen),
    )
    times = event_times(rng, len(subset), world.start, world.days)
    columns = _logon_columns(accounts, subset, rng)
    keep = (
        "Account",
        "AccountType",
        "TargetAccount",
        "TargetUserName",
        "TargetDomainName",
        "TargetUserSid",
        "TargetLogonId",
        "LogonType",
        "LogonTypeName",
    )
    return _frame(world, 4634, subset.host, times, {k: columns[k] for k in keep})


def _failed_logons(world: World, rng: np.random.Generator, accounts: AccountColumns, n: int) -> pa.Table:
    """People mistyping their password, at their own PC or against a file server: a few at a time."""
    sessions = _sessions(world, rng, n)
    people = sessions.user != accounts.system
    sessions = _Sessions(
        sessions.host[people],
        sessions.user[people],
        sessions.logon_type[people],
        sessions.ip.filter(pa.array(people)),
        sessions.workstation.filter(pa.array(people)),
    )
    m = len(sessions)
    columns = _logon_columns(accounts, sessions, rng)
    reason = rng.choice(3, size=m, p=[0.85, 0.12, 0.03])
    columns["Status"] = pick(["0xc000006d", "0xc000006d", "0xc0000234"], reason)
    columns["SubStatus"] = pick(["0xc000006a", "0xc0000064", "0x0"], reason)
    columns["FailureReason"] = pick(["%%2313", "%%2313", "%%2307"], reason)
    del columns["TargetLogonId"]
    return _frame(world, 4625, sessions.host, event_times(rng, m, world.start, world.days), columns)


def _special_privileges(world: World, rng: np.random.Generator, accounts: AccountColumns, n: int) -> pa.Table:
    admins = np.array([*world.admins, accounts.system])
    user = admins[rng.integers(0, len(admins), n)]
    host = rng.integers(0, len(world.windows), n)
    columns = {
        "Account": pick(accounts.account, user),
        "SubjectAccount": pick(accounts.account, user),
        "SubjectUserName": pick(accounts.sam, user),
        "SubjectDomainName": pick(accounts.domain, user),
        "SubjectUserSid": pick(accounts.sid, user),
        "PrivilegeList": const(_PRIVILEGES, n),
    }
    return _frame(world, 4672, host, event_times(rng, n, world.start, world.days), columns)


def _process_creations(world: World, rng: np.random.Generator, accounts: AccountColumns, n: int) -> pa.Table:
    """Benign process starts: people's programs on their PCs, services as SYSTEM everywhere."""
    weights = np.array([p.weight for p in BENIGN_PROCESSES])
    launch = rng.choice(len(BENIGN_PROCESSES), size=n, p=weights / weights.sum())
    as_system = np.array([p.as_system for p in BENIGN_PROCESSES])[launch]
    own_pc = rng.integers(0, len(world.workstations), n)
    host = np.where(as_system, rng.integers(0, len(world.windows), n), own_pc)
    user = np.where(as_system, accounts.system, own_pc)
    process_id = rng.integers(1000, 60000, n)
    columns = {
        "Account": pick(accounts.account, user),
        "SubjectAccount": pick(accounts.account, user),
        "SubjectUserName": pick(accounts.sam, user),
        "SubjectDomainName": pick(accounts.domain, user),
        "SubjectUserSid": pick(accounts.sid, user),
        "NewProcessName": pick([p.image.path for p in BENIGN_PROCESSES], launch),
        "Process": pick([p.image.name for p in BENIGN_PROCESSES], launch),
        "NewProcessId": text("0x", pa.array([format(int(v), "x") for v in process_id])),
        "CommandLine": pick([p.command_line for p in BENIGN_PROCESSES], launch),
        "ParentProcessName": pick([p.parent.path for p in BENIGN_PROCESSES], launch),
        "TokenElevationType": pick(["%%1938", "%%1936"], as_system.astype(np.int64)),
        "MandatoryLabel": pick(["S-1-16-8192", "S-1-16-16384"], as_system.astype(np.int64)),
    }
    return _frame(world, 4688, host, event_times(rng, n, world.start, world.days), columns)


def _service_tickets(world: World, rng: np.random.Generator, accounts: AccountColumns, n: int) -> pa.Table:
    """Kerberos service tickets issued by the domain controllers for people's PCs."""
    controllers = np.array([i for i, h in enumerate(world.windows) if h.name.startswith("SRV-DC")])
    host = controllers[rng.integers(0, len(controllers), n)]
    pc = rng.integers(0, len(world.workstations), n)
    service = rng.integers(0, len(world.servers), n)
    columns = {
        "TargetUserName": text(pick(accounts.sam, pc), f"@{DOMAIN}.EXAMPLE.COM"),
        "TargetDomainName": const(f"{DOMAIN}.EXAMPLE.COM", n),
        "ServiceName": text(pick([h.name for h in world.servers], service), "$"),
        "IpAddress": text("::ffff:", pick([h.ip for h in world.workstations], pc)),
        "IpPort": pa.array(rng.integers(49152, 65535, n).astype(str)),
        "Status": const("0x0", n),
    }
    return _frame(world, 4769, host, event_times(rng, n, world.start, world.days), columns)
