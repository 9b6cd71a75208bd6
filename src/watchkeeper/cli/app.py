"""The ``wk`` command: one typer application, one module per command family."""

from __future__ import annotations

from typing import Annotated

import typer

from watchkeeper import __version__
from watchkeeper.cli.audit import audit_command
from watchkeeper.cli.cases import alerts, incidents
from watchkeeper.cli.collection import dcr, workspaces_keys
from watchkeeper.cli.demo import demo_command
from watchkeeper.cli.detections import coverage_command, rules
from watchkeeper.cli.directory import apps, tenants, users, workspaces
from watchkeeper.cli.functions import functions
from watchkeeper.cli.ingest import ingest_command
from watchkeeper.cli.keys import keys
from watchkeeper.cli.posture import score
from watchkeeper.cli.providers import providers
from watchkeeper.cli.query import compile_command, query_command
from watchkeeper.cli.serve import serve_command
from watchkeeper.cli.tables import tables_command
from watchkeeper.cli.watchlists import watchlists

__all__ = ["app", "main"]

app = typer.Typer(
    name="wk",
    help="watchkeeper: a self-hosted security operations platform. Hunt with KQL, serve it over HTTP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("query")(query_command)
app.command("compile")(compile_command)
app.command("tables")(tables_command)
app.command("ingest")(ingest_command)
app.command("demo")(demo_command)
app.command("serve")(serve_command)
app.command("audit")(audit_command)
app.command("coverage")(coverage_command)
app.add_typer(tenants, name="tenants")
app.add_typer(workspaces, name="workspaces")
app.add_typer(apps, name="apps")
app.add_typer(users, name="users")
app.add_typer(keys, name="keys")
app.add_typer(dcr, name="dcr")
app.add_typer(rules, name="rules")
app.add_typer(alerts, name="alerts")
app.add_typer(incidents, name="incidents")
app.add_typer(providers, name="providers")
app.add_typer(score, name="score")
app.add_typer(watchlists, name="watchlists")
app.add_typer(functions, name="functions")
workspaces.command("keys")(workspaces_keys)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"watchkeeper {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """watchkeeper: a self-hosted security operations platform."""


def main() -> None:
    """Entry point of the ``wk`` script and ``python -m watchkeeper``."""
    app(prog_name="wk")
