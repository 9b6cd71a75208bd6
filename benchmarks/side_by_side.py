"""Compiled KQL and hand-written SQL, side by side on one engine connection.

* :func:`load_queries` reads the reference set (``perf_queries.yaml``);
* :class:`DuckDBEngine` / :class:`ChdbEngine` run SQL and return Arrow tables (the engine's own
  materialisation, no Python row conversion, so the timings compare SQL, not client code);
* :func:`time_compile` and :func:`time_pair` measure (wall and CPU time, :class:`Samples`);
  :func:`compare` checks that both SQL texts answer the same rows (Kusto ``top`` ties at the
  cut-off are reported as such).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from perfdata.dataset import Dataset
from perfdata.security_events import COLUMNS as SECURITY_EVENT_COLUMNS
from perfdata.signin_logs import COLUMNS as SIGNIN_COLUMNS
from watchkeeper import Catalog, kql
from watchkeeper.schema.catalog import TableDef

_DIALECT_KEYS = {"duckdb": "sql", "clickhouse": "sql_clickhouse"}


@dataclass(frozen=True)
class ReferenceQuery:
    """One entry of the reference set: the KQL and the hand-written SQL per dialect."""

    name: str
    description: str
    kql: str
    sql: dict[str, str]

    @property
    def top_key(self) -> str | None:
        """The column a ``top N by X`` ranks by (rows tied on it at the cut-off may differ)."""
        found = re.search(r"\|\s*top\s+\d+\s+by\s+(\w+)", self.kql)
        return found.group(1) if found else None


def load_queries(path: Path, only: Iterable[str] = ()) -> list[ReferenceQuery]:
    """The reference queries in ``path``; ``only`` keeps those whose name contains one of its words."""
    entries = yaml.safe_load(path.read_text())["queries"]
    queries = [
        ReferenceQuery(
            e["name"],
            e.get("description", ""),
            e["kql"],
            {d: e[k] for d, k in _DIALECT_KEYS.items() if k in e},
        )
        for e in entries
    ]
    wanted = list(only)
    return [q for q in queries if not wanted or any(w in q.name for w in wanted)]


# ---------------------------------------------------------------- engines


class Engine(Protocol):
    """An SQL engine holding the dataset."""

    name: str

    def run(self, sql: str) -> pa.Table:
        """Run ``sql`` to completion, the way it is timed."""
        ...

    def answer(self, sql: str) -> pa.Table:
        """The result of ``sql`` with its values typed faithfully, for comparing answers."""
        ...

    def explain(self, sql: str) -> str:
        """The engine's plan of ``sql``."""
        ...

    def close(self) -> None:
        """Release the engine."""
        ...


class DuckDBEngine:
    """The workspace database, read-only, with the session settings the event store uses (UTC)."""

    name = "duckdb"

    def __init__(self, database: Path, threads: int | None = None) -> None:
        config = {"threads": str(threads)} if threads else {}
        self._con = duckdb.connect(str(database), read_only=True, config=config)
        self._con.execute("SET TimeZone = 'UTC'")

    def run(self, sql: str) -> pa.Table:
        """Run ``sql`` to completion; the result as Arrow."""
        return self._con.sql(sql).to_arrow_table()

    def answer(self, sql: str) -> pa.Table:
        """Same as :meth:`run`: DuckDB's Arrow output keeps every type."""
        return self.run(sql)

    def explain(self, sql: str) -> str:
        """DuckDB's physical plan of ``sql``."""
        return "\n".join(str(row[-1]) for row in self._con.sql(f"EXPLAIN {sql}").fetchall())

    def close(self) -> None:
        """Close the connection."""
        self._con.close()


