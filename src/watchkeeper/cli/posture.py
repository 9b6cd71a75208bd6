"""``wk score``: a tenant's secure score from the server's shell.

``wk score snapshot --tenant T`` scores the tenant now (the day's snapshot, replacing an earlier one
of the same day); ``wk score show --tenant T`` lists its snapshots newest first, and ``--controls``
shows the latest one's control scores.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from watchkeeper.audit import Actor
from watchkeeper.cli.console import fail
from watchkeeper.cli.platform import DataDirOption, Format, FormatOption, emit, open_runtime
from watchkeeper.directory import find_tenant
from watchkeeper.flows.posture import take_snapshot
from watchkeeper.posture import SnapshotRead, list_snapshots
from watchkeeper.runtime import Runtime

__all__ = ["score"]

score = typer.Typer(help="Secure score: snapshots of a tenant's controls.", no_args_is_help=True)
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's id or name.")]


def _tenant_id(runtime: Runtime, ref: str) -> str:
    with runtime.database.session() as session:
        found = find_tenant(session, ref=ref)
    if found is None:
        raise fail(f"error: no tenant {ref!r} (see `wk tenants list`)")
    return found.id


def _row(snapshot: SnapshotRead) -> dict[str, Any]:
    return {"id": snapshot.id, "day": snapshot.day, "currentScore": snapshot.current_score,
            "maxScore": snapshot.max_score, "activeUsers": snapshot.active_user_count,
            "services": ", ".join(snapshot.enabled_services)}  # fmt: skip


def _controls(snapshot: SnapshotRead) -> list[dict[str, Any]]:
    return [{"control": c["control"], "category": c["category"], "score": c["score"], "maxScore": c["maxScore"],
             "state": c["state"], "description": c["description"]} for c in snapshot.control_scores]  # fmt: skip


@score.command("snapshot")
def snapshot_command(
    tenant: TenantOption, data_dir: DataDirOption = None, fmt: FormatOption = Format.table
) -> None:
    """Score the tenant now and record it as today's snapshot."""
    with open_runtime(data_dir) as runtime:
        taken = take_snapshot(runtime, Actor.cli(), _tenant_id(runtime, tenant))
    emit(_row(taken) if fmt is Format.json else [_row(taken)], fmt)


@score.command("show")
def show_command(
    tenant: TenantOption,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many days.")] = 30,
    controls: Annotated[
        bool, typer.Option("--controls", help="The latest snapshot's control scores.")
    ] = False,
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The tenant's snapshots, newest first (or the latest one's controls)."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            found = list_snapshots(session, tenant_id=tenant_id, limit=1 if controls else limit)
    if controls and not found:
        raise fail("error: no snapshot yet (take one with `wk score snapshot`)")
    emit(_controls(found[0]) if controls else [_row(s) for s in found], fmt)
