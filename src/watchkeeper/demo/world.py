"""The demo organisation: its people, machines, addresses and the 30-day window the logs cover.

Everything is drawn from one seed, so the same seed gives the same world. External addresses come
from the documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and names
from ``example.com`` (RFC 2606), so no demo value points at a real network.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from watchkeeper.demo.columns import guids, hex_ids

__all__ = ["DEMO_DAYS", "DEMO_END", "DEMO_SEED", "Host", "User", "World", "build_world"]

DEMO_SEED = 20260101
DEMO_END = datetime(2026, 1, 1, tzinfo=UTC)
DEMO_DAYS = 30

DOMAIN = "CORP"
DNS_SUFFIX = "corp.example.com"
UPN_SUFFIX = "example.com"
TENANT_ID = "7d1c3f4a-5b6e-4c8d-9a0b-1c2d3e4f5a6b"
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
OFFICE_EGRESS_IP = "192.0.2.10"

_FIRST_NAMES = (
    "Aaron Abby Adrian Aisha Alex Alice Amir Ana Andre Anna Ben Bianca Carla Carlos Chen Chloe Dan Daria "
    "David Diego Elena Emma Erik Eva Farah Felix Fiona Grace Hana Hugo Ian Ines Ivan Jade James Jana Jonas "
    "Julia Kai Kara Kenji Lara Leo Lina Luca Maya Mei Milan Mira Nadia Nina Noah Omar Oscar Paul Priya "
    "Rosa Sam Sara Tom Vera Yuki Zoe"
)
_LAST_NAMES = (
    "Adams Ahmed Bauer Becker Brown Campbell Chen Clark Costa Cruz Dubois Evans Fischer Garcia Gomez Green "
    "Hall Hansen Ito Jensen Kim Klein Kowalski Lee Lopez Martin Meyer Miller Moreau Muller Nakamura Nguyen "
    "Novak Olsen Patel Perez Rossi Sato Schmidt Silva Singh Smith Suzuki Tanaka Taylor Wagner Walker Wang "
    "Weber Wilson Wong Young Zhang"
)
_SERVER_ROLES = (
    "DC",
    "DC",
    "FILE",
    "FILE",
    "SQL",
    "SQL",
    "WEB",
    "WEB",
    "EXCH",
    "APP",
    "APP",
    "APP",
    "PRINT",
    "BACKUP",
    "CA",
    "WSUS",
    "RDS",
    "RDS",
    "HV",
    "HV",
)
_LINUX_ROLES = ("web", "web", "web", "db", "db", "cache", "queue", "build", "proxy", "mon")
# (city, state, country) where users sign in from; most of the company sits in one country.
LOCATIONS = (
    ("Seattle", "Washington", "US"),
    ("Austin", "Texas", "US"),
    ("Chicago", "Illinois", "US"),
    ("New York", "New York", "US"),
    ("Toronto", "Ontario", "CA"),
    ("London", "England", "GB"),
    ("Berlin", "Berlin", "DE"),
)
_LOCATION_WEIGHTS = np.array([30, 20, 15, 15, 8, 7, 5], dtype=float)


@dataclass(frozen=True)
class User:
    """A person with a directory account."""

    sam: str
    display_name: str
    object_id: str
    sid: str
    home_ip: str
    location: int
    admin: bool = False

    @property
    def upn(self) -> str:
        return f"{self.sam}@{UPN_SUFFIX}"

    @property
    def account(self) -> str:
        return f"{DOMAIN}\\{self.sam}"


@dataclass(frozen=True)
class Host:
    """A machine: Windows workstation or server, or a Linux server."""

    name: str
    ip: str
    os: str
    device_id: str
    owner: int | None = None

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{DNS_SUFFIX}"

    @property
    def is_server(self) -> bool:
        return self.owner is None and self.os == "Windows"


@dataclass
class World:
    """The organisation the demo logs describe, and the seeded random streams that draw them."""

    seed: int
    end: datetime
    days: int
    users: list[User]
    workstations: list[Host]
    servers: list[Host]
    linux: list[Host]
    _streams: dict[str, np.random.Generator] = field(default_factory=dict, repr=False)

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)

    @property
    def windows(self) -> list[Host]:
        return self.workstations + self.servers

    @property
    def admins(self) -> list[int]:
        return [i for i, user in enumerate(self.users) if user.admin]

    def rng(self, purpose: str) -> np.random.Generator:
        """An independent random stream per purpose: adding a table never changes another's rows."""
        if purpose not in self._streams:
            self._streams[purpose] = np.random.default_rng([self.seed, zlib.crc32(purpose.encode())])
        return self._streams[purpose]

    def server(self, name: str) -> Host:
        return next(h for h in self.servers + self.linux if h.name == name)


def build_world(
    seed: int = DEMO_SEED, *, users: int = 3000, workstations: int = 240, end: datetime = DEMO_END
) -> World:
    """The demo organisation: ``users`` people, ``workstations`` PCs, 20 Windows and 40 Linux servers,
    logging for the days before ``end``. Rows depend on ``seed`` and are placed relative to ``end``."""
    world = World(seed, end, DEMO_DAYS, [], [], [], [])
    workstations = min(workstations, users)
    world.users = _users(world.rng("users"), users, admins_among=workstations)
    rng = world.rng("hosts")
    world.workstations = [
        Host(
            f"WS-{i + 1:04d}", f"10.10.{i // 200}.{i % 200 + 20}", "Windows", hex_ids(rng, 1, 40)[0], owner=i
        )
        for i in range(workstations)
    ]
    role_counts: dict[str, int] = {}
    world.servers = [
        _numbered(f"SRV-{role}", role_counts, "10.20.0", "Windows", rng) for role in _SERVER_ROLES
    ]
    world.linux = [
        _numbered(f"lnx-{role}", role_counts, "10.30.0", "Linux", rng) for role in _LINUX_ROLES * 4
    ]
    return world


def _numbered(prefix: str, counts: dict[str, int], subnet: str, os: str, rng: np.random.Generator) -> Host:
    counts[prefix] = counts.get(prefix, 0) + 1
    address = f"{subnet}.{sum(counts.values()) + 9}"
    return Host(f"{prefix}{counts[prefix]:02d}", address, os, hex_ids(rng, 1, 40)[0])


def _users(rng: np.random.Generator, count: int, admins_among: int) -> list[User]:
    """People with unique names; the administrators are among the workstation owners."""
    pairs = [(first, last) for first in _FIRST_NAMES.split() for last in _LAST_NAMES.split()]
    order = rng.permutation(len(pairs))
    object_ids = guids(rng, count)
    homes = rng.integers(0, 2 * 254, count)
    locations = rng.choice(len(LOCATIONS), size=count, p=_LOCATION_WEIGHTS / _LOCATION_WEIGHTS.sum())
    admins = set(rng.choice(admins_among, size=max(1, count // 200), replace=False).tolist())
    users = []
    for i in range(count):
        first, last = pairs[order[i % len(pairs)]]
        suffix = "" if i < len(pairs) else str(i // len(pairs) + 1)
        subnet = "198.51.100" if homes[i] < 254 else "192.0.2"
        home_ip = f"{subnet}.{homes[i] % 254 + 1}"
        sam = f"{first}.{last}{suffix}".lower()
        users.append(
            User(
                sam,
                f"{first} {last}",
                object_ids[i],
                f"{DOMAIN_SID}-{1100 + i}",
                home_ip,
                int(locations[i]),
                admin=i in admins,
            )
        )
    return users
