"""``wk audit``: the audit log, read on the server by its operators.

``--tenant`` shows one tenant's entries (queries, token issuances and refusals, denied requests,
directory changes); without it, the server's own entries, which belong to no tenant (signing keys,
for example). Newest first; ``--limit`` entries, ``--before ID`` continues an earlier listing.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from watchkeeper.api.routes.audit import MAX_PAGE, entry_json
from watchkeeper.audit import AuditPage, list_entries
from watchkeeper.cli.console import fail, note
from watchkeeper.cli.platform import DataDirOption, Format, FormatOption, emit, open_runtime
from watchkeeper.directory import find_tenant
from watchkeeper.runtime import Runtime

__all__ = ["audit_command"]

_COLUMNS = ["id", "at", "actor", "action", "target", "outcome", "detail"]
_DETAIL_WIDTH = 120


def _tenant_id(runtime: Runtime, ref: str | None) -> str | None:
    if ref is None:
        return None
    with runtime.database.session() as session:
        found = find_tenant(session, ref=ref)
    if found is None:
        raise fail(f"error: no tenant {ref!r} (see `wk tenants list`)")
    return found.id


def _table_row(entry: dict[str, Any]) -> dict[str, Any]:
    detail = json.dumps(entry["detail"], separators=(",", ":"), default=str)
    shown = detail if len(detail) <= _DETAIL_WIDTH else detail[: _DETAIL_WIDTH - 1] + "…"
    actor = f"{entry['actorKind']}:{entry['actor']}"
    return entry | {"actor": actor, "detail": "" if detail == "{}" else shown}


def _show(page: AuditPage, fmt: Format) -> None:
    entries = [entry_json(entry) for entry in page.entries]
    if fmt is Format.json:
        emit(entries, fmt)
    else:
        emit([_table_row(entry) for entry in entries], fmt, columns=_COLUMNS)
    if page.next_before is not None:
        note(f"more entries: add --before {page.next_before}")


def audit_command(
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", "-t", help="A tenant's id or name (default: the server's own entries)."),
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", "-a", help="Only this action, e.g. query.run, token.issue.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=MAX_PAGE, help="How many entries to show.")
    ] = 50,
    before: Annotated[
        int | None, typer.Option("--before", min=1, help="Only entries older than this id (paging).")
    ] = None,
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The audit log, newest first: who did what, when, and how it ended."""
    with open_runtime(data_dir) as runtime:
        tenant_id = _tenant_id(runtime, tenant)
        with runtime.database.session() as session:
            page = list_entries(session, tenant_id=tenant_id, limit=limit, before=before, action=action)
    _show(page, fmt)
