"""``wk tenants``, ``wk workspaces``, ``wk apps`` and ``wk users``: the directory, from the server's
shell. Every change is audited (actor: the operator's OS account). ``wk users grant``/``revoke``
give a managing tenant's user roles in a customer tenant (delegated access, audited in both)."""

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
from watchkeeper.directory.delegations import (
    DelegationRead,
    delegations_into,
    grant_delegation,
    revoke_delegation,
)
from watchkeeper.directory.service import list_users
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


CustomerOption = Annotated[str, typer.Option("--customer", "-c", help="The customer tenant's id (or name).")]


def _delegation_row(found: DelegationRead) -> dict[str, object]:
    return {"user": found.username, "tenant": found.managing_tenant, "customer": found.customer_tenant,
            "roles": found.roles, "createdBy": found.created_by, "createdAt": found.created_at.isoformat()}  # fmt: skip


@users.command("grant")
def users_grant(
    username: str,
    tenant: TenantOption,
    customer: CustomerOption,
    role: Annotated[
        list[str], typer.Option("--role", "-r", help="A role to hold in the customer tenant (repeat).")
    ],
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Give a user of --tenant (the managing tenant) roles in --customer: the console's tenant switcher
    then offers it. Granting again replaces the roles. Audited in both tenants."""
    with open_runtime(data_dir) as runtime:
        managing, customer_id = _tenant_id(runtime, tenant), _tenant_id(runtime, customer)
        with runtime.database.session() as session:
            found = grant_delegation(session, managing_tenant_id=managing, username=username,
                                     customer_tenant_id=customer_id, roles=role, actor=Actor.cli())  # fmt: skip
    emit(_delegation_row(found), fmt)


@users.command("revoke")
def users_revoke(
    username: str, tenant: TenantOption, customer: CustomerOption, data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Take a user's access to --customer away; a console session there is back home at its next
    request. Audited in both tenants."""
    with open_runtime(data_dir) as runtime:
        managing, customer_id = _tenant_id(runtime, tenant), _tenant_id(runtime, customer)
        with runtime.database.session() as session:
            found = revoke_delegation(session, managing_tenant_id=managing, username=username,
                                      customer_tenant_id=customer_id, actor=Actor.cli())  # fmt: skip
    emit({**_delegation_row(found), "revoked": True}, fmt)


@users.command("list")
def users_list(
    tenant: TenantOption, data_dir: DataDirOption = None, fmt: FormatOption = Format.table
) -> None:
    """A tenant's console users with their roles, then the delegations it gave its users into
    customer tenants and those other tenants' users hold into it (``tenant`` is the user's own)."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            own, delegated = (
                list_users(session, tenant_id=tenant_id),
                delegations_into(session, tenant_id=tenant_id),
            )
    rows = [{"user": u.username, "tenant": tenant, "customer": "", "roles": u.roles, "disabled": u.disabled}
            for u in own]  # fmt: skip
    rows += [{**_delegation_row(d), "disabled": False} for d in delegated]
    emit(rows, fmt, columns=["user", "tenant", "customer", "roles", "disabled"])
