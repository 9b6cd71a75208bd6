"""``wk tables``: which tables a workspace holds, the whole catalog, or one table's schema."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from watchkeeper.cli.console import fail, load_settings, open_workspace, stdout_console, user_errors
from watchkeeper.cli.query import WorkspaceOption
from watchkeeper.workspace import Workspace

__all__ = ["tables_command"]


def tables_command(
    workspace: WorkspaceOption = None,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="List every table of the catalog.")] = False,
    columns: Annotated[
        str | None, typer.Option("--columns", "-c", metavar="TABLE", help="Show the columns of TABLE.")
    ] = None,
) -> None:
    """List the workspace's tables with their row counts (or the catalog, or one table's columns)."""
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings) as ws:
        if columns is not None:
            _print_columns(ws, columns)
        elif show_all:
            _print_catalog(ws)
        else:
            _print_stored(ws)


def _print_columns(ws: Workspace, name: str) -> None:
    table = ws.catalog.table(name)
    if table is None:
        raise fail(f"error: unknown table '{name}' (`wk tables --all` lists the catalog)")
    out = Table("Column", "Type", "Description", title=name)
    for column in table.columns:
        description = column.description if column.alias_of is None else f"alias of {column.alias_of}"
        out.add_row(Text(column.name), column.type.value, Text(description))
    stdout_console().print(out)


def _print_catalog(ws: Workspace) -> None:
    catalog = ws.catalog
    out = Table("Table", "Columns")
    for name in sorted(catalog, key=str.lower):
        out.add_row(Text(name), str(len(catalog[name].columns)))
    console = stdout_console()
    console.print(out)
    console.print(f"{len(catalog)} tables")


def _print_stored(ws: Workspace) -> None:
    names = _stored_tables(ws)
    if not names:
        typer.echo("This workspace holds no tables yet (`wk tables --all` lists the catalog).")
        return
    out = Table("Table", "Rows")
    for name in names:
        count = ws.query(f"['{name}'] | count").rows[0][0]
        out.add_row(Text(name), f"{count:,}")
    stdout_console().print(out)


def _stored_tables(ws: Workspace) -> list[str]:
    return sorted(n for n in ws.store.stored_tables() if ws.catalog.table(n) is not None)
