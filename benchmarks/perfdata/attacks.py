"""The injected attacks: what the reference queries hunt for.

* brute force: 12+ failed logons (4625) from one address against one account; in 6 of 10
  incidents a success (4624) follows within the hour, in 1 of 10 only later; a third of them on
  the last day;
* password sprays: one address, many accounts, one or two failures each, on-prem (4625 against
  the domain controllers) and in Entra ID (SigninLogs ``50126``) for the same accounts;
* lateral movement: network logons by one account to hundreds of hosts within hours;
* encoded PowerShell (``-enc`` / ``-EncodedCommand``, and ``-ec``, which ``contains "-enc"``
  misses), credential dumping (comsvcs.dll MiniDump), audit-log clears (1102 after
  ``wevtutil cl``), rogue account creation and group changes.

Sizes follow ``scale = sqrt(rows / 10M)`` with floors, so a 20k-row smoke run still holds each
kind. Each scenario draws from its own random stream (``seed``, scenario number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perfdata import security_events as se
from perfdata import signin_logs as sl
from perfdata.timeline import (
    DAY_US,
    DAYS,
    HOUR_US,
    MINUTE_US,
    START_US,
    Rows,
    concat_rows,
    day_start,
    make_rows,
)
from perfdata.vocabulary import (
    IP_ATTACKERS,
    IP_HOSTS,
    N_ADMINS,
    N_ATTACKERS,
    N_COMPUTERS,
    N_DC,
    N_SERVERS,
    N_SERVICE,
    N_USERS,
    N_WORKSTATIONS,
    PROC_DASH,
    Vocabulary,
    process_code,
)

_FIRST_PERSON = N_SERVICE + N_ADMINS


@dataclass(frozen=True)
class Spray:
    """One password spray: when it starts, from which address, against which accounts."""

    start: int
    ip: int
    users: np.ndarray


def _rng(seed: int, scenario: int) -> np.random.Generator:
    return np.random.default_rng([seed, scenario])


def _scale(rows: int) -> float:
    return float(np.sqrt(rows / 10_000_000))


def security_event_attacks(rows: int, seed: int, vocabulary: Vocabulary) -> Rows:
    """Every injected SecurityEvent row of a ``rows``-row dataset."""
    scale = _scale(rows)
    parts = [
        _brute_force(_rng(seed, 1), scale),
        *[_spray_logons(_rng(seed, 100 + k), spray) for k, spray in enumerate(sprays(rows, seed))],
        _lateral_movement(_rng(seed, 3), scale),
        _attack_processes(
            _rng(seed, 4), max(6, round(400 * scale)), vocabulary, "encoded_powershell", "powershell.exe"
        ),
        _attack_processes(
            _rng(seed, 5), max(2, round(20 * scale)), vocabulary, "credential_dump", "rundll32.exe"
        ),
        _log_clears(_rng(seed, 6), vocabulary),
        _rogue_admins(_rng(seed, 7)),
    ]
    return concat_rows(parts, se.FIELDS)


def signin_attacks(rows: int, seed: int) -> Rows:
    """Every injected SigninLogs row: the Entra ID side of the sprays."""
    parts = []
    for k, spray in enumerate(sprays(rows, seed)):
        rng, n = _rng(seed, 200 + k), len(spray.users)
        t = spray.start + np.sort(rng.integers(0, 2 * HOUR_US, n))
        parts.append(
            make_rows(
                n,
                sl.FIELDS,
                t=t,
                user=spray.users,
                src=spray.ip,
                result=sl.RESULT_BAD_PASSWORD,
                app=3,
                client=sl.CLIENT_LEGACY,
                device=7,
                risk=2,
            )
        )
    return concat_rows(parts, sl.FIELDS)


def sprays(rows: int, seed: int) -> list[Spray]:
    """The password sprays of a ``rows``-row dataset (the first on the last day)."""
    rng, scale = _rng(seed, 2), _scale(rows)
    found = []
    for k in range(max(1, round(6 * scale))):
        day = DAYS - 1 if k == 0 else int(rng.integers(0, DAYS))
        users = rng.choice(
            np.arange(_FIRST_PERSON, N_USERS), size=max(15, round(1500 * scale)), replace=False
        )
        found.append(
            Spray(
                day_start(day) + int(rng.integers(0, 20 * HOUR_US)), IP_ATTACKERS + N_ATTACKERS - 1 - k, users
            )
        )
    return found


def _logons(n: int, **values: int | np.ndarray) -> Rows:
    principal = values.pop("principal")
    return make_rows(n, se.FIELDS, principal=principal, actor=principal, proc=PROC_DASH, **values)


def _brute_force(rng: np.random.Generator, scale: float) -> Rows:
    parts = []
    for k in range(max(4, round(30 * scale))):
        day = DAYS - 1 if k % 3 == 0 else int(rng.integers(0, DAYS))
        start = day_start(day) + int(rng.integers(0, 18 * HOUR_US))
        failures = int(rng.integers(12, 12 + max(8, round(250 * scale))))
        t = start + np.sort(rng.integers(0, int(rng.integers(10, 90)) * MINUTE_US, failures))
        who = {
            "principal": int(rng.integers(_FIRST_PERSON, N_USERS)),
            "lt": 3 if k % 4 else 10,
            "comp": N_DC + int(rng.integers(N_SERVERS)),
            "src": IP_ATTACKERS + k % N_ATTACKERS,
        }
        parts += [_logons(failures, t=t, eid=4625, **who), _successes(rng, k, int(t[-1]), who)]
    return concat_rows(parts, se.FIELDS)


def _successes(rng: np.random.Generator, incident: int, last_failure: int, who: dict[str, int]) -> Rows:
    """The logons after a brute force: 6 in 10 within the hour, 1 in 10 later, 3 in 10 none."""
    outcome = incident % 10
    if outcome >= 7:
        return make_rows(0, se.FIELDS)
    delay = int(rng.integers(1, 55) if outcome < 6 else rng.integers(65, 180)) * MINUTE_US
    count = int(rng.integers(1, 4))
    t = last_failure + delay + np.arange(count) * int(rng.integers(1, 5)) * MINUTE_US
    return _logons(count, t=t, eid=4624, **who)


def _spray_logons(rng: np.random.Generator, spray: Spray) -> Rows:
    principal = np.repeat(spray.users, rng.integers(1, 3, size=len(spray.users)))
    n = len(principal)
    t = spray.start + np.sort(rng.integers(0, HOUR_US, n))
    return _logons(n, t=t, eid=4625, principal=principal, lt=3, comp=rng.integers(0, N_DC, n), src=spray.ip)


def _lateral_movement(rng: np.random.Generator, scale: float) -> Rows:
    parts = []
    for _ in range(max(1, round(3 * scale))):
        hosts = rng.choice(N_COMPUTERS, size=max(30, round(300 * scale)), replace=False)
        start = day_start(int(rng.integers(0, DAYS))) + int(rng.integers(0, 16 * HOUR_US))
        t = start + np.sort(rng.integers(0, 4 * HOUR_US, len(hosts)))
        src = IP_HOSTS + N_DC + N_SERVERS + int(rng.integers(N_WORKSTATIONS))
        parts.append(
            _logons(
                len(hosts),
                t=t,
                eid=4624,
                principal=int(rng.integers(_FIRST_PERSON, N_USERS)),
                lt=3,
                comp=hosts,
                src=src,
            )
        )
    return concat_rows(parts, se.FIELDS)


def _attack_processes(
    rng: np.random.Generator, n: int, vocabulary: Vocabulary, kind: str, program: str
) -> Rows:
    """``n`` process creations (4688) running the ``kind`` attack command lines on workstations."""
    first, count = vocabulary.attack_commands[kind], vocabulary.attack_command_counts[kind]
    principal = rng.integers(_FIRST_PERSON, N_USERS, n)
    return make_rows(
        n,
        se.FIELDS,
        t=START_US + rng.integers(0, DAYS * DAY_US, n),
        eid=4688,
        principal=principal,
        actor=principal,
        comp=N_DC + N_SERVERS + rng.integers(0, N_WORKSTATIONS, n),
        proc=process_code(vocabulary, program),
        cmd=first + rng.integers(0, count, n),
    )


def _log_clears(rng: np.random.Generator, vocabulary: Vocabulary) -> Rows:
    """``wevtutil cl Security`` by an admin, then the 1102 it causes, on three servers."""
    n = 3
    t = START_US + rng.integers(0, DAYS * DAY_US, n)
    admin, comp = N_SERVICE + rng.integers(0, N_ADMINS, n), rng.integers(0, N_DC + N_SERVERS, n)
    cmd = vocabulary.attack_commands["log_clear"]
    run = make_rows(
        n,
        se.FIELDS,
        t=t,
        eid=4688,
        principal=admin,
        actor=admin,
        comp=comp,
        proc=process_code(vocabulary, "wevtutil.exe"),
        cmd=cmd,
    )
    clear = make_rows(n, se.FIELDS, t=t + 1_000_000, eid=1102, principal=admin, actor=admin, comp=comp)
    return concat_rows([run, clear], se.FIELDS)


def _rogue_admins(rng: np.random.Generator) -> Rows:
    """An admin creates an account (4720) and adds it to privileged groups (4728, 4732)."""
    parts = []
    for _ in range(2):
        t = START_US + int(rng.integers(0, DAYS * DAY_US)) + np.arange(3) * 20_000_000
        admin, created = N_SERVICE + int(rng.integers(N_ADMINS)), N_USERS - 1 - int(rng.integers(100))
        parts.append(
            make_rows(
                3,
                se.FIELDS,
                t=t,
                eid=np.array([4720, 4728, 4732]),
                principal=created,
                actor=admin,
                comp=int(rng.integers(N_DC)),
            )
        )
    return concat_rows(parts, se.FIELDS)
