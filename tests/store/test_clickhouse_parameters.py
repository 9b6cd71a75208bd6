"""Request moments as query parameters on ClickHouse: a rule compiled once with ``now()``,
``ago()`` and the time range as ``{name:DateTime64(6, 'UTC')}`` parameters runs over window after
window on chdb with the rows of each window, and gives the rows of the literal compilation."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.kql.test_time_parameters import BASE, QUERIES
from watchkeeper import KqlType, QueryLimits, Workspace, kql
from watchkeeper.store.clickhouse import parameter_texts
from watchkeeper.store.clickhouse_server import ClickHouseEventStore, ClickHouseUrl

pytest.importorskip("chdb", reason="chdb is not installed (pip install 'watchkeeper[clickhouse]')")


def _times(base: datetime) -> list[datetime]:
    """One event every 7 minutes going back from ``base``, each a microsecond apart from the grid."""
    return [base - timedelta(minutes=7 * i, microseconds=i) for i in range(120)]


def _events(base: datetime) -> list[dict[str, object]]:
    return [{"TimeGenerated": t, "EventID": 4624 + i % 5} for i, t in enumerate(_times(base))]


@pytest.fixture(scope="module")
def chdb_ws() -> Iterator[Workspace]:
    from watchkeeper.store.clickhouse import ChdbEventStore

    ws = Workspace(ChdbEventStore())
    ws.ingest("SecurityEvent", _events(BASE))
    yield ws
    ws.close()


def test_a_rule_compiled_once_runs_over_two_windows(chdb_ws: Workspace) -> None:
    ws = Workspace(chdb_ws.store)  # a fresh cache of compiled queries over the same events
    assert ws.store.takes_parameters  # type: ignore[attr-defined]
    text = "SecurityEvent | where TimeGenerated > ago(30m) | project TimeGenerated, EventID"
    runs = []
    for end in (BASE, BASE - timedelta(hours=2, minutes=3)):
        result = ws.query(text, now=end, time_range=(end - timedelta(hours=1), end))
        assert "{wk_now_m1800000000: DateTime64(6, 'UTC')}" in result.sql  # a parameter, not a literal
        runs.append(sorted(t for t, _ in result.rows))
    expected = [
        sorted(t for t in _times(BASE) if end - timedelta(minutes=30) < t < end)
        for end in (BASE, BASE - timedelta(hours=2, minutes=3))
    ]  # fmt: skip
    assert runs == expected
    assert [len(r) for r in runs] == [4, 4]
    assert runs[0] != runs[1]
    assert (ws.compiled.misses, ws.compiled.hits) == (1, 1)


@pytest.mark.parametrize(("text", "parameterisable"), [q for q in QUERIES if q[1]])
def test_parameterised_sql_gives_the_rows_of_the_literal_compilation(
    chdb_ws: Workspace, text: str, parameterisable: bool
) -> None:
    compiled, ok = kql.translate_parameterised(text, chdb_ws.catalog, "clickhouse", now=BASE - timedelta(days=3),
                                               time_range=(BASE - timedelta(days=4), BASE - timedelta(days=3)))  # fmt: skip
    assert ok
    now = BASE - timedelta(minutes=47, microseconds=13)
    window = (now - timedelta(hours=4), now - timedelta(minutes=20))
    literal = chdb_ws.translate(text, now=now, time_range=window)[0]
    expected = chdb_ws.store.execute(literal.sql, list(literal.columns), chdb_ws.limits)
    query = compiled[0]
    got = chdb_ws.store.execute(  # type: ignore[call-arg]
        query.sql, list(query.columns), chdb_ws.limits, parameters=query.parameter_values(now, window)
    )
    assert sorted(got.rows, key=repr) == sorted(expected.rows, key=repr)


def test_parameter_values_keep_microseconds_and_mean_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert parameter_texts(
        {
            "a": datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC),
            "b": datetime(2026, 3, 14, 11, 0, tzinfo=plus_two),
            "c": datetime(2026, 3, 14, 9, 0, 0, 1),  # no zone: UTC, as KQL's datetimes are
        }
    ) == {"a": "2026-03-14 09:26:53.589793", "b": "2026-03-14 09:00:00.000000", "c": "2026-03-14 09:00:00.000001"}  # fmt: skip


class _RecordingClient:
    """Stands in for clickhouse-connect's client: no ClickHouse server runs here (see
    test_clickhouse_server.py), so this records what the server store hands the client."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def query_arrow(self, query: str, **options: Any) -> Any:
        import pyarrow as pa

        self.calls.append({"query": query, **options})
        return pa.table({"n": pa.array([1], pa.int64())})


def test_the_server_store_sends_the_values_as_server_side_parameters() -> None:
    from clickhouse_connect.driver.binding import bind_query

    store = ClickHouseEventStore.__new__(ClickHouseEventStore)
    store.url = ClickHouseUrl.parse("clickhouse://h:8123/")
    client = _RecordingClient()
    store._client = client
    assert store.takes_parameters
    sql = "SELECT count() AS n FROM T WHERE s LIKE '%a%' AND t > {wk_now: DateTime64(6, 'UTC')}"
    moment = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
    store.execute(sql, [("n", KqlType.LONG)], QueryLimits(), parameters={"wk_now": moment})
    (call,) = client.calls
    assert call["parameters"] == {"wk_now": "2026-03-14 09:26:53.589793"}
    # what clickhouse-connect then sends: the SQL as written, the value as the HTTP parameter param_wk_now
    assert bind_query(call["query"], call["parameters"]) == (call["query"], {"param_wk_now": "2026-03-14 09:26:53.589793"})  # fmt: skip
    store.execute("SELECT 1 AS n", [("n", KqlType.LONG)], QueryLimits())
    assert client.calls[1]["parameters"] is None


def test_a_rule_compiled_once_runs_over_two_windows_on_a_server() -> None:
    """The same on a ClickHouse server, when ``WK_TEST_CLICKHOUSE_URL`` names one."""
    url = os.environ.get("WK_TEST_CLICKHOUSE_URL")
    if not url:
        pytest.skip(
            "no ClickHouse server here: set WK_TEST_CLICKHOUSE_URL=clickhouse://user:pw@host:8123/ to run"
        )
    store = ClickHouseEventStore(url, f"wk_test_{uuid.uuid4().hex}")
    ws = Workspace(store)
    try:
        ws.ingest("SecurityEvent", _events(BASE))
        test_a_rule_compiled_once_runs_over_two_windows(ws)
    finally:
        store._command(f"DROP DATABASE IF EXISTS `{store.database}`")
        ws.close()
