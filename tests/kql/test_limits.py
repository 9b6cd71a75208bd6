"""Query limits are reported, never silent: a result cut at the row limit says so; a query past the
time limit is cancelled with :class:`~watchkeeper.QueryTimeout`."""

from __future__ import annotations

import time

import pytest

from watchkeeper import QueryLimits, QueryTimeout, RowLimitExceeded, Workspace

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
