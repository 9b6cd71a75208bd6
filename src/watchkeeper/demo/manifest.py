"""The demo manifest: what the generator built and which attacks it hid in the data.

Written as ``demo-manifest.json`` next to the workspace's events. Each attack lists the hosts,
accounts and addresses involved, its time range, the rows it added per table, and the hunting
queries (KQL a SOC analyst would write) that find it with the values they must return.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_FILE", "AttackRecord", "Hunt", "Manifest"]

MANIFEST_FILE = "demo-manifest.json"


@dataclass(frozen=True)
class Hunt:
    """A hunting query and, per column, the distinct values it returns on the demo data."""

    query: str
    expect: dict[str, list[str]]


@dataclass(frozen=True)
class AttackRecord:
    """One injected attack: what, where, when, and how to find it."""

    id: str
    name: str
    description: str
    tactics: list[str]
    techniques: list[str]
    hosts: list[str]
    accounts: list[str]
    source_ips: list[str]
    start: datetime
    end: datetime
    rows: dict[str, int]
    hunts: list[Hunt]


@dataclass
class Manifest:
    """Everything ``wk demo`` built."""

    seed: int
    start: datetime
    end: datetime
    hosts: int
    users: int
    tables: dict[str, int] = field(default_factory=dict)
    attacks: list[AttackRecord] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.tables.values())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; datetimes as ISO 8601 with ``Z``."""
        data: dict[str, Any] = _jsonable(asdict(self))
        return data

    def write(self, folder: Path) -> Path:
        """Write ``demo-manifest.json`` into ``folder``; returns its path."""
        path = folder / MANIFEST_FILE
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """The manifest a previous build wrote into ``folder``."""
        data = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        attacks = [
            AttackRecord(
                **{
                    **a,
                    "start": _parse(a["start"]),
                    "end": _parse(a["end"]),
                    "hunts": [Hunt(**h) for h in a["hunts"]],
                }
            )
            for a in data.pop("attacks")
        ]
        return cls(**{**data, "start": _parse(data["start"]), "end": _parse(data["end"]), "attacks": attacks})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
