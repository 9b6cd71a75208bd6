"""SecurityEvent rows: drawn as integer codes (who, where, what), rendered as 23 Arrow columns.

A batch of rows is a :data:`~perfdata.timeline.Rows` dict over :data:`FIELDS`; background
traffic comes from :func:`background`, the injected attacks from :mod:`perfdata.attacks`, and
:func:`to_table` draws the per-row details (ports, status codes, ...) and renders the columns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from perfdata.timeline import Rows, times_in_day, zipf
from perfdata.vocabulary import (
    DOMAIN,
    IP_DASH,
    IP_EMPTY,
    IP_HOSTS,
    IP_LOOPBACK,
    IP_MAPPED,
    IP_VPN,
    N_ADMINS,
    N_COMPUTERS,
    N_DC,
    N_PRINCIPALS,
    N_SERVERS,
    N_SERVICE,
    N_USERS,
    N_VPN,
    N_WORKSTATIONS,
    PROC_DASH,
    PROC_EMPTY,
    PROC_FIRST_PROGRAM,
    PROC_SERVICES,
    PROC_WINLOGON,
    Vocabulary,
    with_prefix,
)

FIELDS = ("t", "eid", "principal", "actor", "lt", "comp", "src", "proc", "cmd")
LOGONS = (4624, 4625, 4634, 4648, 4672)
PROCESS_EVENTS = (4688, 4689)
KERBEROS = (4768, 4769, 4776)
ACCOUNT_MANAGEMENT = (4720, 4722, 4723, 4724, 4725, 4726, 4728, 4732, 4738, 4740, 4756)
_MIX = {
    4624: 0.22,
    4634: 0.18,
    4625: 0.025,
    4648: 0.02,
    4672: 0.07,
    4688: 0.25,
    4689: 0.14,
    4768: 0.025,
    4769: 0.05,
    4776: 0.015,
    4720: 0.0003,
    4722: 0.0003,
    4723: 0.0008,
    4724: 0.0008,
    4725: 0.0002,
    4726: 0.0001,
    4728: 0.0004,
    4732: 0.0004,
    4738: 0.001,
    4740: 0.0005,
    4756: 0.0002,
}
_ACTIVITY = {
    1102: "The audit log was cleared.",
    4624: "An account was successfully logged on.",
    4625: "An account failed to log on.",
    4634: "An account was logged off.",
    4648: "A logon was attempted using explicit credentials.",
    4672: "Special privileges assigned to new logon.",
    4688: "A new process has been created.",
    4689: "A process has exited.",
    4720: "A user account was created.",
    4722: "A user account was enabled.",
    4723: "An attempt was made to change an account's password.",
    4724: "An attempt was made to reset an account's password.",
    4725: "A user account was disabled.",
    4726: "A user account was deleted.",
    4728: "A member was added to a security-enabled global group.",
    4732: "A member was added to a security-enabled local group.",
    4738: "A user account was changed.",
    4740: "A user account was locked out.",
    4756: "A member was added to a security-enabled universal group.",
    4768: "A Kerberos authentication ticket (TGT) was requested.",
    4769: "A Kerberos service ticket was requested.",
    4776: "The computer attempted to validate the credentials for an account.",
}
_EIDS = np.array(sorted(_ACTIVITY), dtype=np.int32)
_ACTIVITIES = pa.array([f"{eid} - {_ACTIVITY[eid]}" for eid in sorted(_ACTIVITY)])
_INTERACTIVE = (2, 7, 11)  # local logons: console, unlock, cached
_PORTS = pa.array(["", "-", "0", *[str(49152 + k) for k in range(16384)]])
_PARENTS = pa.array(
    [
        "",
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\System32\\services.exe",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\System32\\cmd.exe",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        "C:\\Windows\\System32\\userinit.exe",
    ]
)
_STATUS = pa.array(["", "0xc000006d", "0x0", "0x18", "0x6", "0xc000006a"])
_SUBSTATUS = pa.array(["", "0x0", "0xc000006a", "0xc0000064", "0xc0000234", "0xc0000072"])
_AUTH = pa.array(["", "Kerberos", "NTLM", "Negotiate"])
_LOGON_PROCESS = pa.array(["", "Kerberos", "NtLmSsp ", "User32 ", "Advapi  "])
# Accounts by activity rank: a fixed shuffle, so the busiest accounts are not the first names.
_USER_OF_RANK = np.random.default_rng(7).permutation(N_USERS).astype(np.int32)


def _isin(values: np.ndarray, group: tuple[int, ...]) -> np.ndarray:
    return np.isin(values, np.array(group, dtype=values.dtype))


def home(principal: np.ndarray) -> np.ndarray:
    """The computer a principal usually sits at (a machine account: the machine itself)."""
    desk = N_DC + N_SERVERS + (principal.astype(np.int64) * 7919 + 13) % N_WORKSTATIONS
    return np.where(principal >= N_USERS, principal - N_USERS, desk).astype(np.int32)


# ---------------------------------------------------------------- background traffic


def background(rng: np.random.Generator, n: int, day: int, vocabulary: Vocabulary) -> Rows:
    """``n`` rows of ordinary activity during ``day``."""
    eids = np.array(list(_MIX), dtype=np.int32)
    weights = np.array(list(_MIX.values()))
    eid = eids[rng.choice(len(eids), size=n, p=weights / weights.sum())]
    lt = _logon_types(rng, eid)
    principal = _principals(rng, eid, lt)
    actor = np.where(_isin(eid, ACCOUNT_MANAGEMENT), N_SERVICE + rng.integers(0, N_ADMINS, n), principal)
    proc = _processes(rng, eid, lt, vocabulary)
    rows = {
        "t": times_in_day(rng, n, day),
        "eid": eid,
        "principal": principal,
        "actor": actor,
        "lt": lt,
        "comp": _computers(rng, eid, lt, principal),
        "src": _sources(rng, eid, lt, principal),
        "proc": proc,
        "cmd": _command_lines(rng, eid, proc, vocabulary),
    }
    return {name: values.astype(np.int64 if name == "t" else np.int32) for name, values in rows.items()}


def _logon_types(rng: np.random.Generator, eid: np.ndarray) -> np.ndarray:
    n = len(eid)
    session = np.array([2, 3, 5, 7, 10, 11])[rng.choice(6, n, p=[0.08, 0.62, 0.12, 0.06, 0.04, 0.08])]
    failed = np.array([2, 3, 10])[rng.choice(3, n, p=[0.08, 0.82, 0.10])]
    return np.select([_isin(eid, (4624, 4634)), eid == 4625], [session, failed], 0)


def _principals(rng: np.random.Generator, eid: np.ndarray, lt: np.ndarray) -> np.ndarray:
    n = len(eid)
    user = _USER_OF_RANK[zipf(rng, n, N_USERS, 0.9)]
    machine = N_USERS + N_DC + N_SERVERS + rng.integers(0, N_WORKSTATIONS, n)
    privileged = rng.integers(0, N_SERVICE + N_ADMINS, n)
    machine_logon = _isin(eid, (4624, 4634)) & (lt == 3) & (rng.random(n) < 0.3)
    return np.select(
        [machine_logon, lt == 5, eid == 4672], [machine, rng.integers(0, N_SERVICE, n), privileged], user
    )


def _computers(
    rng: np.random.Generator, eid: np.ndarray, lt: np.ndarray, principal: np.ndarray
) -> np.ndarray:
    n = len(eid)
    server = zipf(rng, n, N_DC + N_SERVERS, 0.8)
    workstation = N_DC + N_SERVERS + rng.integers(0, N_WORKSTATIONS, n)
    desk, near = home(principal), rng.random(n)
    conditions = [
        _isin(eid, KERBEROS + ACCOUNT_MANAGEMENT),
        _isin(lt, _INTERACTIVE) | (eid == 4648),
        lt == 3,
        lt == 10,
        lt == 5,
        eid == 4672,
        _isin(eid, PROCESS_EVENTS),
    ]
    choices = [
        rng.integers(0, N_DC, n),
        desk,
        np.where(near < 0.7, server, workstation),
        N_DC + rng.integers(0, N_SERVERS, n),
        rng.integers(0, N_COMPUTERS, n),
        server,
        np.where(near < 0.75, desk, server),
    ]
    return np.select(conditions, choices, desk)


def _sources(rng: np.random.Generator, eid: np.ndarray, lt: np.ndarray, principal: np.ndarray) -> np.ndarray:
    n = len(eid)
    near = rng.random(n)
    workstation = N_DC + N_SERVERS + rng.integers(0, N_WORKSTATIONS, n)
    host = np.where(near < 0.8, home(principal), workstation)
    remote = np.where(near < 0.95, IP_HOSTS + host, IP_VPN + rng.integers(0, N_VPN, n))
    conditions = [
        _isin(lt, (3, 10)),
        _isin(lt, _INTERACTIVE),
        (lt == 5) | (eid == 4648),
        _isin(eid, (4768, 4769)),
    ]
    return np.select(conditions, [remote, IP_LOOPBACK, IP_DASH, IP_MAPPED + home(principal)], IP_EMPTY)


def _processes(
    rng: np.random.Generator, eid: np.ndarray, lt: np.ndarray, vocabulary: Vocabulary
) -> np.ndarray:
    program = PROC_FIRST_PROGRAM + zipf(rng, len(eid), len(vocabulary.processes) - PROC_FIRST_PROGRAM, 1.1)
    logon = _isin(eid, LOGONS)
    conditions = [
        _isin(eid, PROCESS_EVENTS),
        logon & _isin(lt, (*_INTERACTIVE, 10)),
        logon & (lt == 5),
        logon,
    ]
    return np.select(conditions, [program, PROC_WINLOGON, PROC_SERVICES, PROC_DASH], PROC_EMPTY)


def _command_lines(
    rng: np.random.Generator, eid: np.ndarray, proc: np.ndarray, vocabulary: Vocabulary
) -> np.ndarray:
    """A variant of the process's command line (skewed to its first variants); ``""`` for other events."""
    variant = (vocabulary.cmd_size[proc] * rng.random(len(eid)) ** 2.5).astype(np.int32)
    return np.where(eid == 4688, vocabulary.cmd_offset[proc] + variant, 0)


