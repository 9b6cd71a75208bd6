"""Query limits are reported, never silent: a result cut at the row limit says so; a query past the
time limit is cancelled with :class:`~watchkeeper.QueryTimeout`."""

from __future__ import annotations

import time

import pytest

from watchkeeper import QueryLimits, QueryTimeout, RowLimitExceeded, Workspace
from watchkeeper.errors import InvalidRequestError

# A cross join of two 20k-row ranges: 400 million rows to count, far beyond half a second.
# ten billion joined rows: seconds even for ClickHouse, far more for DuckDB
SLOW = (
    "range a from 1 to 100000 step 1 | extend k = 1"
    " | join kind=inner (range b from 1 to 100000 step 1 | extend k = 1) on k"
    " | summarize count()"
)


def test_a_result_over_the_row_limit_is_cut_and_says_so(engine_ws: Workspace) -> None:
    result = engine_ws.query("range x from 1 to 100 step 1", limits=QueryLimits(max_rows=10))
    assert len(result.rows) == 10
    assert result.truncated
    assert result.warnings == ["the result was cut to the row limit of 10 rows"]


def test_a_result_at_the_row_limit_is_not_truncated(engine_ws: Workspace) -> None:
    result = engine_ws.query("range x from 1 to 10 step 1", limits=QueryLimits(max_rows=10))
    assert len(result.rows) == 10
    assert not result.truncated
    assert result.warnings == []


def test_strict_row_limit_raises(engine_ws: Workspace) -> None:
    with pytest.raises(RowLimitExceeded) as info:
        engine_ws.query("range x from 1 to 100 step 1", limits=QueryLimits(max_rows=10, strict_rows=True))
    assert info.value.limit == 10
    assert "row limit of 10 rows" in str(info.value)


def test_the_workspace_default_limits_apply(ws: Workspace) -> None:
    limited = Workspace(ws.store, limits=QueryLimits(max_rows=3))
    result = limited.query("range x from 1 to 5 step 1")
    assert (len(result.rows), result.truncated) == (3, True)


def test_a_long_query_is_cancelled_with_query_timeout(engine_ws: Workspace) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as info:
        engine_ws.query(SLOW, limits=QueryLimits(timeout=0.5))
    elapsed = time.monotonic() - started
    assert info.value.seconds == 0.5
    assert str(info.value) == "query exceeded the time limit of 0.5 s and was cancelled"
    assert elapsed < 10  # cancelled, not run to completion


def test_the_workspace_answers_again_after_a_timeout(engine_ws: Workspace) -> None:
    with pytest.raises(QueryTimeout):
        engine_ws.query(SLOW, limits=QueryLimits(timeout=0.5))
    assert engine_ws.query("print x = 1").rows == [(1,)]


def test_a_quick_query_is_not_affected_by_the_time_limit(engine_ws: Workspace) -> None:
    assert engine_ws.query("range x from 1 to 1000 step 1 | count", limits=QueryLimits(timeout=5)).rows == [
        (1000,)
    ]


def test_a_time_range_limits_every_table_to_it(engine_ws: Workspace) -> None:
    from datetime import UTC, datetime

    engine_ws.ingest(
        "Heartbeat", [{"TimeGenerated": f"2024-01-0{d}T00:00:00Z", "Computer": f"h{d}"} for d in (1, 2, 3)]
    )
    engine_ws.ingest("Syslog", [{"TimeGenerated": "2024-01-02T06:00:00Z", "Computer": "s"}])
    window = (datetime(2024, 1, 1, 12, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC))
    query = "union Heartbeat, Syslog, (print TimeGenerated = datetime(2020-01-01), Computer = 'p') | project Computer"
    assert sorted(engine_ws.query(query, time_range=window).rows) == [("h2",), ("p",), ("s",)]
    # the end is exclusive, as in Log Analytics
    end_exclusive = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    assert engine_ws.query("Heartbeat | project Computer", time_range=end_exclusive).rows == [("h1",)]
    assert engine_ws.query("Heartbeat | count").rows == [(3,)]


def test_a_servertimeout_that_is_not_a_timespan_is_refused_not_ignored() -> None:
    with Workspace.open(None) as workspace:
        assert workspace.query("set servertimeout = 10s; print 1").rows == [(1,)]
        with pytest.raises(InvalidRequestError, match="set servertimeout: 'soon' is not a timespan"):
            workspace.query('set servertimeout = "soon"; print 1')
