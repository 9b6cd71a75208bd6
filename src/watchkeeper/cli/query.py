"""``wk query`` runs KQL against a workspace; ``wk compile`` shows the SQL it becomes."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from watchkeeper import kql
from watchkeeper.cli.console import load_settings, note, open_workspace, user_errors
from watchkeeper.cli.render import OutputFormat, render_result
from watchkeeper.schema import Catalog
from watchkeeper.store import QueryLimits

__all__ = ["WorkspaceOption", "compile_command", "query_command"]

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: the data dir's default workspace)."),
]
QueryArgument = Annotated[
    str, typer.Argument(help="The KQL query; '-' reads it from stdin.", show_default=False)
]


class Dialect(StrEnum):
    """SQL dialects the compiler targets."""

    duckdb = "duckdb"
    clickhouse = "clickhouse"


def query_command(
    query: QueryArgument,
    workspace: WorkspaceOption = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
    max_rows: Annotated[int | None, typer.Option(min=1, help="Row limit (default: settings).")] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.001, help="Time limit in seconds (default: settings).")
    ] = None,
) -> None:
    """Run a KQL query and print its result.

    Example: wk query 'SecurityEvent | where EventID == 4625 | summarize count() by IpAddress'
    """
    settings = load_settings()
    text = _read_query(query)
    limits = QueryLimits(
        max_rows=max_rows or settings.query_row_limit, timeout=timeout or settings.query_timeout
    )
    with user_errors(), open_workspace(workspace, settings) as ws:
        result = ws.query(text, limits=limits)
    render_result(result, output)
    for warning in result.warnings:
        note(f"warning: {warning}")


def compile_command(
    query: QueryArgument,
    dialect: Annotated[
        Dialect, typer.Option("--dialect", "-d", help="SQL dialect to generate.")
    ] = Dialect.duckdb,
) -> None:
    """Print the SQL a KQL query compiles to (against the shipped Sentinel table catalog)."""
    text = _read_query(query)
    with user_errors():
        sql = kql.compile(text, Catalog.sentinel(), dialect=dialect.value)
    typer.echo(sql)


def _read_query(query: str) -> str:
    return sys.stdin.read() if query == "-" else query
