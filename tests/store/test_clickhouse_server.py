"""The ClickHouse server store (clickhouse-connect) and the DDL both ClickHouse stores share.

No ClickHouse server runs here: Debian's packaged clickhouse-server (18.16, from 2018) is too old
for the SQL we generate and no newer server installs from the package registries this project
uses. So this module tests the server store's own code without a server where that is honest:
URL parsing, the DDL (run for real on chdb, which executes the same statements), the settings
queries and inserts carry, the mapping of the server's error texts, and a real connection attempt
to a port where nothing listens. With ``WK_TEST_CLICKHOUSE_URL`` naming a reachable server, the
golden KQL cases and a round trip run against it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlglot import exp

from watchkeeper import QueryLimits, Workspace
from watchkeeper.errors import ConfigurationError, QueryExecutionError, QueryTimeout, StoreError
from watchkeeper.schema.catalog import Catalog, ColumnDef, TableDef
from watchkeeper.schema.types import KqlType
from watchkeeper.settings import Settings
from watchkeeper.store.clickhouse import INSERT_SETTINGS, ClickHouseTables, query_settings
from watchkeeper.store.clickhouse_ddl import Retention, create_table_sql, is_low_cardinality
from watchkeeper.store.clickhouse_server import (
    ClickHouseEventStore,
    ClickHouseUrl,
    error_code,
    workspace_database,
)

LIVE_URL = os.environ.get("WK_TEST_CLICKHOUSE_URL")


# ---------------------------------------------------------------- the URL


def test_url_parts_and_defaults() -> None:
    url = ClickHouseUrl.parse("clickhouse://alice:p%40ss@ch.example:8123/sec?secure=false")
    assert (url.host, url.port, url.username, url.password, url.secure, url.prefix) == (
        "ch.example", 8123, "alice", "p@ss", False, "sec",
    )  # fmt: skip
    tls = ClickHouseUrl.parse("clickhouse://ch.example:8443")
    assert (tls.secure, tls.verify, tls.username, tls.prefix) == (True, True, "default", "wk")
    assert ClickHouseUrl.parse("clickhouse://h/?secure=true&verify=false").port == 8443


def test_the_password_never_shows() -> None:
    url = ClickHouseUrl.parse("clickhouse://alice:hunter2@ch.example:8123/")
    assert "hunter2" not in repr(url)
    assert "hunter2" not in str(url)
    assert str(url) == "clickhouse://alice:***@ch.example:8123/wk?secure=false"
    assert url.scrub("auth failed for hunter2") == "auth failed for ***"
    settings = Settings(events_url="clickhouse://alice:hunter2@ch.example:8123/")
    assert "hunter2" not in repr(settings)
    assert settings.public()["events_url"] == "clickhouse://alice:***@ch.example:8123/"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("postgresql://u:secret@h/db", "not a ClickHouse URL"),
        ("clickhouse://u:secret@h:99999/", "invalid port"),
        ("clickhouse://u:secret@h/?secure=maybe", "true or false"),
        ("clickhouse://u:secret@h/?compress=1", "unknown ClickHouse URL options compress"),
        ("clickhouse://u:secret@h/bad-prefix", "only letters"),
    ],
)
def test_bad_urls_are_refused_without_the_password(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ClickHouseUrl.parse(text)
    assert problem in str(raised.value)
    assert "secret" not in str(raised.value)


def test_settings_refuse_an_unknown_event_store() -> None:
    with pytest.raises(ValueError, match="duckdb, chdb or a clickhouse:// URL"):
        Settings(events_url="mysql://h/db")
    assert Settings().events_url == "duckdb"


def test_each_workspace_has_a_database_of_its_own() -> None:
    assert workspace_database("wk", "3f2a-11") == "wk_3f2a_11"
    assert workspace_database("wk", "a") != workspace_database("wk", "b")
    assert workspace_database("sec", "x`; DROP DATABASE y") == "sec_x___DROP_DATABASE_y"


# ---------------------------------------------------------------- DDL and settings


def test_dimension_columns_are_low_cardinality() -> None:
    table = Catalog.sentinel()["SecurityEvent"]
    low = {c.name for c in table.stored_columns if is_low_cardinality(c)}
    assert {"Computer", "Type", "SourceSystem", "Activity", "Channel"} <= low
    assert not {"CommandLine", "EventData", "TargetUserName", "EventID"} & low  # high cardinality or numbers


def test_event_tables_are_merge_trees_by_day_and_time_with_ttl() -> None:
    table = TableDef("Probe_CL", (ColumnDef("TimeGenerated", KqlType.DATETIME), ColumnDef("Level", KqlType.STRING),
                                  ColumnDef("Msg", KqlType.STRING)))  # fmt: skip
    sql = create_table_sql(table, Retention(default=90, tables={"Probe_CL": 7}))
    assert 'ENGINE = MergeTree PARTITION BY toDate("TimeGenerated") ORDER BY ("TimeGenerated")' in sql
    assert 'TTL toDateTime("TimeGenerated") + INTERVAL 7 DAY' in sql
    assert '"Level" LowCardinality(Nullable(String))' in sql
    assert '"Msg" Nullable(String)' in sql
    assert "\"TimeGenerated\" DateTime64(6, 'UTC')," in sql  # a key: not nullable
    untimed = create_table_sql(TableDef("X_CL", (ColumnDef("n", KqlType.LONG),)), Retention(default=30))
    assert untimed.endswith("ENGINE = MergeTree ORDER BY tuple()")


def test_queries_and_inserts_carry_the_limits_and_durability_settings() -> None:
    settings = query_settings(QueryLimits(max_rows=10, timeout=2.5))
    assert {k: settings[k] for k in ("max_execution_time", "max_result_rows", "result_overflow_mode")} == {
        "max_execution_time": 2.5, "max_result_rows": 11, "result_overflow_mode": "break",
    }  # fmt: skip
    # scan's recursive CTE steps once per row and graph-match's SQL is long: neither may stop early
    assert settings["max_recursive_cte_evaluation_depth"] >= 1_000_000
    assert settings["max_query_size"] >= 16 * 1024 * 1024
    assert INSERT_SETTINGS["async_insert"] == 1
    assert INSERT_SETTINGS["wait_for_async_insert"] == 1


@pytest.fixture
def chdb_ws() -> Iterator[Workspace]:
    pytest.importorskip("chdb", reason="chdb is not installed (pip install 'watchkeeper[clickhouse]')")
    from watchkeeper.store.clickhouse import ChdbEventStore

    ws = Workspace(ChdbEventStore(retention=Retention(default=30)))
    yield ws
    ws.close()


def _table_info(ws: Workspace, table: str) -> tuple[str, ...]:
    name = exp.Literal.string(table).sql("clickhouse")
    sql = ("SELECT engine, sorting_key, partition_key, create_table_query FROM system.tables "
           f"WHERE database = currentDatabase() AND name = {name}")  # fmt: skip
    columns = [(n, KqlType.STRING) for n in ("e", "s", "p", "q")]
    (row,) = ws.store.execute(sql, columns, QueryLimits()).rows
    return tuple(row)


def test_chdb_runs_the_same_ddl(chdb_ws: Workspace) -> None:
    chdb_ws.ingest("Syslog", [{"Computer": "web1", "SyslogMessage": "hello", "Facility": "auth"}])
    engine, sorting, partition, create = _table_info(chdb_ws, "Syslog")
    assert (engine, sorting.strip("()"), partition) == ("MergeTree", "TimeGenerated", "toDate(TimeGenerated)")
    assert "`Computer` LowCardinality(Nullable(String))" in create
    assert "TTL toDateTime(TimeGenerated) + toIntervalDay(30)" in create


def test_retention_drops_old_rows_when_parts_merge(chdb_ws: Workspace) -> None:
    now = datetime.now(UTC)
    rows = [{"TimeGenerated": now - timedelta(days=d), "Computer": f"c{d}"} for d in (1, 29, 31, 400)]
    chdb_ws.ingest("Syslog", rows)
    store = chdb_ws.store
    assert isinstance(store, ClickHouseTables)
    store._command("OPTIMIZE TABLE `Syslog` FINAL")  # the merge TTL deletes happen in; no public API
    assert sorted(chdb_ws.query("Syslog | project Computer").rows) == [("c1",), ("c29",)]


def test_a_backfill_spanning_many_days_is_one_insert(chdb_ws: Workspace) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [{"TimeGenerated": start + timedelta(days=d), "n": d} for d in range(150)]  # > 100 partitions
    ws = Workspace(type(chdb_ws.store)())  # no retention: those days are long gone
    try:
        ws.ingest("Backfill_CL", rows)
        assert ws.query("Backfill_CL | count").rows == [(150,)]
    finally:
        ws.close()


def test_a_slow_query_stops_at_the_time_limit(chdb_ws: Workspace) -> None:
    slow = "range x from 1 to 5000000000 step 1 | summarize dcount(hash_sha256(tostring(x)))"
    with pytest.raises(QueryTimeout):
        chdb_ws.query(slow, limits=QueryLimits(timeout=0.5))
    assert chdb_ws.query("print n = 1").rows == [(1,)]  # the store answers after a timeout


# ---------------------------------------------------------------- errors the server reports


class _Unconnected(ClickHouseEventStore):
    """The store's error mapping without a connection (no server runs here)."""

    def __init__(self, url: str) -> None:
        self.url = ClickHouseUrl.parse(url)


