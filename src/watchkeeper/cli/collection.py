"""``wk dcr`` (data collection rules for the Logs Ingestion API) and ``wk workspaces keys`` (the
shared keys the HTTP Data Collector API signs with). Changes are audited (actor: the operator's OS
account)."""

from __future__ import annotations

from typing import Annotated

import typer

from watchkeeper.audit import Actor
from watchkeeper.cli.console import fail
from watchkeeper.cli.platform import DataDirOption, Format, FormatOption, emit, open_runtime
from watchkeeper.directory import WorkspaceRead, find_tenant, find_workspace
from watchkeeper.directory.shared_keys import KEY_NAMES, shared_keys
from watchkeeper.ingest.rules import StreamColumn, StreamRoute, create_rule, list_rules
from watchkeeper.ingest.transform import DECLARED_TYPES
from watchkeeper.runtime import Runtime

__all__ = ["dcr", "workspaces_keys"]

dcr = typer.Typer(
    help="Data collection rules: route a Logs Ingestion API stream to a workspace's table.",
    no_args_is_help=True,
)

_TYPES = ", ".join(DECLARED_TYPES)

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's id (or name).")]


def _tenant_id(runtime: Runtime, ref: str) -> str:
    with runtime.database.session() as session:
        found = find_tenant(session, ref=ref)
    if found is None:
        raise fail(f"error: no tenant {ref!r} (see `wk tenants list`)")
    return found.id


def _workspace(runtime: Runtime, tenant: str, ref: str) -> WorkspaceRead:
    tenant_id = _tenant_id(runtime, tenant)
    with runtime.database.session() as session:
        found = find_workspace(session, tenant_id=tenant_id, ref=ref)
    if found is None:
        raise fail(f"error: tenant {tenant!r} has no workspace {ref!r} (see `wk workspaces list`)")
    return found


def _columns(text: str | None) -> list[StreamColumn]:
    """``Name:type,Name:type`` as declared columns."""
    if not text:
        return []
    columns = []
    for item in text.split(","):
        name, sep, kind = item.strip().partition(":")
        if not sep:
            raise fail(f"error: --columns takes NAME:TYPE pairs separated by commas, not {item!r}")
        columns.append(StreamColumn(name=name.strip(), type=kind.strip().lower()))
    return columns


@dcr.command("create")
def dcr_create(
    name: str,
    tenant: TenantOption,
    workspace: Annotated[
        str, typer.Option("--workspace", "-w", help="The workspace it sends to (id or name).")
    ],
    stream: Annotated[str, typer.Option(help="The stream: Custom-<Name> or Microsoft-<Table>.")],
    table: Annotated[
        str | None,
        typer.Option(help="The output table (X_CL, or a catalog table); Microsoft-<Table>: <Table>."),
    ] = None,
    transform: Annotated[
        str | None, typer.Option(help="transformKql over `source`, e.g. 'source | where Level != \"debug\"'.")
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help=f"Declared stream columns: NAME:TYPE,... ({_TYPES}).")
    ] = None,
    immutable_id: Annotated[
        str | None,
        typer.Option(help="Keep a rule's Azure immutable id (dcr-...), so shippers need no change."),
    ] = None,
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Create a data collection rule; prints its immutable id (what senders put in the URL)."""
    output = table or (stream.removeprefix("Microsoft-") if stream.startswith("Microsoft-") else None)
    if output is None:
        raise fail("error: a Custom- stream needs --table (a custom table ends in _CL)")
    route = StreamRoute(stream=stream, table=output, transformKql=transform, columns=_columns(columns))
    with open_runtime(data_dir) as runtime:
        found = _workspace(runtime, tenant, workspace)
        with runtime.database.session() as session:
            rule = create_rule(session, tenant_id=found.tenant_id, workspace_id=found.id, name=name,
                               streams=[route], actor=Actor.cli(), immutable_id=immutable_id)  # fmt: skip
    emit(rule.to_json(), fmt)


@dcr.command("list")
def dcr_list(tenant: TenantOption, data_dir: DataDirOption = None, fmt: FormatOption = Format.table) -> None:
    """A tenant's data collection rules."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            rules = list_rules(session, tenant_id=tenant_id)
    rows = [rule.to_json() for rule in rules]
    if fmt is Format.table:
        rows = [row | {"streams": [f"{s['stream']} -> {s['table']}" for s in row["streams"]]} for row in rows]
    emit(rows, fmt, columns=["immutableId", "name", "workspaceId", "streams"])


def workspaces_keys(
    workspace: str,
    tenant: TenantOption,
    regenerate: Annotated[
        str | None, typer.Option(help=f"Replace one key first: {' or '.join(KEY_NAMES)}.")
    ] = None,
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """A workspace's shared keys for the HTTP Data Collector API (made the first time they are
    asked for). They are secrets: anyone holding one can write to the workspace."""
    with open_runtime(data_dir) as runtime:
        found = _workspace(runtime, tenant, workspace)
        with runtime.database.session() as session:
            keys = shared_keys(session, workspace=found.id, actor=Actor.cli(), regenerate=regenerate)
    emit(keys.to_json(), fmt)
