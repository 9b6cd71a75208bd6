"""``wk watchlists create|list|show|delete``: the watchlists rules read with ``_GetWatchlist``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from watchkeeper.cli.console import fail, load_settings, open_workspace, user_errors
from watchkeeper.cli.platform import Format, FormatOption, emit
from watchkeeper.cli.query import WorkspaceOption
from watchkeeper.workspace_lists import Watchlist

__all__ = ["watchlists"]

watchlists = typer.Typer(help="Watchlists: CSV tables that rules read with _GetWatchlist('alias').",
                         no_args_is_help=True)  # fmt: skip

AliasArgument = Annotated[str, typer.Argument(help="The watchlist alias rules name in _GetWatchlist().")]


@watchlists.command("create")
def create_command(
    alias: AliasArgument,
    file: Annotated[
        Path, typer.Argument(help="CSV file: a header line naming the columns, then one item a line.")
    ],
    search_key: Annotated[
        str | None,
        typer.Option("--search-key", "-k", help="The column whose value is SearchKey (default: the first)."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Put these items in place of an existing watchlist's.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a watchlist from a CSV file (column types are inferred: long, real, datetime, bool, string)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"error: cannot read {file}: {exc}") from None
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings, create=True) as ws:
        created = ws.watchlists.create(alias, text, search_key=search_key, source=file.name, replace=replace)
    verb = "replaced" if replace else "created"
    typer.echo(
        f"watchlist '{alias}' {verb}: {created.item_count} items, search key '{created.schema.search_key}'"
    )


@watchlists.command("list")
def list_command(workspace: WorkspaceOption = None, fmt: FormatOption = Format.table) -> None:
    """List the workspace's watchlists with their item counts."""
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings) as ws:
        found = ws.watchlists.list_all()
    emit([_summary(w) for w in found], fmt, columns=["alias", "items", "searchKey", "source", "updated"])


@watchlists.command("show")
def show_command(
    alias: AliasArgument, workspace: WorkspaceOption = None, fmt: FormatOption = Format.table
) -> None:
    """Show a watchlist's columns (with their types) and item count."""
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings) as ws:
        found = ws.watchlists.get(alias)
    if fmt is Format.json:
        emit(
            {**_summary(found), "columns": [{"name": n, "type": t.value} for n, t in found.schema.columns]},
            fmt,
        )
        return
    emit(_summary(found), fmt, columns=["alias", "items", "searchKey", "source", "updated"])
    emit([{"column": n, "type": t.value} for n, t in found.schema.columns], fmt)


@watchlists.command("delete")
def delete_command(alias: AliasArgument, workspace: WorkspaceOption = None) -> None:
    """Delete a watchlist and its items (rules that read it then fail, naming it)."""
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings) as ws:
        ws.watchlists.delete(alias)
    typer.echo(f"watchlist '{alias}' deleted")


def _summary(watchlist: Watchlist) -> dict[str, Any]:
    updated = watchlist.updated.isoformat() if watchlist.updated is not None else None
    return {"alias": watchlist.alias, "items": watchlist.item_count, "searchKey": watchlist.schema.search_key,
            "source": watchlist.source, "updated": updated}  # fmt: skip
