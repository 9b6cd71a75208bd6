"""``wk ingest PATH``: take in files of security logs.

``PATH`` is a file or a folder (every file in it); ``.gz`` files and ``.zip``/``.tar`` archives are
read in place. Each file's format is detected (the first registered parser that recognises it,
specific formats before generic ones) unless ``--input-format`` names it. Generic formats (NDJSON,
CSV, Parquet) need ``--table``; the log formats know their tables. Records that cannot be stored go
to ``IngestionErrors`` with the reason; the summary counts rows per table and rejected records
(``--format json``: ``{"tables": {"TABLE": ROWS, ...}, "rejected": N}``).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from watchkeeper.cli.console import fail, load_settings, open_workspace, user_errors
from watchkeeper.cli.query import WorkspaceOption
from watchkeeper.ingest import Parser, detect_parser, parser_named
from watchkeeper.ingest.parsers.base import DESTINATION
from watchkeeper.ingest.sources import Source, sources_at
from watchkeeper.schema.catalog import is_custom_table_name
from watchkeeper.workspace import IngestTally, Workspace

__all__ = ["SummaryFormat", "ingest_command"]


class SummaryFormat(StrEnum):
    """How ``wk ingest`` prints its summary."""

    table = "table"
    json = "json"


@dataclass
class _Run:
    """One ingestion run: what was stored, and the sources no parser recognised."""

    tally: IngestTally = field(default_factory=IngestTally)
    unrecognised: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def rows(self) -> int:
        return sum(self.tally.tables.values())


def ingest_command(
    path: Annotated[
        Path, typer.Argument(exists=True, readable=True, metavar="PATH", help="A file or a folder to ingest.")
    ],
    table: Annotated[
        str | None,
        typer.Option(
            "--table", "-t", help="Destination of NDJSON, CSV or Parquet data (a new one ends in _CL)."
        ),
    ] = None,
    input_format: Annotated[
        str | None,
        typer.Option("--input-format", "-i", help="The input format (default: detected per file)."),
    ] = None,
    workspace: WorkspaceOption = None,
    summary: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="Summary format: table, or json for scripts.")
    ] = SummaryFormat.table,
) -> None:
    """Ingest log files (EVTX, Zeek, Suricata, CloudTrail, ... NDJSON, CSV, Parquet), archives too."""
    settings = load_settings()
    with user_errors():
        forced = parser_named(input_format) if input_format else None
        if forced is not None and DESTINATION in forced.tables and table is None:
            raise fail(f"error: {forced.name} data names no table: pass --table")
        _check_table_name(table)
        sources = list(sources_at(path))
        with open_workspace(workspace, settings, create=True) as ws:
            run = _ingest_all(ws, sources, forced, table, quiet=summary is SummaryFormat.json)
    _print_summary(run, summary)
    if run.rows == 0 and (run.tally.rejected or run.unrecognised):
        raise typer.Exit(1)


def _check_table_name(table: str | None) -> None:
    from watchkeeper.schema.catalog import Catalog

    if table and Catalog.sentinel().table(table) is None and not is_custom_table_name(table):
        raise fail(f"error: '{table}' is not a table of the catalog; custom tables must end in _CL")


def _ingest_all(ws: Workspace, sources: list[Source], forced: Parser | None, table: str | None, *,
                quiet: bool) -> _Run:  # fmt: skip
    run = _Run()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=True, disable=quiet or not sys.stderr.isatty()) as progress:
        task = progress.add_task("reading", total=None)
        for source in sources:
            parser = forced or detect_parser(source.head(), source.filename)
            if parser is None:
                run.unrecognised.append(source.name)
                continue
            _ingest_source(ws, source, parser, table, run, progress, task)
    return run


def _ingest_source(ws: Workspace, source: Source, parser: Parser, table: str | None, run: _Run,
                   progress: Progress, task: TaskID) -> None:  # fmt: skip
    if DESTINATION in parser.tables and table is None:
        run.unrecognised.append(f"{source.name} ({parser.name}: pass --table to say where it goes)")
        return
    with source.open() as stream:
        for batch in parser.parse(stream, source.name):
            tally = ws.ingest_parsed(batch, source=source.name, input_format=parser.name, destination=table)
            run.tally.add(tally)
            rate = run.rows / max(time.monotonic() - run.started, 1e-6)
            progress.update(task, description=f"{source.filename}: {run.rows:,} rows, {rate:,.0f} rows/s")


def _print_summary(run: _Run, summary: SummaryFormat) -> None:
    for name in run.unrecognised:
        typer.echo(f"skipped {name}: no known format (name one with --input-format)", err=True)
    if summary is SummaryFormat.json:
        typer.echo(
            json.dumps({"tables": dict(sorted(run.tally.tables.items())), "rejected": run.tally.rejected})
        )
        return
    for name, rows in sorted(run.tally.tables.items()):
        typer.echo(f"{name}: {rows:,} rows")
    seconds = time.monotonic() - run.started
    typer.echo(f"wrote {run.rows:,} rows in {seconds:.1f} s; rejected {run.tally.rejected:,}"
               + (" (see the IngestionErrors table)" if run.tally.rejected else ""))  # fmt: skip