class ChdbEngine:
    """ClickHouse in process (chdb), loaded from the DuckDB dataset through the ClickHouse event store.

    The store keeps tables in the uncompressed ``Memory`` engine, so only the generated columns are
    created (a 228-column SecurityEvent would need ~20 GB at 10M rows); :func:`generated_catalog`
    gives the compiler the same tables.
    """

    name = "clickhouse"

    def __init__(self, dataset: Dataset, catalog: Catalog, batch_rows: int = 1_000_000) -> None:
        from watchkeeper.store.clickhouse import ChdbEventStore

        self._store = ChdbEventStore()
        source = duckdb.connect(str(dataset.database), read_only=True)
        try:
            for name in dataset.rows:
                self._copy(source, catalog.require(name), batch_rows)
        finally:
            source.close()

    def _copy(self, source: duckdb.DuckDBPyConnection, table: TableDef, batch_rows: int) -> None:
        columns = ", ".join(f'"{c.name}"' for c in table.stored_columns)
        reader = source.sql(f'SELECT {columns} FROM "{table.name}"').to_arrow_reader(batch_rows)
        for batch in reader:
            self._store.append(table, pa.Table.from_batches([batch]))

    def run(self, sql: str) -> pa.Table:
        """Run ``sql`` to completion; the result as Arrow (the store's ``execute`` converts to Python)."""
        result: pa.Table = self._store.raw(sql, "ArrowTable")
        return result

    def answer(self, sql: str) -> pa.Table:
        """The result through Parquet: ClickHouse's Arrow output turns ``DateTime`` into bare seconds."""
        data = self._store.raw(sql, "Parquet").bytes()
        return pq.read_table(pa.BufferReader(data))

    def explain(self, sql: str) -> str:
        """ClickHouse's query plan of ``sql``."""
        return str(self._store.raw(f"EXPLAIN PLAN actions = 1 {sql}", "TSVRaw"))

    def close(self) -> None:
        """Drop the in-memory tables."""
        self._store.close()


def generated_catalog() -> Catalog:
    """The Sentinel catalog with SecurityEvent and SigninLogs cut to the generated columns."""
    sentinel = Catalog.sentinel()
    cut = []
    for name, generated in (("SecurityEvent", SECURITY_EVENT_COLUMNS), ("SigninLogs", SIGNIN_COLUMNS)):
        full = sentinel.require(name)
        keep = {*generated, "CorrelationId"}
        cut.append(TableDef(name, tuple(c for c in full.columns if c.name in keep)))
    return sentinel.with_tables(cut)


# ---------------------------------------------------------------- measuring


@dataclass
class Samples:
    """Seconds per run: wall clock, and CPU time of this process (all engine threads).

    CPU time barely moves when other processes compete for the cores, wall time does: on a
    noisy machine compare the CPU ratio too.
    """

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def measure(self, action: Callable[[], object]) -> None:
        """Run ``action`` once and record its times."""
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)

    @property
    def wall_ms(self) -> float:
        """Median wall time in milliseconds."""
        return statistics.median(self.wall) * 1000

    @property
    def cpu_ms(self) -> float:
        """Median CPU time in milliseconds."""
        return statistics.median(self.cpu) * 1000


def paired_ratio(first: list[float], second: list[float]) -> float:
    """The median over rounds of ``first / second``: the two ran back to back in each round, so a
    change of load between rounds cancels out (a ratio of overall medians does not)."""
    return statistics.median(a / b for a, b in zip(first, second, strict=True))


def time_compile(text: str, catalog: Catalog, dialect: str, repetitions: int) -> Samples:
    """Times of ``kql.compile`` (after one warm-up compile)."""
    kql.compile(text, catalog, dialect)
    samples = Samples()
    for _ in range(repetitions):
        samples.measure(lambda: kql.compile(text, catalog, dialect))
    return samples


def time_pair(
    engine: Engine, first: str, second: str, repetitions: int, warmup: int
) -> tuple[Samples, Samples]:
    """Times of ``first`` and ``second``, interleaved: A B, B A, A B, ... after ``warmup`` rounds.

    Alternating who goes first cancels the advantage of running right after the other query.
    """
    for _ in range(warmup):
        engine.run(first)
        engine.run(second)
    samples = (Samples(), Samples())
    for round_ in range(repetitions):
        for which in (0, 1) if round_ % 2 == 0 else (1, 0):
            sql = (first, second)[which]
            samples[which].measure(lambda sql=sql: engine.run(sql))
    return samples