def _server_error(code: int, text: str) -> Exception:
    from clickhouse_connect.driver.exceptions import DatabaseError

    return DatabaseError(f"HTTPDriver for http://h:8123 received ClickHouse error code {code}\n"
                         f" Code: {code}. DB::Exception: {text}. (X) (version 24.8.1.1)")  # fmt: skip


def test_server_errors_map_to_the_errors_duckdb_gives() -> None:
    pytest.importorskip("clickhouse_connect")
    store = _Unconnected("clickhouse://alice:hunter2@h:8123/")
    limits = QueryLimits(timeout=3)
    timeout = store._failure(_server_error(159, "Timeout exceeded: elapsed 3.1 seconds"), limits)
    assert isinstance(timeout, QueryTimeout)
    failed = store._failure(_server_error(47, "Missing columns: 'Nope'"), limits)
    assert isinstance(failed, QueryExecutionError)
    assert (
        str(failed)
        == "the query failed while running: Code: 47. DB::Exception: Missing columns: 'Nope'. (X) (version 24.8.1.1)"
    )
    refused = store.connection_error(
        _server_error(516, "alice: Authentication failed: password is incorrect")
    )
    assert isinstance(refused, ConfigurationError)
    assert "hunter2" not in str(refused)
    assert error_code(_server_error(252, "Too many parts")) == 252


