"""Query results on stdout: a rich table for people, JSON or CSV for programs.

All three start from :meth:`QueryResult.to_json`, so a value prints the same way everywhere:
datetimes as ISO 8601 with ``Z``, timespans as ``[d.]hh:mm:ss[.fffffff]``, dynamic values as JSON.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from watchkeeper.cli.console import stdout_console
from watchkeeper.store import QueryResult

__all__ = ["OutputFormat", "cell_text", "render_result"]


class OutputFormat(StrEnum):
    """How ``wk query`` prints its result."""

    table = "table"
    json = "json"
    csv = "csv"


def cell_text(value: Any) -> str:
    """A JSON-safe result value as text: empty for null, lower-case booleans, compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def render_result(result: QueryResult, output: OutputFormat) -> None:
    """Print ``result`` on stdout in ``output`` format."""
    data = result.to_json()
    if output is OutputFormat.json:
        typer.echo(json.dumps(data, ensure_ascii=False))
    elif output is OutputFormat.csv:
        typer.echo(_csv(data), nl=False)
    else:
        _table(data)


def _csv(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column["name"] for column in data["columns"]])
    writer.writerows([cell_text(value) for value in row] for row in data["rows"])
    return buffer.getvalue()


def _table(data: dict[str, Any]) -> None:
    count = len(data["rows"])
    table = Table()
    for column in data["columns"]:
        numeric = column["type"] in ("int", "long", "real", "decimal")
        table.add_column(column["name"], justify="right" if numeric else "left", overflow="fold")
    for row in data["rows"]:
        # Text(), not str: a value like "[red]" is data, not rich markup.
        table.add_row(*(Text(cell_text(value)) for value in row))
    console = stdout_console()
    console.print(table)
    console.print(f"{count} row{'' if count == 1 else 's'}")
