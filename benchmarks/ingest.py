"""Ingestion throughput: files through the parsers into a workspace's DuckDB file.

    python benchmarks/ingest.py                   # 200k NDJSON rows, every EVTX recording in ../shared
    python benchmarks/ingest.py --rows 20000      # a smoke run

Measured, each as rows (records) per second of wall time and per second of this process's CPU
time (rows/s per core), medians of ``--repeat`` runs:

* ``ndjson -> SecurityEvent``: generated logon events, one JSON object per line, through the
  NDJSON parser and ``Workspace.ingest_parsed`` (coercion to the catalog's types, the DuckDB append,
  batches of ``BATCH_ROWS``) into a new workspace file: SecurityEvent is 230 columns wide.
* ``ndjson -> Bench_CL``: the same file into a custom table with its 7 columns.
* ``evtx parse``: the EVTX parser alone over every ``.evtx`` recording of the shared datasets
  (records per second, no store), and ``evtx -> workspace`` end to end.

The issue's goals (rows/s per core) are printed beside each figure. The receivers (HTTP, syslog),
the durable journal and freshness join this script with them. Performance is reported, never
tested: the exit status is 0 unless a run fails.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from watchkeeper import Workspace
from watchkeeper.ingest import parser_named
from watchkeeper.ingest.sources import sources_at

SHARED = Path(__file__).resolve().parents[2] / "shared"
GOALS = {"ndjson": 150_000, "evtx": 50_000}


def make_ndjson(path: Path, rows: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    pick = random.Random(7)
    with path.open("wb") as out:
        for i in range(rows):
            out.write(orjson.dumps({
                "TimeGenerated": (start + timedelta(seconds=i)).isoformat(), "Computer": f"h{i % 300}",
                "EventID": pick.choice([4624, 4625, 4688]), "Account": f"CORP\\u{i % 3000}",
                "IpAddress": f"10.0.{i % 255}.{i % 7}", "LogonType": 3,
                "Activity": "4624 - An account was successfully logged on.",
            }) + b"\n")  # fmt: skip


def timed(run: Callable[[], int]) -> tuple[int, float, float]:
    """(rows, wall seconds, CPU seconds of this process) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run()
    return rows, time.perf_counter() - wall, time.process_time() - cpu


def ingest_files(paths: list[Path], table: str | None, fmt: str) -> Callable[[], int]:
    def run() -> int:
        with tempfile.TemporaryDirectory() as folder, Workspace.open(Path(folder) / "ws") as ws:
            parser, rows = parser_named(fmt), 0
            for path in paths:
                for source in sources_at(path):
                    with source.open() as stream:
                        for batch in parser.parse(stream, source.name):
                            tally = ws.ingest_parsed(
                                batch, source=source.name, input_format=fmt, destination=table
                            )
                            rows += sum(tally.tables.values())
            return rows

    return run


def parse_only(paths: list[Path], fmt: str) -> Callable[[], int]:
    def run() -> int:
        parser, records = parser_named(fmt), 0
        for path in paths:
            for source in sources_at(path):
                with source.open() as stream:
                    records += sum(
                        batch.rows + len(batch.rejected) for batch in parser.parse(stream, source.name)
                    )
        return records

    return run


def report(name: str, runs: list[tuple[int, float, float]], goal: int | None) -> None:
    rows = runs[0][0]
    wall = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    per_core = rows / cpu if cpu else float("inf")
    target = f"   goal {goal:>9,} rows/s per core" if goal else ""
    print(
        f"{name:<28} {rows:>9,} rows  {rows / wall:>10,.0f} rows/s  {per_core:>10,.0f} rows/s per core{target}"
    )


def main() -> int:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--rows", type=int, default=200_000, help="NDJSON rows to generate")
    options.add_argument("--repeat", type=int, default=3, help="runs per measurement (medians are printed)")
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "events.ndjson"
        make_ndjson(source, args.rows)
        print(f"ingest benchmark: {args.rows:,} NDJSON rows ({source.stat().st_size / 1e6:.0f} MB), "
              f"median of {args.repeat} runs")  # fmt: skip
        for name, table in (("ndjson -> SecurityEvent", "SecurityEvent"), ("ndjson -> Bench_CL", "Bench_CL")):
            report(
                name,
                [timed(ingest_files([source], table, "ndjson")) for _ in range(args.repeat)],
                GOALS["ndjson"],
            )
    recordings = sorted((SHARED / "datasets" / "windows" / "evtx-attack-samples").rglob("*.evtx"))
    if not recordings:
        print("evtx: skipped (no EVTX recordings under ../shared/datasets)")
        return 0
    report("evtx parse", [timed(parse_only(recordings, "evtx")) for _ in range(args.repeat)], GOALS["evtx"])
    report(
        "evtx -> workspace", [timed(ingest_files(recordings, None, "evtx")) for _ in range(args.repeat)], None
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