def test_write_errors_say_whether_a_retry_may_succeed() -> None:
    pytest.importorskip("clickhouse_connect")
    store = _Unconnected("clickhouse://alice:hunter2@h:8123/")
    busy = store.write_error("Syslog", _server_error(252, "Too many parts (300)"))
    bad = store.write_error("Syslog", _server_error(27, "Cannot parse input"))
    assert busy.transient
    assert not bad.transient
    assert (
        str(bad)
        == "could not append to Syslog: Code: 27. DB::Exception: Cannot parse input. (X) (version 24.8.1.1)"
    )


def test_a_server_that_is_not_there_is_a_clear_error() -> None:
    """A real connection attempt to a port where nothing listens."""
    pytest.importorskip("clickhouse_connect")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StoreError) as raised:
        ClickHouseEventStore(f"clickhouse://alice:hunter2@127.0.0.1:{port}/", "wk_test")
    assert raised.value.transient
    assert f"127.0.0.1:{port}" in str(raised.value)
    assert "hunter2" not in str(raised.value)


# ---------------------------------------------------------------- a live server, when there is one


@pytest.fixture(scope="module")
def live_ws() -> Iterator[Workspace]:
    if not LIVE_URL:
        pytest.skip(
            "no ClickHouse server here: set WK_TEST_CLICKHOUSE_URL=clickhouse://user:pw@host:8123/ to run"
        )
    from tests.kql.test_golden import load_data

    store = ClickHouseEventStore(LIVE_URL, f"wk_test_{uuid.uuid4().hex}")
    ws = Workspace(store)
    load_data(ws)
    yield ws
    store._command(f"DROP DATABASE IF EXISTS `{store.database}`")
    ws.close()


def test_golden_cases_on_a_clickhouse_server(live_ws: Workspace) -> None:
    """Every golden KQL case gives its expected rows on the server, as on chdb."""
    from tests.kql.test_golden import case_files, test_golden_case

    failures = []
    for path in case_files():
        try:
            test_golden_case(live_ws, path)
        except pytest.skip.Exception:
            continue
        except Exception as exc:  # every failing case is reported, not only the first
            failures.append(f"{path.stem}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    assert not failures, "\n".join(failures)