# ---------------------------------------------------------------- rendering


def to_table(rows: Rows, rng: np.random.Generator, vocabulary: Vocabulary) -> pa.Table:
    """The 23 SecurityEvent columns for ``rows`` (sorted by time first)."""
    order = np.argsort(rows["t"], kind="stable")
    rows = {name: values[order] for name, values in rows.items()}
    rows.update(_details(rng, rows))
    return pa.table({name: render(rows, vocabulary) for name, render in COLUMNS.items()})


def _details(rng: np.random.Generator, rows: Rows) -> Rows:
    """Per-row details that depend only on the event kind: ports, parents, status codes, auth, typing."""
    eid, lt = rows["eid"], rows["lt"]
    n, u = len(eid), rng.random(len(eid))
    port = np.select(
        [_isin(lt, (3, 10)) | _isin(eid, (4768, 4769)), _isin(lt, _INTERACTIVE), _isin(eid, LOGONS)],
        [3 + rng.integers(0, 16384, n), 2, 1],
        0,
    )
    parent = np.where(
        eid == 4688, rng.choice(np.arange(1, 8), n, p=[0.3, 0.15, 0.25, 0.12, 0.08, 0.05, 0.05]), 0
    )
    kerberos_status = np.select([u < 0.96, u < 0.99], [2, 3], 4)
    status = np.select(
        [eid == 4625, _isin(eid, (4768, 4769)), eid == 4776],
        [1, kerberos_status, np.where(u < 0.97, 2, 5)],
        0,
    )
    failure = rng.choice(np.arange(2, 6), n, p=[0.8, 0.12, 0.05, 0.03])
    substatus = np.select([eid == 4625, eid == 4624], [failure, 1], 0)
    auth = np.select([lt == 3, lt > 0], [np.where(u < 0.7, 1, 2), 3], 0)
    typed = (eid == 4625) & (rows["principal"] < N_USERS) & (u < 0.15)
    launch = rng.integers(1_000, 100_000_000, n)
    return {
        "port": port,
        "parent": parent,
        "status": status,
        "substatus": substatus,
        "auth": auth,
        "typed": typed,
        "launch": launch,
    }


