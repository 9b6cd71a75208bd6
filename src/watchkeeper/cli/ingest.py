"""``wk ingest FILE --table TABLE``: append a file's records to a workspace table.

The format follows the extension: ``.ndjson``/``.jsonl``/``.json`` (one JSON object per line),
``.csv`` (with a header row), ``.parquet``; ``.gz`` on NDJSON and CSV is decompressed.
Values are coerced to the table's column types; writing to a new ``..._CL`` table creates it.
"""

from __future__ import annotations

import gzip
import json
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import typer

from watchkeeper.cli.console import fail, load_settings, open_workspace, user_errors
from watchkeeper.cli.query import WorkspaceOption
from watchkeeper.errors import IngestError

__all__ = ["FileFormat", "ingest_command", "read_records"]


class FileFormat(StrEnum):
    """File formats ``wk ingest`` reads."""

    ndjson = "ndjson"
    csv = "csv"
    parquet = "parquet"


_EXTENSIONS = {
    ".ndjson": FileFormat.ndjson,
    ".jsonl": FileFormat.ndjson,
    ".json": FileFormat.ndjson,
    ".csv": FileFormat.csv,
    ".parquet": FileFormat.parquet,
    ".pq": FileFormat.parquet,
}


def ingest_command(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, metavar="FILE", help="The file to ingest."
        ),
    ],
    table: Annotated[
        str, typer.Option("--table", "-t", help="Destination table (a new one must end in _CL).")
    ],
    workspace: WorkspaceOption = None,
    file_format: Annotated[
        FileFormat | None, typer.Option("--format", help="File format (default: from the extension).")
    ] = None,
) -> None:
    """Append the records of an NDJSON, CSV or Parquet file to TABLE."""
    settings = load_settings()
    chosen = file_format or detect_format(file)
    with user_errors():
        records = read_records(file, chosen)
        with open_workspace(workspace, settings, create=True) as ws:
            written = ws.ingest(table, records)
            where = ws.path
    typer.echo(f"wrote {written:,} rows to {table} in {where}")


def detect_format(path: Path) -> FileFormat:
    """The format an extension names (``.gz`` looks at the extension before it)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    found = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if found is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise fail(
            f"error: cannot tell the format of {path.name} (known extensions: {known}; or pass --format)"
        )
    return found


def read_records(path: Path, file_format: FileFormat) -> pa.Table | list[dict[str, Any]]:
    """The file's records: an Arrow table (CSV, Parquet) or a list of dicts (NDJSON)."""
    try:
        if file_format is FileFormat.parquet:
            return pq.read_table(path)
        if file_format is FileFormat.csv:
            return pa_csv.read_csv(path)
        with _open_text(path) as stream:
            return _ndjson(stream, path)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read {path} as {file_format.value}: {exc}") from None


def _open_text(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _ndjson(stream: IO[str], path: Path) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IngestError(f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise IngestError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records
