"""KQL vs hand-written SQL: what the compiler costs on the reference queries.

    python benchmarks/kql_vs_sql.py                   # 10M SecurityEvent rows, DuckDB
    python benchmarks/kql_vs_sql.py --rows 200000     # a smoke run
    python benchmarks/kql_vs_sql.py --clickhouse      # DuckDB, then chdb with the ClickHouse SQL
    python benchmarks/kql_vs_sql.py --only q05 --show-sql --explain

For each query of ``perf_queries.yaml``: the median compile time, then the compiled SQL and the
hand-written SQL run interleaved on one connection (after a warm-up); printed per query: the
median wall time of each, the ratio KQL/SQL (wall, and CPU time of all engine threads, which
other load disturbs less), the compile time, and whether both return the same rows; then the
medians across queries. The dataset is generated once and cached under ``benchmarks/.data/``
(see :mod:`perfdata`).

Exit status 1 when a query fails to compile or run, or returns a different number of rows than
its hand-written SQL; never for a slow ratio (performance is reported, not tested).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported by the tests

from bench_report import (
    HEADER,
    Measurement,
    load_average,
    machine_info,
    machine_line,
    report,
    summary_lines,
    table_row,
    write_json,
)
from perfdata import GENERATOR_VERSION
from perfdata.dataset import Dataset, ensure_dataset
from side_by_side import (
    ChdbEngine,
    DuckDBEngine,
    Engine,
    ReferenceQuery,
    Samples,
    compare,
    generated_catalog,
    load_queries,
    paired_ratio,
    time_compile,
    time_pair,
)
from watchkeeper import Catalog, kql

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUERIES = ROOT.parent / "shared" / "kql" / "perf_queries.yaml"
DEFAULT_DATA = ROOT / "benchmarks" / ".data"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add(
        "--rows",
        type=int,
        default=10_000_000,
        help="SecurityEvent rows (default 10M; SigninLogs gets a tenth)",
    )
    add("--reps", type=int, default=10, help="timed runs of each SQL text (default 10)")
    add("--warmup", type=int, default=1, help="untimed rounds before timing (default 1)")
    add("--compile-reps", type=int, default=50, help="compiles timed per query (default 50)")
    add("--queries", type=Path, default=DEFAULT_QUERIES, help="the reference query file")
    add("--data-dir", type=Path, default=DEFAULT_DATA, help="where generated datasets are cached")
    add("--only", action="append", default=[], metavar="NAME", help="only queries whose name contains NAME")
    add("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    add("--clickhouse", action="store_true", help="also compare on chdb with the ClickHouse SQL")
    add("--show-sql", action="store_true", help="print the compiled and the hand-written SQL")
    add("--explain", action="store_true", help="print both plans (EXPLAIN)")
    add(
        "--json",
        metavar="PATH",
        help="also write the results as JSON to PATH ('-' = stdout, table to stderr)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; the exit status (see the module docstring)."""
    args = parse_args(argv)
    out = sys.stderr if args.json == "-" else sys.stdout
    machine = machine_info()
    print(machine_line(machine), file=out)
    dataset = ensure_dataset(args.rows, args.data_dir, log=lambda line: print(line, file=out, flush=True))
    print(
        f"dataset: {dataset.folder} ({', '.join(f'{t} {n:,}' for t, n in dataset.rows.items())} rows)",
        file=out,
    )
    queries = load_queries(args.queries, args.only)
    engines = {"duckdb": run_engine("duckdb", dataset, queries, args, out)}
    if args.clickhouse:
        engines["clickhouse"] = run_engine("clickhouse", dataset, queries, args, out)
    machine["load_average_after"] = load_average()
    settings = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    info = {"rows": dataset.rows, "generator_version": GENERATOR_VERSION, "folder": str(dataset.folder)}
    document = report(machine, info, settings, engines)
    if args.json:
        write_json(document, args.json)
    return 0 if document["ok"] else 1