def _strings(values: pa.Array, codes: np.ndarray) -> pa.Array:
    return values.take(pa.array(codes.astype(np.int32)))


def _text(rows: Rows, choices: list[tuple[np.ndarray, str]], default: str) -> pa.Array:
    """A string column from ``(condition, value)`` pairs (the first true condition wins)."""
    values = pa.array([value for _, value in choices] + [default])
    return _strings(values, np.select([c for c, _ in choices], np.arange(len(choices)), len(choices)))


def _account(rows: Rows, v: Vocabulary) -> pa.Array:
    return _strings(with_prefix(f"{DOMAIN}\\", v.principals), rows["actor"])


def _target_user(rows: Rows, v: Vocabulary) -> pa.Array:
    names = pa.concat_arrays([v.principals, v.principals_typed, pa.array(["-"])])
    targeted = _isin(rows["eid"], (4624, 4625, 4634, 4648, *KERBEROS, *ACCOUNT_MANAGEMENT))
    code = np.where(rows["typed"], N_PRINCIPALS + rows["principal"], rows["principal"])
    return _strings(names, np.where(targeted, code, 2 * N_PRINCIPALS))


def _target_domain(rows: Rows, v: Vocabulary) -> pa.Array:
    eid = rows["eid"]
    targeted = _isin(eid, (4624, 4625, 4634, 4648, 4776, *ACCOUNT_MANAGEMENT))
    return _text(rows, [(_isin(eid, (4768, 4769)), f"{DOMAIN}.COM"), (targeted, DOMAIN)], "-")


