"""DeviceProcessEvents and DeviceNetworkEvents: Defender for Endpoint telemetry of the Windows fleet."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from watchkeeper.demo.accounts import AccountColumns
from watchkeeper.demo.columns import MICROS_PER_SECOND, const, event_times, pick, timestamps
from watchkeeper.demo.processes import BENIGN_PROCESSES, DESTINATIONS, NETWORK_CLIENTS, Binary
from watchkeeper.demo.world import DOMAIN, TENANT_ID, Host, User, World

__all__ = ["background_network_events", "background_process_events", "network_event_row", "process_event_row"]

PROCESS_TABLE = "DeviceProcessEvents"
NETWORK_TABLE = "DeviceNetworkEvents"


def background_process_events(world: World, rows: int) -> pa.Table:
    """``rows`` benign process starts on the Windows machines, in time order."""
    rng = world.rng(PROCESS_TABLE)
    accounts = AccountColumns.of(world)
    weights = np.array([p.weight for p in BENIGN_PROCESSES])
    launch = rng.choice(len(BENIGN_PROCESSES), size=rows, p=weights / weights.sum())
    as_system = np.array([p.as_system for p in BENIGN_PROCESSES])[launch]
    own_pc = rng.integers(0, len(world.workstations), rows)
    host = np.where(as_system, rng.integers(0, len(world.windows), rows), own_pc)
    user = np.where(as_system, accounts.system, own_pc)
    times = event_times(rng, rows, world.start, world.days)
    columns = {
        **_device_columns(world, host, times, PROCESS_TABLE),
        "ActionType": const("ProcessCreated", rows),
        **_image_columns("", [p.image for p in BENIGN_PROCESSES], launch),
        **_image_columns("InitiatingProcess", [p.parent for p in BENIGN_PROCESSES], launch),
        "ProcessCommandLine": pick([p.command_line for p in BENIGN_PROCESSES], launch),
        "InitiatingProcessCommandLine": pick([p.parent_command_line for p in BENIGN_PROCESSES], launch),
        "ProcessId": pa.array(rng.integers(1000, 60000, rows)),
        "InitiatingProcessId": pa.array(rng.integers(500, 60000, rows)),
        "ProcessCreationTime": timestamps(times),
        "InitiatingProcessCreationTime": timestamps(times - rng.integers(1, 3600, rows) * MICROS_PER_SECOND),
        "ProcessIntegrityLevel": pick(["Medium", "System"], as_system.astype(np.int64)),
        "ProcessTokenElevation": const("TokenElevationTypeDefault", rows),
        **_account_columns("", accounts, user),
        **_account_columns("InitiatingProcess", accounts, user),
    }
    return pa.table(columns).sort_by("TimeGenerated")


def background_network_events(world: World, rows: int) -> pa.Table:
    """``rows`` outbound connections of everyday programs, in time order."""
    rng = world.rng(NETWORK_TABLE)
    accounts = AccountColumns.of(world)
    weights = np.array([w for _, w in NETWORK_CLIENTS])
    client = rng.choice(len(NETWORK_CLIENTS), size=rows, p=weights / weights.sum())
    destination = rng.integers(0, len(DESTINATIONS), rows)
    host = rng.integers(0, len(world.workstations), rows)
    services = np.array([c.name in ("svchost.exe", "MsMpEng.exe") for c, _ in NETWORK_CLIENTS])[client]
    user = np.where(services, accounts.system, host)
    failed = rng.random(rows) < 0.04
    private = np.array([d[1].startswith("10.") for d in DESTINATIONS])[destination]
    columns = {
        **_device_columns(world, host, event_times(rng, rows, world.start, world.days), NETWORK_TABLE),
        "ActionType": pick(["ConnectionSuccess", "ConnectionFailed"], failed.astype(np.int64)),
        "RemoteUrl": pick([d[0] for d in DESTINATIONS], destination),
        "RemoteIP": pick([d[1] for d in DESTINATIONS], destination),
        "RemotePort": pa.array(np.array([d[2] for d in DESTINATIONS], dtype=np.int32)[destination]),
        "RemoteIPType": pick(["Public", "Private"], private.astype(np.int64)),
        "LocalIP": pick([h.ip for h in world.workstations], host),
        "LocalPort": pa.array(rng.integers(49152, 65535, rows).astype(np.int32)),
        "LocalIPType": const("Private", rows),
        "Protocol": const("Tcp", rows),
        **_image_columns("InitiatingProcess", [c for c, _ in NETWORK_CLIENTS], client),
        "InitiatingProcessId": pa.array(rng.integers(500, 60000, rows)),
        **_account_columns("InitiatingProcess", accounts, user),
    }
    return pa.table(columns).sort_by("TimeGenerated")


def process_event_row(
    host: Host,
    user: User,
    when: datetime,
    image: Binary,
    command_line: str,
    parent: Binary,
    parent_command_line: str,
    **columns: Any,
) -> dict[str, Any]:
    """One DeviceProcessEvents row (for injected attacks); ``columns`` add or override."""
    row = {
        **_device_row(host, when, PROCESS_TABLE),
        "ActionType": "ProcessCreated",
        **_image_row("", image),
        **_image_row("InitiatingProcess", parent),
        "ProcessCommandLine": command_line,
        "InitiatingProcessCommandLine": parent_command_line,
        "ProcessCreationTime": when,
        "InitiatingProcessCreationTime": when - timedelta(seconds=42),
        "ProcessIntegrityLevel": "High",
        "ProcessTokenElevation": "TokenElevationTypeFull",
        **_account_row("", user),
        **_account_row("InitiatingProcess", user),
    }
    row.update(columns)
    return row


def network_event_row(
    host: Host,
    user: User,
    when: datetime,
    process: Binary,
    command_line: str,
    remote_ip: str,
    remote_port: int,
    remote_url: str = "",
    **columns: Any,
) -> dict[str, Any]:
    """One DeviceNetworkEvents row (for injected attacks); ``columns`` add or override."""
    row = {
        **_device_row(host, when, NETWORK_TABLE),
        "ActionType": "ConnectionSuccess",
        "RemoteIP": remote_ip,
        "RemotePort": remote_port,
        "RemoteUrl": remote_url,
        "RemoteIPType": "Private" if remote_ip.startswith("10.") else "Public",
        "LocalIP": host.ip,
        "LocalPort": 50123,
        "LocalIPType": "Private",
        "Protocol": "Tcp",
        **_image_row("InitiatingProcess", process),
        "InitiatingProcessCommandLine": command_line,
        **_account_row("InitiatingProcess", user),
    }
    row.update(columns)
    return row


def _device_columns(world: World, host: np.ndarray, times: np.ndarray, table: str) -> dict[str, pa.Array]:
    n = len(host)
    windows = world.windows
    return {
        "TimeGenerated": timestamps(times),
        "DeviceId": pick([h.device_id for h in windows], host),
        "DeviceName": pick([h.fqdn.lower() for h in windows], host),
        "ReportId": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "TenantId": const(TENANT_ID, n),
        "Type": const(table, n),
        "SourceSystem": const("", n),
    }


def _device_row(host: Host, when: datetime, table: str) -> dict[str, Any]:
    return {
        "TimeGenerated": when,
        "DeviceId": host.device_id,
        "DeviceName": host.fqdn.lower(),
        "ReportId": 900_000 + when.minute,
        "TenantId": TENANT_ID,
        "Type": table,
    }


def _image_columns(prefix: str, images: list[Binary], index: np.ndarray) -> dict[str, pa.Array]:
    return {
        f"{prefix}FileName": pick([b.name for b in images], index),
        f"{prefix}FolderPath": pick([b.path for b in images], index),
        f"{prefix}SHA1": pick([b.digest("sha1") for b in images], index),
        f"{prefix}SHA256": pick([b.digest("sha256") for b in images], index),
        f"{prefix}MD5": pick([b.digest("md5") for b in images], index),
    }


def _image_row(prefix: str, image: Binary) -> dict[str, Any]:
    return {
        f"{prefix}FileName": image.name,
        f"{prefix}FolderPath": image.path,
        f"{prefix}SHA1": image.digest("sha1"),
        f"{prefix}SHA256": image.digest("sha256"),
        f"{prefix}MD5": image.digest("md5"),
    }


def _account_columns(prefix: str, accounts: AccountColumns, user: np.ndarray) -> dict[str, pa.Array]:
    return {
        f"{prefix}AccountName": pick(accounts.sam, user),
        f"{prefix}AccountDomain": pick([d.lower() for d in accounts.domain], user),
        f"{prefix}AccountSid": pick(accounts.sid, user),
        f"{prefix}AccountUpn": pick(accounts.upn, user),
    }


def _account_row(prefix: str, user: User) -> dict[str, Any]:
    return {
        f"{prefix}AccountName": user.sam,
        f"{prefix}AccountDomain": DOMAIN.lower(),
        f"{prefix}AccountSid": user.sid,
        f"{prefix}AccountUpn": user.upn,
    }
