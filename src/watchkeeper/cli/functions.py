"""``wk functions create|list|show|drop``: KQL functions stored in a workspace (Kusto's
``.create function``), which queries and rules call by name, e.g. a workspace's own ASIM parser."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from watchkeeper.cli.console import fail, load_settings, open_workspace, user_errors
from watchkeeper.cli.platform import Format, FormatOption, emit
from watchkeeper.cli.query import WorkspaceOption
from watchkeeper.workspace_functions import FunctionDefinition

__all__ = ["functions"]

functions = typer.Typer(
    help="Stored functions: KQL functions queries and rules call by name.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="The function's name (a KQL identifier).")]
_COLUMNS = ["name", "parameters", "folder", "docstring"]


@functions.command("create")
def create_command(
    name: NameArgument,
    file: Annotated[
        Path,
        typer.Argument(help="A .kql file holding the body: let statements, then one tabular expression."),
    ],
    parameters: Annotated[
        str, typer.Option("--parameters", "-p", help='The parameter list, e.g. "(since:datetime, T:(*))".')
    ] = "",
    folder: Annotated[str, typer.Option("--folder", help="A folder to file the function under.")] = "",
    docstring: Annotated[str, typer.Option("--docstring", help="What the function is for.")] = "",
    replace: Annotated[bool, typer.Option("--replace", help="Replace a function of the same name.")] = False,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Store a function; its body must compile against the workspace (errors name line and column)."""
    try:
        body = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"error: cannot read {file}: {exc}") from None
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings, create=True) as ws:
        created = ws.functions.create(name, body.rstrip(), parameters=parameters, folder=folder,
                                      docstring=docstring, replace=replace)  # fmt: skip
    if fmt is Format.json:
        emit(_detail(created), fmt)
        return
    typer.echo(
        f"function '{created.name}{created.shown_parameters}' {'stored' if not replace else 'replaced'}"
    )


@functions.command("list")
def list_command(workspace: WorkspaceOption = None, fmt: FormatOption = Format.table) -> None:
    """List the workspace's stored functions."""
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings) as ws:
        found = ws.functions.list_all()
    emit([_summary(d) for d in found], fmt, columns=_COLUMNS)


@functions.command("show")
def show_command(
    name: NameArgument, workspace: WorkspaceOption = None, fmt: FormatOption = Format.table
) -> None:
    """Show a stored function with its body."""
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings) as ws:
        found = ws.functions.get(name)
    if fmt is Format.json:
        emit(_detail(found), fmt)
        return
    emit(_summary(found), fmt, columns=_COLUMNS)
    typer.echo(found.body)


@functions.command("drop")
def drop_command(
    name: NameArgument,
    if_exists: Annotated[
        bool, typer.Option("--if-exists", help="No error when there is no such function.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Remove a stored function (queries that call it then fail, naming it)."""
    settings = load_settings()
    with user_errors(), open_workspace(workspace, settings) as ws:
        dropped = ws.functions.drop(name, if_exists=if_exists)
    typer.echo(f"function '{name}' dropped" if dropped else f"no function '{name}'")


def _summary(definition: FunctionDefinition) -> dict[str, Any]:
    return {"name": definition.name, "parameters": definition.shown_parameters, "folder": definition.folder,
            "docstring": definition.docstring}  # fmt: skip


def _detail(definition: FunctionDefinition) -> dict[str, Any]:
    return {**_summary(definition), "body": definition.body}