def run_engine(
    dialect: str, dataset: Dataset, queries: list[ReferenceQuery], args: argparse.Namespace, out: TextIO
) -> list[Measurement]:
    """Measure every query on one engine and print its table."""
    catalog = Catalog.sentinel() if dialect == "duckdb" else generated_catalog()
    engine = open_engine(dialect, dataset, catalog, args)
    print(
        f"\n{dialect}: {args.reps} interleaved runs each after {args.warmup} warm-up round(s); medians",
        file=out,
    )
    print(HEADER, file=out, flush=True)
    results = []
    try:
        for query in queries:
            results.append(measure(engine, query, catalog, args, out))
            print(table_row(results[-1]), file=out, flush=True)
    finally:
        engine.close()
    print(summary_lines(results), file=out, flush=True)
    return results


def open_engine(dialect: str, dataset: Dataset, catalog: Catalog, args: argparse.Namespace) -> Engine:
    """DuckDB on the cached database, or chdb loaded from it."""
    if dialect == "duckdb":
        return DuckDBEngine(dataset.database, threads=args.threads)
    return ChdbEngine(dataset, catalog)


def measure(
    engine: Engine, query: ReferenceQuery, catalog: Catalog, args: argparse.Namespace, out: TextIO
) -> Measurement:
    """Compile, check and time one query; an error is recorded, not raised."""
    result = Measurement(query.name)
    try:
        compiled = kql.compile(query.kql, catalog, engine.name)
        compiling = time_compile(query.kql, catalog, engine.name, args.compile_reps)
        result.compile_ms, result.compile_cpu_ms = compiling.wall_ms, compiling.cpu_ms
        hand = query.sql.get(engine.name)
        if hand is None:
            raise ValueError(f"no hand-written SQL for {engine.name}")
        _show(engine, query, compiled, hand, args, out)
        _check(engine, query, compiled, hand, result)
        _record_times(result, *time_pair(engine, compiled, hand, args.reps, args.warmup))
    except Exception as exc:  # report it and go on with the next query
        text = str(exc).strip()
        result.error = f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
        if os.environ.get("WK_BENCH_TRACEBACK"):
            traceback.print_exc()
    return result


def _record_times(result: Measurement, from_kql: Samples, from_sql: Samples) -> None:
    """Medians, and the ratios as medians over rounds of the pair run back to back in that round."""
    result.kql_ms, result.sql_ms = from_kql.wall_ms, from_sql.wall_ms
    result.kql_cpu_ms, result.sql_cpu_ms = from_kql.cpu_ms, from_sql.cpu_ms
    result.ratio, result.cpu_ratio = (
        paired_ratio(from_kql.wall, from_sql.wall),
        paired_ratio(from_kql.cpu, from_sql.cpu),
    )
    result.samples_ms = {
        name: [round(x * 1000, 2) for x in values]
        for name, values in (
            ("kql_wall", from_kql.wall),
            ("sql_wall", from_sql.wall),
            ("kql_cpu", from_kql.cpu),
            ("sql_cpu", from_sql.cpu),
        )
    }


def _check(engine: Engine, query: ReferenceQuery, compiled: str, hand: str, result: Measurement) -> None:
    """Run both once and compare the answers (this also warms the caches)."""
    from_kql, from_sql = engine.answer(compiled), engine.answer(hand)
    verdict = compare(from_kql, from_sql, query.top_key)
    result.kql_rows, result.sql_rows = from_kql.num_rows, from_sql.num_rows
    result.check, result.detail = verdict.status, verdict.detail


def _show(
    engine: Engine, query: ReferenceQuery, compiled: str, hand: str, args: argparse.Namespace, out: TextIO
) -> None:
    if args.show_sql:
        print(f"\n--- {query.name}: compiled KQL\n{compiled}", file=out)
        print(f"--- {query.name}: hand-written SQL\n{hand.strip()}", file=out)
    if args.explain:
        print(f"\n--- {query.name}: plan of the compiled KQL\n{engine.explain(compiled)}", file=out)
        print(f"--- {query.name}: plan of the hand-written SQL\n{engine.explain(hand)}", file=out)


if __name__ == "__main__":
    sys.exit(main())
