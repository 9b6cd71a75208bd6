"""Time hand-made SQL variants of a reference query against its compiled KQL and its hand-written SQL.

    python benchmarks/sql_variants.py benchmarks/variants/q02_bin.yaml [--rows N] [--reps N]

A variants file names a reference query of ``perf_queries.yaml``, optionally the dialect
(``duckdb``, the default, or ``clickhouse`` for chdb), and gives SQL variants::

    query: q02_hourly_by_eventid
    dialect: duckdb
    variants:
      integer_bucket: |
        SELECT ...

The variants run interleaved (the order reverses every round) with ``hand`` (the hand-written SQL)
and ``compiled`` (the KQL compiled now); printed: median wall and CPU time, both as a ratio to
``hand``, and whether each answer equals the hand-written one. This is how the SQL shapes proposed
in RESULTS.md were measured: a compiler change can be checked against them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kql_vs_sql import DEFAULT_DATA, DEFAULT_QUERIES
from perfdata.dataset import ensure_dataset
from side_by_side import ChdbEngine, DuckDBEngine, Engine, Samples, compare, generated_catalog, load_queries
from watchkeeper import Catalog, kql


def main(argv: list[str] | None = None) -> int:
    """Run the variants file; 0, or 1 when a variant's answer has a different row count."""
    args = _parse_args(argv)
    spec = yaml.safe_load(args.file.read_text())
    dialect = spec.get("dialect", "duckdb")
    query = next(q for q in load_queries(args.queries) if q.name == spec["query"])
    catalog = Catalog.sentinel() if dialect == "duckdb" else generated_catalog()
    variants = {
        "hand": query.sql[dialect],
        "compiled": kql.compile(query.kql, catalog, dialect),
        **spec["variants"],
    }
    dataset = ensure_dataset(args.rows, args.data_dir)
    engine: Engine = DuckDBEngine(dataset.database) if dialect == "duckdb" else ChdbEngine(dataset, catalog)
    try:
        return _report(engine, variants, args.reps)
    finally:
        engine.close()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("file", type=Path, help="a variants YAML file")
    parser.add_argument("--rows", type=int, default=10_000_000, help="SecurityEvent rows (default 10M)")
    parser.add_argument("--reps", type=int, default=11, help="timed rounds (default 11)")
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="the reference query file")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA, help="where generated datasets are cached"
    )
    return parser.parse_args(argv)


def _report(engine: Engine, variants: dict[str, str], reps: int) -> int:
    answers = {name: engine.answer(sql) for name, sql in variants.items()}
    samples = _time(engine, variants, reps)
    hand = samples["hand"]
    print(f"{'variant':<36} {'wall ms':>9} {'x hand':>7} {'CPU ms':>9} {'x hand':>7}  answer")
    status = 0
    for name, timing in samples.items():
        verdict = compare(answers[name], answers["hand"])
        status |= 0 if verdict.ok else 1
        print(
            f"{name:<36} {timing.wall_ms:>9.1f} {timing.wall_ms / hand.wall_ms:>7.2f} {timing.cpu_ms:>9.1f} "
            f"{timing.cpu_ms / hand.cpu_ms:>7.2f}  {verdict.status} {verdict.detail[:120]}"
        )
    return status


def _time(engine: Engine, variants: dict[str, str], reps: int) -> dict[str, Samples]:
    samples = {name: Samples() for name in variants}
    names = list(variants)
    for round_ in range(reps):
        for name in names if round_ % 2 == 0 else reversed(names):
            samples[name].measure(lambda sql=variants[name]: engine.run(sql))
    return samples


if __name__ == "__main__":
    sys.exit(main())
