"""Syslog: the Linux servers' auth, cron, daemon and kernel messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from watchkeeper.demo.columns import const, event_times, pick, text, timestamps
from watchkeeper.demo.world import Host, World

__all__ = ["background_syslog", "syslog_row"]

TABLE = "Syslog"
_SERVICE_USERS = ("deploy", "ansible", "backup", "ops")
_COMMANDS = (
    "/usr/bin/systemctl restart nginx",
    "/usr/bin/apt-get upgrade -y",
    "/usr/bin/journalctl -u app --since today",
    "/usr/bin/docker compose pull",
)
_CRON_JOBS = (
    "/usr/local/bin/backup.sh >/dev/null 2>&1",
    "test -x /usr/sbin/anacron || run-parts --report /etc/cron.daily",
    "/usr/lib/php/sessionclean",
)
_SYSTEMD = (
    "Starting Daily apt download activities...",
    "Started Daily apt download activities.",
    "Starting Cleanup of Temporary Directories...",
    "Finished Cleanup of Temporary Directories.",
    "Started Session of User deploy.",
)

Messages = Callable[[np.random.Generator, int, World], pa.Array]


def _ssh_accepted(rng: np.random.Generator, n: int, world: World) -> pa.Array:
    admin_ips = [world.workstations[i].ip for i in world.admins]
    return text(
        "Accepted publickey for ",
        pick(_SERVICE_USERS, rng.integers(0, 4, n)),
        " from ",
        pick(admin_ips, rng.integers(0, len(admin_ips), n)),
        " port ",
        rng.integers(49152, 65535, n),
        " ssh2: ED25519 SHA256:Kq0cVb3tXAtJ3iD1hFz2mP9cWcQ0s1kS8m5qVn1dH2Q",
    )


def _ssh_session(rng: np.random.Generator, n: int, world: World) -> pa.Array:
    state = pick(["opened", "closed"], rng.integers(0, 2, n))
    return text(
        "pam_unix(sshd:session): session ", state, " for user ", pick(_SERVICE_USERS, rng.integers(0, 4, n))
    )


def _ssh_preauth(rng: np.random.Generator, n: int, world: World) -> pa.Array:
    monitors = [h.ip for h in world.linux if h.name.startswith("lnx-mon")]
    return text(
        "Connection closed by ",
        pick(monitors, rng.integers(0, len(monitors), n)),
        " port ",
        rng.integers(49152, 65535, n),
        " [preauth]",
    )


def _ssh_typo(rng: np.random.Generator, n: int, world: World) -> pa.Array:
    admin_ips = [world.workstations[i].ip for i in world.admins]
    return text(
        "Failed password for ",
        pick(_SERVICE_USERS, rng.integers(0, 4, n)),
        " from ",
        pick(admin_ips, rng.integers(0, len(admin_ips), n)),
        " port ",
        rng.integers(49152, 65535, n),
        " ssh2",
    )


def _sudo(rng: np.random.Generator, n: int, world: World) -> pa.Array:
    return text(
        pick(_SERVICE_USERS, rng.integers(0, 4, n)),
        " : TTY=pts/0 ; PWD=/home/ops ; USER=root ; COMMAND=",
        pick(_COMMANDS, rng.integers(0, len(_COMMANDS), n)),
    )


def _cron(rng: np.random.Generator, n: int, world: World) -> pa.Array:
    return text("(root) CMD (", pick(_CRON_JOBS, rng.integers(0, len(_CRON_JOBS), n)), ")")


def _systemd(rng: np.random.Generator, n: int, world: World) -> pa.Array:
    return pick(_SYSTEMD, rng.integers(0, len(_SYSTEMD), n))


def _firewall(rng: np.random.Generator, n: int, world: World) -> pa.Array:
    sources = [h.ip for h in world.workstations]
    return text(
        "[UFW BLOCK] IN=eth0 OUT= SRC=",
        pick(sources, rng.integers(0, len(sources), n)),
        " PROTO=TCP SPT=",
        rng.integers(49152, 65535, n),
        " DPT=",
        pick(["23", "3389", "5900"], rng.integers(0, 3, n)),
    )


# weight, facility, severity, process, message builder
_KINDS: tuple[tuple[float, str, str, str, Messages], ...] = (
    (20, "authpriv", "info", "sshd", _ssh_accepted),
    (30, "authpriv", "info", "sshd", _ssh_session),
    (8, "auth", "info", "sshd", _ssh_preauth),
    (0.2, "authpriv", "info", "sshd", _ssh_typo),
    (6, "authpriv", "notice", "sudo", _sudo),
    (20, "cron", "info", "CRON", _cron),
    (10, "daemon", "info", "systemd", _systemd),
    (5, "kern", "warning", "kernel", _firewall),
)


def background_syslog(world: World, rows: int) -> pa.Table:
    """``rows`` background messages from the Linux servers, in time order."""
    rng = world.rng(TABLE)
    weights = np.array([k[0] for k in _KINDS])
    counts = rng.multinomial(rows, weights / weights.sum())
    parts = []
    for (_, facility, severity, process, messages), n in zip(_KINDS, counts, strict=True):
        host = rng.integers(0, len(world.linux), n)
        times = timestamps(event_times(rng, n, world.start, world.days, np.ones(24)))
        columns = {
            "TimeGenerated": times,
            "EventTime": times,
            **_host_columns(world.linux, host),
            "Facility": const(facility, n),
            "SeverityLevel": const(severity, n),
            "ProcessName": const(process, n),
            "ProcessID": pa.array(rng.integers(300, 40000, n).astype(np.int32)),
            "SyslogMessage": messages(rng, n, world),
        }
        parts.append(pa.table(columns))
    return pa.concat_tables(parts).sort_by("TimeGenerated")


def syslog_row(
    host: Host, when: datetime, facility: str, severity: str, process: str, message: str, **columns: Any
) -> dict[str, Any]:
    """One Syslog row (for injected attacks); ``columns`` add or override."""
    row = {
        "TimeGenerated": when,
        "EventTime": when,
        "Computer": host.name,
        "HostName": host.name,
        "HostIP": host.ip,
        "Facility": facility,
        "SeverityLevel": severity,
        "ProcessName": process,
        "ProcessID": 4242,
        "SyslogMessage": message,
        "SourceSystem": "Linux",
        "Type": TABLE,
    }
    row.update(columns)
    return row


def _host_columns(hosts: list[Host], host: np.ndarray) -> dict[str, pa.Array]:
    n = len(host)
    return {
        "Computer": pick([h.name for h in hosts], host),
        "HostName": pick([h.name for h in hosts], host),
        "HostIP": pick([h.ip for h in hosts], host),
        "SourceSystem": const("Linux", n),
        "Type": const(TABLE, n),
    }
