"""Request moments as query parameters: a query compiled once with ``now()``, ``ago()`` and the
time range as parameters returns, run with their values, exactly the rows of the query compiled
with them as literals; queries that need a moment's value to compile say they are not
parameterisable and still answer right; the workspace keeps compiled queries until its catalog
changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watchkeeper import Workspace, kql
from watchkeeper.store.duckdb import DuckDBEventStore

BASE = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)

# (query, parameterisable)
QUERIES = [
    ("SecurityEvent | where TimeGenerated > ago(1h) | project TimeGenerated, EventID", True),
    ("SecurityEvent | where TimeGenerated between (ago(3h) .. now(-30m)) | summarize count()", True),
    ("SecurityEvent | where TimeGenerated >= now() - 2h and TimeGenerated < now() + 1s | count", True),
    ("let lookback = 90m; SecurityEvent | where TimeGenerated > ago(lookback) | project EventID", True),
    ("SecurityEvent | summarize n = count() by bin(TimeGenerated, 1h) | order by TimeGenerated asc", True),
    ("SecurityEvent | extend age = now() - TimeGenerated | project age, EventID", True),
    ("SecurityEvent | where TimeGenerated > ago(1h) | join kind=inner (SecurityEvent"
     " | where TimeGenerated > ago(2h) | summarize c = count() by EventID) on EventID"
     " | project TimeGenerated, EventID, c", True),
    ("SecurityEvent | where EventID in ((SecurityEvent | where TimeGenerated > ago(40m)"
     " | distinct EventID)) | project TimeGenerated", True),
    ("range t from ago(5h) to now() step 1h | extend x = t < ago(2h)", True),
    ("SecurityEvent | where TimeGenerated > startofday(now()) | count", False),
    ("SecurityEvent | where TimeGenerated > ago(6h) | make-series c = count() default = 0"
     " on TimeGenerated from ago(6h) to now() step 1h", True),
    ("print hour = hourofday(now()), day = dayofweek(ago(1d))", False),
    ("set query_now = datetime(2026-03-14 08:00:00); SecurityEvent | where TimeGenerated > ago(1h) | count", True),
]  # fmt: skip


def _rows(base: datetime) -> list[dict[str, object]]:
    return [
        {"TimeGenerated": base - timedelta(minutes=7 * i, microseconds=i), "EventID": 4624 + i % 5}
        for i in range(120)
    ]


@pytest.fixture(scope="module")
def store() -> DuckDBEventStore:
    ws = Workspace.open(None)
    ws.ingest("SecurityEvent", _rows(BASE))
    return ws.store  # type: ignore[return-value]


def _sorted(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted(rows, key=repr)


@pytest.mark.parametrize(("text", "parameterisable"), QUERIES)
@pytest.mark.parametrize("shift", [timedelta(0), timedelta(minutes=47, microseconds=13), timedelta(hours=5)])
def test_parameterised_sql_gives_the_rows_of_the_literal_compilation(
    store: DuckDBEventStore, text: str, parameterisable: bool, shift: timedelta
) -> None:
    ws = Workspace(store)
    catalog = ws.catalog
    # compiled once, at another moment than the runs below
    compiled, ok = kql.translate_parameterised(text, catalog, now=BASE - timedelta(days=3),
                                               time_range=(BASE - timedelta(days=4), BASE - timedelta(days=3)))  # fmt: skip
    assert ok is parameterisable
    now = BASE - shift
    window = (now - timedelta(hours=4), now - timedelta(minutes=20))
    expected = ws.store.execute(*_literal(ws, text, now, window))
    if ok:
        query = compiled[0]
        got = ws.store.execute(query.sql, list(query.columns), ws.limits, query.parameter_values(now, window))
        assert _sorted(got.rows) == _sorted(expected.rows)
    assert _sorted(ws.query(text, now=now, time_range=window).rows) == _sorted(expected.rows)


def _literal(ws: Workspace, text: str, now: datetime, window: tuple[datetime, datetime]) -> tuple:  # type: ignore[type-arg]
    query = ws.translate(text, now=now, time_range=window)[0]
    return query.sql, list(query.columns), ws.limits


@pytest.mark.parametrize(("text", "parameterisable"), QUERIES)
def test_clickhouse_sql_takes_the_same_parameters(text: str, parameterisable: bool) -> None:
    window = (BASE - timedelta(hours=1), BASE)
    duck, ok = kql.translate_parameterised(text, now=BASE, time_range=window)
    house, ok_house = kql.translate_parameterised(text, dialect="clickhouse", now=BASE, time_range=window)
    assert (ok, ok_house) == (parameterisable, parameterisable)
    assert [p.name for p in duck[0].parameters] == [p.name for p in house[0].parameters]
    for parameter in house[0].parameters:
        assert "{" + parameter.name + ": DateTime64(6, 'UTC')}" in house[0].sql


def test_the_workspace_compiles_a_rule_once_for_every_window() -> None:
    ws = Workspace.open(None)
    ws.ingest("SecurityEvent", _rows(BASE))
    text = "SecurityEvent | where TimeGenerated > ago(30m) | project TimeGenerated, EventID"
    counts = []
    for hour in range(4):
        end = BASE - timedelta(hours=hour)
        counts.append(len(ws.query(text, now=end, time_range=(end - timedelta(hours=1), end)).rows))
    assert counts == [4, 4, 4, 4]  # one event every 7 minutes, the window's end excluded
    assert (ws.compiled.misses, ws.compiled.hits, len(ws.compiled)) == (1, 3, 1)


def test_a_new_custom_column_invalidates_compiled_queries() -> None:
    ws = Workspace.open(None)
    ws.ingest("App_CL", [{"TimeGenerated": BASE, "a": 1}])
    assert ws.query("App_CL | where TimeGenerated > ago(1h) | project a", now=BASE).rows == [(1,)]
    assert len(ws.compiled) == 1
    ws.ingest("App_CL", [{"TimeGenerated": BASE, "a": 2, "b": "x"}])
    rows = ws.query("App_CL | where TimeGenerated > ago(1h) | project a", now=BASE).rows
    assert sorted(rows) == [(1,), (2,)]
    assert ws.query(
        "App_CL | where TimeGenerated > ago(1h) | where isnotempty(b) | project b", now=BASE
    ).rows == [("x",)]


def test_a_literal_only_query_is_compiled_for_each_run() -> None:
    ws = Workspace.open(None)
    ws.ingest("SecurityEvent", _rows(BASE))
    text = "SecurityEvent | where TimeGenerated > startofday(now()) | count"
    first = ws.query(text, now=BASE).rows
    later = ws.query(text, now=BASE + timedelta(days=1)).rows
    assert first == [(sum(1 for r in _rows(BASE) if r["TimeGenerated"] >= BASE.replace(hour=0, minute=0,
                                                                                      second=0, microsecond=0)),)]  # type: ignore[operator]  # fmt: skip
    assert later == [(0,)]


def test_the_cache_is_bounded() -> None:
    ws = Workspace.open(None)
    ws.compiled.capacity = 3
    for minutes in range(5):
        ws.query(f"print x = ago({minutes + 1}m)", now=BASE)
    assert len(ws.compiled) == 3
