"""``wk providers``: alert providers (other products' alerts, issue #6 part 4).

- ``add NAME --tenant T --workspace W --kind suricata|graph|webhook [--setting k=v]... [--secret k]...``:
  settings are ``key=value`` (a value that reads as JSON is taken as JSON: numbers, booleans);
  each secret (``clientSecret`` for ``graph``) is prompted for without echo, so it is in no shell
  history or process list, and is never printed again.
- ``list [--tenant T]``: providers with their kind, workspace and setting names (secrets: names only).
- ``run NAME --tenant T``: pull the provider now; prints what it took in.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from watchkeeper.audit import Actor
from watchkeeper.cli.console import fail
from watchkeeper.cli.platform import DataDirOption, Format, FormatOption, emit, open_runtime
from watchkeeper.connectors.service import find_provider, list_providers
from watchkeeper.directory import TenantRead, WorkspaceRead, find_tenant, find_workspace
from watchkeeper.errors import WatchkeeperError
from watchkeeper.flows.providers import add_provider, run_provider
from watchkeeper.runtime import Runtime

__all__ = ["providers"]

providers = typer.Typer(
    help="Alert providers: Suricata, Microsoft Graph Security, webhooks.", no_args_is_help=True
)
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's id or name.")]


def _tenant(runtime: Runtime, ref: str) -> TenantRead:
    with runtime.database.session() as session:
        found = find_tenant(session, ref=ref)
    if found is None:
        raise fail(f"error: no tenant {ref!r} (see `wk tenants list`)")
    return found


def _workspace(runtime: Runtime, tenant: TenantRead, ref: str) -> WorkspaceRead:
    with runtime.database.session() as session:
        found = find_workspace(session, tenant_id=tenant.id, ref=ref)
    if found is None:
        raise fail(f"error: tenant {tenant.name} has no workspace {ref!r}")
    return found


def _settings(pairs: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"error: --setting {pair!r}: expected key=value")
        try:
            settings[key] = json.loads(value)
        except ValueError:
            settings[key] = value
    return settings


@providers.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The provider's name (unique in the tenant).")],
    tenant: TenantOption,
    kind: Annotated[str, typer.Option("--kind", "-k", help="suricata, graph, webhook, or a plugin's kind.")],
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Where its alerts go.")] = "default",
    setting: Annotated[
        list[str] | None, typer.Option("--setting", "-s", help="key=value, repeatable.")
    ] = None,
    secret: Annotated[
        list[str] | None, typer.Option("--secret", help="A secret's name; prompted for.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Configure an alert provider."""
    with open_runtime(data_dir) as runtime:
        owner = _tenant(runtime, tenant)
        target = _workspace(runtime, owner, workspace)
        secrets = {key: typer.prompt(f"{key}", hide_input=True) for key in secret or []}
        try:
            added = add_provider(runtime, Actor.cli(), target, name=name, kind=kind,
                                 settings=_settings(setting or []), secrets=secrets)  # fmt: skip
        except WatchkeeperError as exc:
            raise fail(f"error: {exc}") from None
    typer.echo(f"provider {added.name} ({added.kind}) added: alerts go to workspace {target.name}")


@providers.command("list")
def list_command(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only this tenant's.")] = None,
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The configured providers (secrets by name only)."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant(runtime, tenant).id if tenant else None
        with runtime.database.session() as session:
            found = list_providers(session, tenant_id=tenant_id)
    rows = [{"name": p.name, "kind": p.kind, "tenant": p.tenant_id, "workspace": p.workspace_id,
             "settings": json.dumps(p.settings), "secrets": ",".join(p.secret_names)} for p in found]  # fmt: skip
    emit(rows, fmt, columns=["name", "kind", "tenant", "workspace", "settings", "secrets"])


@providers.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help="The provider's name.")],
    tenant: TenantOption,
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Pull a provider now and take in what it has."""
    with open_runtime(data_dir) as runtime:
        owner = _tenant(runtime, tenant)
        with runtime.database.session() as session:
            found = find_provider(session, tenant_id=owner.id, name=name)
        if found is None:
            raise fail(f"error: tenant {owner.name} has no provider {name!r} (see `wk providers list`)")
        outcome = run_provider(runtime, Actor.cli(), found)
    emit(asdict(outcome), fmt)
    if outcome.error is not None:
        raise fail(f"error: {outcome.error}")
