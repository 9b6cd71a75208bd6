"""Smoke test of benchmarks/kql_vs_sql.py on ~20k rows: every reference query compiles, the compiled
KQL returns the rows of its hand-written SQL, and the same rows on chdb as on DuckDB (catches semantic
drift between the engines; no timings)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import SHARED

from watchkeeper import Catalog, kql

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
QUERIES = SHARED / "kql" / "perf_queries.yaml"
ROWS = 30_000  # enough for every query to have an answer (q12 wants processes with > 1000 runs)

sys.path.insert(0, str(BENCHMARKS))
import kql_vs_sql  # noqa: E402
from perfdata.dataset import SEED, Dataset, ensure_dataset, security_event_days  # noqa: E402
from perfdata.vocabulary import build_vocabulary  # noqa: E402
from side_by_side import (  # noqa: E402
    ChdbEngine,
    DuckDBEngine,
    ReferenceQuery,
    compare,
    generated_catalog,
    load_queries,
)

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not QUERIES.exists(), reason=f"{QUERIES} is absent"),
]


def _queries() -> list[ReferenceQuery]:
    return load_queries(QUERIES) if QUERIES.exists() else []


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("perfdata")


@pytest.fixture(scope="module")
def dataset(data_dir: Path) -> Dataset:
    return ensure_dataset(ROWS, data_dir, log=lambda _: None)


@pytest.fixture(scope="module")
def engine(dataset: Dataset) -> Iterator[DuckDBEngine]:
    engine = DuckDBEngine(dataset.database)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def clickhouse(dataset: Dataset) -> Iterator[ChdbEngine]:
    engine = ChdbEngine(dataset, generated_catalog())
    yield engine
    engine.close()


def test_the_dataset_has_the_requested_rows(dataset: Dataset) -> None:
    assert dataset.rows == {"SecurityEvent": ROWS, "SigninLogs": ROWS // 10}


def test_generation_is_deterministic() -> None:
    vocabulary = build_vocabulary(SEED)
    first = next(iter(security_event_days(ROWS, SEED, vocabulary)))
    again = next(iter(security_event_days(ROWS, SEED, build_vocabulary(SEED))))
    assert first.num_columns == 23
    assert first.equals(again)


@pytest.mark.parametrize("query", _queries(), ids=lambda q: q.name)
def test_compiled_kql_returns_the_rows_of_the_hand_written_sql(
    engine: DuckDBEngine, query: ReferenceQuery
) -> None:
    compiled = kql.compile(query.kql, Catalog.sentinel(), "duckdb")
    from_kql, from_sql = engine.answer(compiled), engine.answer(query.sql["duckdb"])
    verdict = compare(from_kql, from_sql, query.top_key)
    assert from_sql.num_rows > 0, "the generated data should give the reference query an answer"
    assert verdict.ok, f"{query.name}: {verdict.detail}"


@pytest.mark.parametrize("query", _queries(), ids=lambda q: q.name)
def test_the_compiled_kql_answers_the_same_on_chdb_as_on_duckdb(
    engine: DuckDBEngine, clickhouse: ChdbEngine, query: ReferenceQuery
) -> None:
    on_duckdb = engine.answer(kql.compile(query.kql, Catalog.sentinel(), "duckdb"))
    on_clickhouse = clickhouse.answer(kql.compile(query.kql, generated_catalog(), "clickhouse"))
    verdict = compare(on_clickhouse, on_duckdb, query.top_key)
    assert on_duckdb.num_rows > 0
    assert verdict.ok, f"{query.name}: {verdict.detail}"


def test_the_script_runs_end_to_end(dataset: Dataset, data_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    args = [
        "--rows",
        str(ROWS),
        "--reps",
        "1",
        "--warmup",
        "0",
        "--compile-reps",
        "1",
        "--data-dir",
        str(data_dir),
        "--queries",
        str(QUERIES),
        "--json",
        str(report),
    ]
    status = kql_vs_sql.main(args)
    result = json.loads(report.read_text())
    queries = result["engines"]["duckdb"]["queries"]
    assert [q["name"] for q in queries] == [q.name for q in _queries()]
    assert all(q["error"] is None for q in queries), [q["error"] for q in queries if q["error"]]
    assert status == 0
    # the scale-out targets are reported on the geometric mean and the worst query
    summary, ratios = result["engines"]["duckdb"]["summary"], [q["ratio"] for q in queries]
    assert min(ratios) <= summary["geomean_ratio"] <= summary["max_ratio"] == max(ratios)
