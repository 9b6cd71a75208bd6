"""What the platform commands share: a :class:`Runtime` over ``--data-dir``, and output as a table
or as JSON (``--format json``, for scripts)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from watchkeeper.cli.console import load_settings, stdout_console, user_errors
from watchkeeper.runtime import Runtime

__all__ = ["DataDirOption", "Format", "FormatOption", "emit", "open_runtime"]


class Format(StrEnum):
    table = "table"
    json = "json"


DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: settings, ./var).", show_default=False),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table, or json for scripts.")]


@contextmanager
def open_runtime(data_dir: Path | None) -> Iterator[Runtime]:
    """The runtime over the settings (``--data-dir`` wins); errors end the command with a message."""
    settings = load_settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    with user_errors(), Runtime(settings) as runtime:
        yield runtime


def emit(
    data: dict[str, Any] | Sequence[dict[str, Any]], fmt: Format, *, columns: Sequence[str] | None = None
) -> None:
    """Print ``data`` as JSON, or as a table (one row per dict)."""
    if fmt is Format.json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    rows = [data] if isinstance(data, dict) else list(data)
    names = list(columns or (rows[0].keys() if rows else []))
    table = Table(*names)
    for row in rows:
        table.add_row(*[_cell(row.get(name)) for name in names])
    stdout_console().print(table)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
