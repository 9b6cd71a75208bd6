"""``wk tenants``, ``wk workspaces``, ``wk apps`` and ``wk users``: the directory, from the server's
shell. Every change is audited (actor: the operator's OS account)."""

from __future__ import annotations

from typing import Annotated

import typer

from watchkeeper.audit import Actor
from watchkeeper.cli.console import fail
from watchkeeper.cli.platform import DataDirOption, Format, FormatOption, emit, open_runtime
from watchkeeper.directory import (
    ROLES,
    create_app,
    create_tenant,
    create_user,
    create_workspace,
    find_tenant,
    list_apps,
    list_tenants,
    list_workspaces,
)
from watchkeeper.runtime import Runtime

__all__ = ["apps", "tenants", "users", "workspaces"]

tenants = typer.Typer(
    help="Tenants: the unit of isolation; each owns workspaces, apps and users.", no_args_is_help=True
)
workspaces = typer.Typer(help="Workspaces: each holds one event store.", no_args_is_help=True)
apps = typer.Typer(help="App registrations: client credentials and roles.", no_args_is_help=True)
users = typer.Typer(help="Console users.", no_args_is_help=True)

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's id (or name).")]


def _tenant_id(runtime: Runtime, ref: str) -> str:
    with runtime.database.session() as session:
        found = find_tenant(session, ref=ref)
    if found is None:
        raise fail(f"error: no tenant {ref!r} (see `wk tenants list`)")
    return found.id


@tenants.command("create")
def tenants_create(name: str, data_dir: DataDirOption = None, fmt: FormatOption = Format.table) -> None:
    """Create a tenant; prints its id."""
    with open_runtime(data_dir) as runtime, runtime.database.session() as session:
        tenant = create_tenant(session, name=name, actor=Actor.cli())
    emit({"id": tenant.id, "name": tenant.name}, fmt)


@tenants.command("list")
def tenants_list(data_dir: DataDirOption = None, fmt: FormatOption = Format.table) -> None:
    """Every tenant of this server."""
    with open_runtime(data_dir) as runtime, runtime.database.session() as session:
        found = list_tenants(session)
    emit([{"id": t.id, "name": t.name, "createdAt": t.created_at.isoformat()} for t in found], fmt,
         columns=["id", "name", "createdAt"])  # fmt: skip


@workspaces.command("create")
def workspaces_create(
    name: str, tenant: TenantOption, data_dir: DataDirOption = None, fmt: FormatOption = Format.table
) -> None:
    """Create a workspace of a tenant; prints its id (the id clients put in query URLs)."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            workspace = create_workspace(session, tenant_id=tenant_id, name=name, actor=Actor.cli())
    emit({"id": workspace.id, "name": workspace.name, "tenantId": workspace.tenant_id}, fmt)


@workspaces.command("list")
def workspaces_list(
    tenant: TenantOption, data_dir: DataDirOption = None, fmt: FormatOption = Format.table
) -> None:
    """A tenant's workspaces."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            found = list_workspaces(session, tenant_id=tenant_id)
    emit(
        [{"id": w.id, "name": w.name, "folder": w.folder} for w in found],
        fmt,
        columns=["id", "name", "folder"],
    )


@apps.command("create")
def apps_create(
    name: str,
    tenant: TenantOption,
    role: Annotated[
        list[str], typer.Option("--role", "-r", help="A role to grant (repeat; see `wk apps roles`).")
    ],
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Register an app. Its client secret is printed this once and stored only as a hash."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            app = create_app(session, tenant_id=tenant_id, name=name, roles=role, actor=Actor.cli())
    emit({"clientId": app.client_id, "clientSecret": app.client_secret, "tenantId": app.tenant_id,
          "id": app.id, "roles": app.roles}, fmt)  # fmt: skip


@apps.command("list")
def apps_list(tenant: TenantOption, data_dir: DataDirOption = None, fmt: FormatOption = Format.table) -> None:
    """A tenant's apps (never their secrets)."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            found = list_apps(session, tenant_id=tenant_id)
    emit([{"clientId": a.client_id, "name": a.name, "roles": a.roles} for a in found], fmt,
         columns=["clientId", "name", "roles"])  # fmt: skip


@apps.command("roles")
def apps_roles(fmt: FormatOption = Format.table) -> None:
    """The roles an app or user can hold."""
    emit(
        [{"role": name, "grants": meaning} for name, meaning in ROLES.items()],
        fmt,
        columns=["role", "grants"],
    )


@users.command("create")
def users_create(
    username: str,
    tenant: TenantOption,
    role: Annotated[list[str] | None, typer.Option("--role", "-r", help="A role to grant (repeat).")] = None,
    password: Annotated[
        str | None, typer.Option(help="The password (asked for when omitted; at least 12 characters).")
    ] = None,
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Create a console user; the password is stored only as an argon2id hash."""
    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            user = create_user(session, tenant_id=tenant_id, username=username, password=secret,
                               roles=role or [], actor=Actor.cli())  # fmt: skip
    emit({"id": user.id, "username": user.username, "tenantId": user.tenant_id, "roles": user.roles}, fmt)
