"""The scan operator and row_window_session(): what they refuse, and why, with the span of the
part they cannot run; the answers themselves are golden cases (cases/scan, cases/window)."""

from __future__ import annotations

import pytest

from watchkeeper import KqlBindError, KqlError, KqlSyntaxError, UnsupportedError, Workspace, kql

SOURCE = "range x from 1 to 3 step 1 | "


def error_of(text: str) -> KqlError:
    with pytest.raises(KqlError) as info:
        kql.compile(text)
    return info.value


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        (
            SOURCE + "scan with (step s1 output=last: true;)",
            "unsupported: scan step output=last (which record of a series of repeated matches is the "
            "last one is only known when a later record ends the series)",
            41,
        ),
        (
            SOURCE + "scan declare (total:long=0) with (step s1: true => total = total + x;)",
            "unsupported: scan: the declared column 'total' read without a step name (read it from "
            "the state, e.g. step.total)",
            81,
        ),
        (
            SOURCE + "scan declare (p:long) with (step s1: x > prev(x) => p = x;)",
            "unsupported: scan: prev() in a step (compute it with extend before the scan)",
            67,
        ),
        (
            SOURCE + "where row_window_session(now(), 1h, 5m) > now()",
            "unsupported: row_window_session() inside an expression or outside extend (write extend "
            "Name = row_window_session(...) as its own item)",
            36,
        ),
    ],
)
def test_what_scan_cannot_run_fails_loudly_with_its_span(text: str, message: str, column: int) -> None:
    error = error_of(text)
    assert isinstance(error, UnsupportedError)
    assert error.message == message
    assert (error.line, error.column) == (1, column)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SOURCE + "scan with (step s1: true; step s1: false;)", "scan has two steps named 's1'"),
        (
            SOURCE + "scan declare (x:long) with (step s1: true;)",
            "scan declares the column 'x', which its input",
        ),
        (
            SOURCE + "scan with (step s1: true => y = 1;)",
            "scan can assign only declared columns, and 'y' is not",
        ),
        (SOURCE + "scan with (step s1: x;)", "a scan step needs a boolean condition, not a long"),
        (SOURCE + "scan declare (d:long=x) with (step s1: true;)", "unknown name 'x'"),
    ],
)
def test_scan_errors_name_the_mistake(text: str, message: str) -> None:
    error = error_of(text)
    assert isinstance(error, KqlBindError)
    assert error.message.startswith(message)


@pytest.mark.parametrize(
    "text",
    [
        SOURCE + "scan with (step s1: true)",  # a step ends with ';'
        SOURCE + "scan with ()",
        SOURCE + "scan with (step s1 output=some: true;)",
        SOURCE + "scan declare (d long) with (step s1: true;)",
    ],
)
def test_malformed_scans_are_syntax_errors(text: str) -> None:
    assert isinstance(error_of(text), KqlSyntaxError)


def test_scan_follows_the_order_sort_gives_it() -> None:
    """The same rows sorted the other way give other running sums: scan numbers the rows in the
    order of the last sort, not in storage order."""
    ws = Workspace.open(None)
    text = (
        "datatable(x:long)[1, 2, 3] | sort by x {} "
        "| scan declare (total:long=0) with (step s1: true => total = s1.total + x;)"
        "| project x, total"
    )
    assert ws.query(text.format("asc")).rows == [(1, 1), (2, 3), (3, 6)]
    assert ws.query(text.format("desc")).rows == [(3, 3), (2, 5), (1, 6)]


def test_a_session_column_replaces_a_column_of_the_same_name_in_place() -> None:
    ws = Workspace.open(None)
    result = ws.query(
        "datatable(T:datetime, k:long)[datetime(2024-01-01 00:00), 1, datetime(2024-01-01 00:20), 2]"
        "| extend T = row_window_session(T, 1h, 30m)"
    )
    assert [name for name, _ in result.columns] == ["T", "k"]
    assert [row[1] for row in result.rows] == [1, 2]
    assert result.rows[0][0] == result.rows[1][0]


def test_scan_runs_past_a_thousand_rows_on_clickhouse() -> None:
    """ClickHouse stops a recursive CTE at 1,000 steps unless told otherwise; scan takes one per row."""
    from watchkeeper.store.clickhouse import ChdbEventStore

    ws = Workspace(ChdbEventStore())
    text = (
        "range x from 1 to 1001 step 1 | scan declare (total:long=0) with (step s1: true => total = s1.total + x;)"
        "| summarize max(total), count()"
    )
    assert ws.query(text).rows == [(1001 * 1002 // 2, 1001)]
