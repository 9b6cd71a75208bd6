"""Build the demo workspace: background telemetry per table, the injected attacks, the manifest."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from watchkeeper.demo.attacks import ATTACKS
from watchkeeper.demo.device_events import background_network_events, background_process_events
from watchkeeper.demo.manifest import MANIFEST_FILE, Manifest
from watchkeeper.demo.security_events import background_security_events
from watchkeeper.demo.signins import background_signins
from watchkeeper.demo.syslog import background_syslog
from watchkeeper.demo.usage import record_usage, send_malformed_records
from watchkeeper.demo.world import DEMO_END, DEMO_SEED, World, build_world
from watchkeeper.workspace import EVENTS_FILE, Workspace

__all__ = ["BACKGROUND", "DemoBuild", "build_demo", "demo_exists"]

# table, generator, rows at scale 1.0 (about 320,000 rows in all)
BACKGROUND: tuple[tuple[str, Callable[[World, int], pa.Table], int], ...] = (
    ("SecurityEvent", background_security_events, 120_000),
    ("SigninLogs", background_signins, 60_000),
    ("DeviceProcessEvents", background_process_events, 60_000),
    ("DeviceNetworkEvents", background_network_events, 50_000),
    ("Syslog", background_syslog, 30_000),
)


@dataclass(frozen=True)
class DemoBuild:
    """The outcome of :func:`build_demo`: where it went, what it holds, how long it took."""

    path: Path
    manifest: Manifest
    seconds: float


def demo_exists(path: str | Path) -> bool:
    """Whether ``path`` already holds a workspace (an events database)."""
    return (Path(path) / EVENTS_FILE).exists()


def build_demo(
    path: str | Path,
    *,
    seed: int = DEMO_SEED,
    scale: float = 1.0,
    replace: bool = False,
    progress: Callable[[str], None] | None = None,
    end: datetime = DEMO_END,
) -> DemoBuild:
    """Build the deterministic demo workspace in folder ``path``.

    The same ``seed``, ``scale`` and ``end`` give the same rows; ``end`` is when the 30 days stop. ``scale`` sizes the organisation and the
    background volume (1.0: 3,000 users, 300 hosts, about 320,000 rows); the attacks are always
    all there. An existing workspace is an error (``FileExistsError``) unless ``replace``.
    """
    started = time.perf_counter()
    folder = Path(path)
    _prepare(folder, replace)
    world = build_world(
        seed, users=max(200, round(3000 * scale)), workstations=max(60, round(240 * scale)), end=end
    )
    manifest = Manifest(seed, world.start, world.end, len(world.windows) + len(world.linux), len(world.users))
    say = progress or (lambda _message: None)
    with Workspace.open(folder) as ws:
        for table, generate, rows in BACKGROUND:
            batch = generate(world, max(1000, round(rows * scale)))
            manifest.tables[table] = ws.ingest(table, batch, now=world.end)
            say(f"{table}: {batch.num_rows:,} rows")
        for attack in ATTACKS:
            injection = attack(world)
            for table, rows_of_attack in injection.rows.items():
                manifest.tables[table] += ws.ingest(table, rows_of_attack, now=world.end)
            manifest.attacks.append(injection.record)
            say(f"attack {injection.record.id}: {sum(injection.record.rows.values())} rows")
        say(f"Usage: {record_usage(ws, manifest.tables, seed=seed):,} hourly rows")
        say(f"IngestionErrors: {send_malformed_records(ws, world.end)} malformed records refused")
    manifest.write(folder)
    return DemoBuild(folder, manifest, time.perf_counter() - started)


def _prepare(folder: Path, replace: bool) -> None:
    if demo_exists(folder) and not replace:
        raise FileExistsError(f"{folder} already holds a workspace; pass replace=True to rebuild it")
    folder.mkdir(parents=True, exist_ok=True)
    for name in (EVENTS_FILE, f"{EVENTS_FILE}.wal", MANIFEST_FILE):
        (folder / name).unlink(missing_ok=True)
