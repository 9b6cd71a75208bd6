"""``wk demo``: build the synthetic demo workspace and say what is hidden in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from watchkeeper.audit import Actor
from watchkeeper.cli.console import fail, load_settings, note, stdout_console, user_errors
from watchkeeper.demo import DEMO_DAYS, DEMO_SEED, MANIFEST_FILE, DemoBuild, Manifest, build_demo, demo_exists
from watchkeeper.schema.values import parse_datetime_text
from watchkeeper.settings import Settings

if TYPE_CHECKING:
    from watchkeeper.flows import DemoAccess
    from watchkeeper.runtime import Runtime

__all__ = ["demo_command"]


def demo_command(
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Folder to build it in (default: the default workspace)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing workspace there.")] = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if a workspace exists.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed builds the same rows.")] = DEMO_SEED,
    scale: Annotated[float, typer.Option(min=0.01, max=10.0, hidden=True)] = 1.0,
    end: Annotated[
        str,
        typer.Option(help="When the 30 days end: 'today' (UTC midnight, so ago() finds data) or a datetime."),
    ] = "today",
) -> None:
    """Build a demo workspace: 30 days of telemetry from a synthetic company, with attacks hidden in it."""
    settings = load_settings()
    target = workspace or settings.workspace_path()
    if demo_exists(target) and not force:
        if if_missing:
            note(f"demo: a workspace already exists at {target}; keeping it")
            _register(settings, target)
            return
        raise fail(f"error: {target} already holds a workspace; pass --force to replace it")
    note(f"building the demo workspace in {target} ...")
    build = build_demo(
        target,
        seed=seed,
        scale=scale,
        replace=force,
        end=_end_of_window(end),
        progress=lambda line: note(f"  {line}"),
    )
    _summarise(build)
    _register(settings, target)


def _register(settings: Settings, target: Path) -> None:
    """A demo built under the data directory becomes the ``demo`` tenant's workspace, with an app
    that may do everything; its credentials are printed (and kept for ``wk serve`` to print)."""
    from watchkeeper.flows import provision_demo
    from watchkeeper.runtime import Runtime

    try:
        folder = target.resolve().relative_to(settings.data_dir.resolve())
    except ValueError:
        return  # a demo built elsewhere is a plain workspace folder, for `wk query --workspace`
    with user_errors(), Runtime(settings) as runtime:
        access = provision_demo(runtime, Actor.cli(), folder.as_posix())
        _detect(runtime, access, target)
    note(f"demo tenant {access.tenant_id}, workspace {access.workspace_id}")
    note(f"demo app: client id {access.client_id}, client secret {access.client_secret}")
    if access.console_user:
        note(f"demo console user: {access.console_user}, password {access.console_password} (tenant demo)")


def _detect(runtime: Runtime, access: DemoAccess, target: Path) -> None:
    """The demo rules over the demo's days: alerts and incidents to work from the first start."""
    from watchkeeper.directory import find_workspace
    from watchkeeper.flows.demo import enable_demo_detections

    manifest = Manifest.read(target)
    with runtime.database.session() as session:
        workspace = find_workspace(session, tenant_id=access.tenant_id, ref=access.workspace_id)
    if workspace is None:
        return
    outcomes = enable_demo_detections(runtime, Actor.cli(), workspace, manifest.start, manifest.end)
    if outcomes:
        alerts = sum(len(o.alerts) for o in outcomes)
        note(
            f"demo: {len(outcomes)} analytics rules ran over the {DEMO_DAYS} days and raised {alerts} alerts"
        )


def _end_of_window(text: str) -> datetime:
    if text.strip().lower() == "today":
        now = datetime.now(UTC)
        return datetime(now.year, now.month, now.day, tzinfo=UTC)
    try:
        return parse_datetime_text(text)
    except ValueError:
        raise fail(f"error: --end must be 'today' or a datetime, not {text!r}") from None


def _summarise(build: DemoBuild) -> None:
    manifest = build.manifest
    console = stdout_console()
    console.print(
        f"Built {manifest.total_rows:,} rows from {manifest.hosts} hosts and {manifest.users:,} users, "
        f"{manifest.start:%Y-%m-%d} to {manifest.end:%Y-%m-%d} (UTC), in {build.seconds:.1f} s."
    )
    attacks = Table("Attack", "When (UTC)", "Where", "Tables", title="Injected attacks")
    for attack in manifest.attacks:
        where = ", ".join(attack.hosts + attack.source_ips)
        attacks.add_row(
            Text(attack.name), f"{attack.start:%Y-%m-%d %H:%M}", Text(where), ", ".join(attack.rows)
        )
    console.print(attacks)
    console.print(f"Manifest with the hunting queries: {build.path / MANIFEST_FILE}")
    console.print(
        Text(
            f'Try: wk query --workspace {build.path} "SecurityEvent | where EventID == 1102 | project TimeGenerated, '
            'Computer, Account"'
        )
    )