# ---------------------------------------------------------------- comparing answers


@dataclass(frozen=True)
class Verdict:
    """How the two answers compare; ``ok`` is False for a different row count."""

    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        """False only for a different row count (values may differ, e.g. for estimates)."""
        return self.status != ROW_COUNT_MISMATCH

    @property
    def same_rows(self) -> bool:
        """Both answers hold the same rows (up to ties at a ``top`` cut-off)."""
        return self.status in (SAME, SAME_UP_TO_TIES)


SAME, SAME_UP_TO_TIES = "same rows", "same rows (ties at the top-N cut-off differ)"
VALUES_DIFFER, ROW_COUNT_MISMATCH = "!! VALUES DIFFER", "!! ROW COUNT MISMATCH"


def compare(from_kql: pa.Table, from_sql: pa.Table, top_key: str | None = None) -> Verdict:
    """Compare two answers as multisets of rows (column names may differ; positions must agree).

    Values are normalised first: datetimes (and ISO datetime text) to epoch microseconds, JSON
    text to values, lists to tuples, floats to 9 significant digits; when the column counts
    differ, list values are spread over columns (``percentile`` columns vs one ``quantile`` list).
    """
    if from_kql.num_rows != from_sql.num_rows:
        return Verdict(ROW_COUNT_MISMATCH, f"KQL {from_kql.num_rows} rows, SQL {from_sql.num_rows} rows")
    flatten = from_kql.num_columns != from_sql.num_columns
    left, right = canonical_rows(from_kql, flatten), canonical_rows(from_sql, flatten)
    extra, missing = Counter(left) - Counter(right), Counter(right) - Counter(left)
    if not extra and not missing:
        return Verdict(SAME)
    if top_key is not None and _ties_only(from_kql, top_key, left, [*extra, *missing]):
        return Verdict(SAME_UP_TO_TIES, f"{sum(extra.values())} tied row(s) differ")
    sample = next(iter(extra), None)
    return Verdict(
        VALUES_DIFFER, f"{sum(extra.values())} of {len(left)} rows differ, e.g. KQL {sample!r:.300}"
    )


def _ties_only(
    table: pa.Table, key: str, rows: list[tuple[Any, ...]], differing: list[tuple[Any, ...]]
) -> bool:
    if key not in table.column_names or not rows:
        return False
    position = table.column_names.index(key)
    cut_off = rows[-1][position]  # top returns rows ordered by the key: the last row holds the cut-off
    return all(row[position] == cut_off for row in differing)


def canonical_rows(table: pa.Table, flatten: bool = False) -> list[tuple[Any, ...]]:
    """The rows of ``table`` with comparable values, in result order."""
    columns = [[canonical(v) for v in column.to_pylist()] for column in table.columns]
    rows = list(zip(*columns, strict=True)) if columns else []
    if flatten:
        rows = [
            tuple(part for value in row for part in (value if isinstance(value, tuple) else (value,)))
            for row in rows
        ]
    return rows


_ISO = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def canonical(value: Any) -> Any:
    """A hashable, engine-neutral form of one result value."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (aware - _EPOCH) // _MICROSECOND
    if isinstance(value, (list, tuple)):
        return tuple(canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, Decimal):
        return float(f"{float(value):.9g}")
    if isinstance(value, str):
        return _canonical_text(value)
    return value


def _canonical_text(value: str) -> Any:
    if value[:1] in ("[", "{"):
        try:
            return canonical(json.loads(value))
        except ValueError:
            return value
    found = _ISO.match(value)
    if found is None:
        return value
    base, fraction, zone = found.groups()
    moment = datetime.fromisoformat(base + (zone if zone and zone != "Z" else "+00:00"))
    return (moment - _EPOCH) // _MICROSECOND + int((fraction or "").ljust(6, "0")[:6])


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