def _subject_codes(rows: Rows) -> np.ndarray:
    """Principal code of the subject; ``N_PRINCIPALS`` is ``-``, ``N_PRINCIPALS + 1`` is empty."""
    eid, lt = rows["eid"], rows["lt"]
    session = np.where(lt == 3, N_PRINCIPALS, N_USERS + rows["comp"])
    conditions = [
        _isin(eid, (4624, 4625, 4634)),
        _isin(eid, (4648, 4672, *PROCESS_EVENTS)),
        _isin(eid, (1102, *ACCOUNT_MANAGEMENT)),
    ]
    return np.select(conditions, [session, rows["principal"], rows["actor"]], N_PRINCIPALS + 1)


def _subject_user(rows: Rows, v: Vocabulary) -> pa.Array:
    return _strings(pa.concat_arrays([v.principals, pa.array(["-", ""])]), _subject_codes(rows))


def _subject_domain(rows: Rows, v: Vocabulary) -> pa.Array:
    code = _subject_codes(rows)
    return _text(rows, [(code < N_PRINCIPALS, DOMAIN), (code == N_PRINCIPALS, "-")], "")


def _workstation(rows: Rows, v: Vocabulary) -> pa.Array:
    names = pa.concat_arrays([v.short_computers, pa.array(["-", ""])])
    src, lt = rows["src"], rows["lt"]
    from_host = (src >= IP_HOSTS) & (src < IP_HOSTS + N_COMPUTERS)
    conditions = [_isin(lt, (3, 10)) & from_host, _isin(lt, _INTERACTIVE), _isin(rows["eid"], LOGONS)]
    code = np.select(conditions, [src - IP_HOSTS, rows["comp"], N_COMPUTERS], N_COMPUTERS + 1)
    return _strings(names, code)


def _logon_process(rows: Rows, v: Vocabulary) -> pa.Array:
    lt, auth = rows["lt"], rows["auth"]
    return _strings(_LOGON_PROCESS, np.select([lt == 3, lt == 5, lt > 0], [auth, 4, 3], 0))


def _command_line(rows: Rows, v: Vocabulary) -> pa.Array:
    """The command-line variant, plus a per-launch id for programs that carry one (browsers, COM hosts)."""
    base, suffix = _strings(v.command_lines, rows["cmd"]), _strings(v.cmd_suffix, rows["proc"])
    launch = pa.array(rows["launch"]).cast(pa.string())
    unique = pc.and_(pc.not_equal(suffix, ""), pa.array(rows["eid"] == 4688))
    return pc.if_else(unique, pc.binary_join_element_wise(base, suffix, launch, ""), base)


def _logon_type(rows: Rows, v: Vocabulary) -> pa.Array:
    return pa.array(rows["lt"], type=pa.int32(), mask=rows["lt"] == 0)


COLUMNS: dict[str, Callable[[Rows, Vocabulary], pa.Array]] = {
    "TimeGenerated": lambda r, v: pa.array(r["t"], type=pa.timestamp("us", tz="UTC")),
    "EventID": lambda r, v: pa.array(r["eid"], type=pa.int32()),
    "Activity": lambda r, v: _strings(_ACTIVITIES, np.searchsorted(_EIDS, r["eid"])),
    "Computer": lambda r, v: _strings(v.computers, r["comp"]),
    "Account": _account,
    "AccountType": lambda r, v: _text(r, [(r["actor"] >= N_USERS, "Machine")], "User"),
    "TargetUserName": _target_user,
    "TargetDomainName": _target_domain,
    "SubjectUserName": _subject_user,
    "SubjectDomainName": _subject_domain,
    "IpAddress": lambda r, v: _strings(v.ips, r["src"]),
    "IpPort": lambda r, v: _strings(_PORTS, r["port"]),
    "LogonType": _logon_type,
    "LogonProcessName": _logon_process,
    "AuthenticationPackageName": lambda r, v: _strings(_AUTH, r["auth"]),
    "WorkstationName": _workstation,
    "Process": lambda r, v: _strings(v.processes, r["proc"]),
    "NewProcessName": lambda r, v: _strings(
        v.process_paths, np.where(r["eid"] == 4688, r["proc"], PROC_EMPTY)
    ),
    "ParentProcessName": lambda r, v: _strings(_PARENTS, r["parent"]),
    "CommandLine": _command_line,
    "Status": lambda r, v: _strings(_STATUS, r["status"]),
    "SubStatus": lambda r, v: _strings(_SUBSTATUS, r["substatus"]),
    "Channel": lambda r, v: pa.repeat(pa.scalar("Security"), len(r["t"])),
}
"""Column name (Sentinel's) -> renderer; 23 columns, in this order."""

assert len(COLUMNS) == 23
