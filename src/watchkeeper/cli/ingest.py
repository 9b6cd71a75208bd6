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
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from watchkeeper.cli.console import fail, load_settings, open_workspace, user_errors
from watchkeeper.cli.query import WorkspaceOption
from watchkeeper.ingest import Parser, detect_parser, parser_named
from watchkeeper.ingest.parsers.base import DESTINATION, Parsed
from watchkeeper.ingest.sources import Source, sources_at
from watchkeeper.schema.catalog import is_custom_table_name
from watchkeeper.workspace import IngestTally, Workspace

__all__ = ["WRITE_ROWS", "IngestRun", "SummaryFormat", "ingest_command", "ingest_sources"]


class SummaryFormat(StrEnum):
    """How ``wk ingest`` prints its summary."""

    table = "table"
    json = "json"


@dataclass
class IngestRun:
    """One ingestion run: what was stored, and the sources no parser recognised."""

    tally: IngestTally = field(default_factory=IngestTally)
    skipped: list[str] = field(default_factory=list)  # why each skipped source was skipped
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
            run = ingest_sources(ws, sources, forced, table, quiet=summary is SummaryFormat.json)
    _print_summary(run, summary)
    if run.rows == 0 and (run.tally.rejected or run.skipped):
        raise typer.Exit(1)


def _check_table_name(table: str | None) -> None:
    from watchkeeper.schema.catalog import Catalog

    if table and Catalog.sentinel().table(table) is None and not is_custom_table_name(table):
        raise fail(f"error: '{table}' is not a table of the catalog; custom tables must end in _CL")


# rows gathered (over batches, and over files of one format) before they are stored together: a
# store appends large batches much faster than many small ones (each append of a wide table costs
# tens of milliseconds however few its rows); DuckDB writes whole row groups (122,880 rows) straight
# to the file, and the rest through its write-ahead log
WRITE_ROWS = 122_880


@dataclass
class _Pending:
    """One format's batches gathered for one write, and the sources they came from."""

    parser: Parser
    batch: Parsed = field(default_factory=Parsed)
    sources: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        """What rows the store refuses are attributed to (records the parser could not read
        keep their own file and line)."""
        more = len(self.sources) - 1
        return self.sources[0] + (f" (and {more} more files)" if more else "")


def ingest_sources(ws: Workspace, sources: list[Source], forced: Parser | None, table: str | None, *,
                   quiet: bool = True) -> IngestRun:  # fmt: skip
    """Store ``sources`` in ``ws`` as ``wk ingest`` does: each file's format detected (unless
    ``forced``), files of one format gathered into writes of :data:`WRITE_ROWS` rows."""
    run = IngestRun()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    pending: dict[str, _Pending] = {}
    with Progress(*columns, transient=True, disable=quiet or not sys.stderr.isatty()) as progress:
        task = progress.add_task("reading", total=None)
        for source in sources:
            parser = forced or detect_parser(source.head(), source.filename)
            if parser is None:
                run.skipped.append(f"skipped {source.name}: no known format (name one with --input-format)")
            elif DESTINATION in parser.tables and table is None:
                run.skipped.append(
                    f"skipped {source.name}: {parser.name} data needs --table to say where it goes"
                )
            else:
                gathered = pending.setdefault(parser.name, _Pending(parser))
                _read_source(ws, source, gathered, table, run)
                progress.update(task, description=_progress(source, run))
        for gathered in pending.values():
            _write(ws, gathered, table, run)
        progress.update(task, description="storing the last batches")
        ws.flush()
    return run


def _read_source(
    ws: Workspace, source: Source, gathered: _Pending, table: str | None, run: IngestRun
) -> None:
    gathered.sources.append(source.name)
    with source.open() as stream:
        for batch in gathered.parser.parse(stream, source.name):
            gathered.batch.merge(batch)
            if gathered.batch.rows + len(gathered.batch.rejected) >= WRITE_ROWS:
                _write(ws, gathered, table, run)
                gathered.sources.append(source.name)


def _write(ws: Workspace, gathered: _Pending, table: str | None, run: IngestRun) -> None:
    if gathered.batch.rows or gathered.batch.rejected:
        tally = ws.submit(gathered.batch, source=gathered.source, input_format=gathered.parser.name,
                          destination=table)  # fmt: skip
        run.tally.add(tally)
    gathered.batch, gathered.sources = Parsed(), []


def _progress(source: Source, run: IngestRun) -> str:
    rate = run.rows / max(time.monotonic() - run.started, 1e-6)
    return f"{source.filename}: {run.rows:,} rows stored, {rate:,.0f} rows/s"


def _print_summary(run: IngestRun, summary: SummaryFormat) -> None:
    for reason in run.skipped:
        typer.echo(reason, err=True)
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
