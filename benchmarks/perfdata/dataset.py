"""The benchmark dataset: generated once, written through the real event store, cached.

The cache is a workspace folder ``<data_dir>/sentinel-v<GENERATOR_VERSION>-<rows>/`` (database
``events.duckdb``). Tables are created by the store from the Sentinel catalog and filled with
``Workspace.ingest`` (its vectorised Arrow path), so the column types are exactly the ones compiled
queries meet. The folder is built under a temporary name and renamed when complete: an
interrupted build is never reused.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from perfdata import GENERATOR_VERSION
from perfdata import security_events as se
from perfdata import signin_logs as sl
from perfdata.attacks import security_event_attacks, signin_attacks
from perfdata.timeline import DAY_US, START_US, Rows, concat_rows, rows_per_day, select_rows
from perfdata.vocabulary import Vocabulary, build_vocabulary
from watchkeeper import Workspace
from watchkeeper.workspace import EVENTS_FILE

SEED = 20260101
MIN_ROWS = 10_000
_MANIFEST = "manifest.json"
_BATCH_ROWS = 1_000_000  # rows per ingest call: each call has a fixed cost per catalog column


@dataclass(frozen=True)
class Dataset:
    """A generated workspace: its folder and how many rows each table holds."""

    folder: Path
    rows: dict[str, int]

    @property
    def database(self) -> Path:
        """The DuckDB file of the workspace."""
        return self.folder / EVENTS_FILE


def signin_rows(rows: int) -> int:
    """SigninLogs holds a tenth as many rows as SecurityEvent."""
    return rows // 10


def ensure_dataset(rows: int, data_dir: Path, log: Callable[[str], None] = print) -> Dataset:
    """The cached dataset of ``rows`` SecurityEvent rows, generated first if missing."""
    if rows < MIN_ROWS:
        raise ValueError(f"--rows must be at least {MIN_ROWS} (the injected attacks alone need room)")
    folder = data_dir / f"sentinel-v{GENERATOR_VERSION}-{rows}"
    manifest = folder / _MANIFEST
    if manifest.exists():
        return Dataset(folder, json.loads(manifest.read_text())["rows"])
    building = folder.with_name(folder.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    started = time.perf_counter()
    with Workspace.open(building) as workspace:
        counts = write_dataset(workspace, rows, SEED, log)
    info = {
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "rows": counts,
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    (building / _MANIFEST).write_text(json.dumps(info, indent=2) + "\n")
    building.rename(folder)
    return Dataset(folder, counts)


def write_dataset(workspace: Workspace, rows: int, seed: int, log: Callable[[str], None]) -> dict[str, int]:
    """Generate both tables day by day into ``workspace``; returns the row count per table."""
    vocabulary = build_vocabulary(seed)
    sources = {
        "SecurityEvent": security_event_days(rows, seed, vocabulary),
        "SigninLogs": signin_log_days(rows, seed, vocabulary),
    }
    counts = {}
    for table, days in sources.items():
        started, counts[table] = time.perf_counter(), 0
        for batch in _batched(days, _BATCH_ROWS):
            counts[table] += workspace.ingest(table, batch)
        log(f"  {table}: {counts[table]:,} rows in {time.perf_counter() - started:.0f} s")
    return counts


def _batched(tables: Iterator[pa.Table], min_rows: int) -> Iterator[pa.Table]:
    """Consecutive tables concatenated into batches of at least ``min_rows`` rows (the last may be smaller)."""
    pending: list[pa.Table] = []
    for table in tables:
        pending.append(table)
        if sum(t.num_rows for t in pending) >= min_rows:
            yield pa.concat_tables(pending)
            pending = []
    if pending:
        yield pa.concat_tables(pending)


def security_event_days(rows: int, seed: int, vocabulary: Vocabulary) -> Iterator[pa.Table]:
    """SecurityEvent, one time-ordered Arrow table per day; ``rows`` rows in all."""
    attacks = security_event_attacks(rows, seed, vocabulary)
    for day, table in _days(
        attacks, rows, seed, se.FIELDS, lambda rng, n, d: se.background(rng, n, d, vocabulary)
    ):
        yield se.to_table(table, np.random.default_rng([seed, 2000 + day]), vocabulary)


def signin_log_days(security_rows: int, seed: int, vocabulary: Vocabulary) -> Iterator[pa.Table]:
    """SigninLogs of a dataset of ``security_rows`` SecurityEvents, one time-ordered table per day."""
    attacks = signin_attacks(security_rows, seed)
    for day, table in _days(attacks, signin_rows(security_rows), seed + 1, sl.FIELDS, sl.background):
        yield sl.to_table(table, np.random.default_rng([seed + 1, 2000 + day]), vocabulary)


def _days(
    attacks: Rows, rows: int, seed: int, fields: tuple[str, ...], background: Callable[..., Rows]
) -> Iterator[tuple[int, Rows]]:
    """Per day: background rows plus the attacks of that day, ``rows`` rows over all days."""
    injected = len(attacks["t"])
    if injected * 2 > rows:
        raise ValueError(f"{rows} rows cannot hold {injected} injected attack rows")
    attack_day = (attacks["t"] - START_US) // DAY_US
    for day, n in enumerate(rows_per_day(rows - injected)):
        drawn = background(np.random.default_rng([seed, 1000 + day]), n, day)
        yield day, concat_rows([drawn, select_rows(attacks, attack_day == day)], fields)
