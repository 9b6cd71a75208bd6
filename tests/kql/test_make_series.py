"""``make-series`` bounds on DuckDB and chdb: given, computed from the data, ``in range(...)``;
``kind=nonempty``; datetime, number and timespan axes."""

from __future__ import annotations

from typing import Any

from watchkeeper import Workspace

DATA = """datatable(t:datetime, v:long, k:string)
[datetime(2020-01-01), 1, "a", datetime(2020-01-03 10:00), 5, "a", datetime(2020-01-02 05:00), 2, "b"]"""


def day(d: int) -> str:
    return f"2020-01-{d:02d}T00:00:00.0000000Z"


def series(ws: Workspace, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = ws.query(query)
    return [c[0] for c in result.columns], sorted(result.rows, key=repr)


def test_given_bounds(engine_ws: Workspace) -> None:
    query = (
        DATA
        + " | make-series s=sum(v) default=0, a=avg(v) on t from datetime(2020-01-01) to datetime(2020-01-04) step 1d by k"
    )
    cols, rows = series(engine_ws, query)
    assert cols == ["k", "s", "a", "t"]
    assert rows == [("a", [1, 0, 5], [1, None, 5], [day(1), day(2), day(3)]),
                    ("b", [0, 2, 0], [None, 2, None], [day(1), day(2), day(3)])]  # fmt: skip


def test_to_is_exclusive(engine_ws: Workspace) -> None:
    query = (
        DATA + " | make-series s=sum(v) on t from datetime(2020-01-01) to datetime(2020-01-03 09:00) step 1d"
    )
    assert series(engine_ws, query)[1] == [([1, 2, 0], [day(1), day(2), day(3)])]


def test_bounds_from_the_data(engine_ws: Workspace) -> None:
    _cols, rows = series(engine_ws, DATA + " | make-series s=sum(v) default=0 on t step 1d by k")
    assert rows == [("a", [1, 0, 5], [day(1), day(2), day(3)]), ("b", [0, 2, 0], [day(1), day(2), day(3)])]
    only_from = series(engine_ws, DATA + " | make-series count() on t from datetime(2020-01-02) step 1d")
    assert only_from[1] == [([1, 1], [day(2), day(3)])]
    only_to = series(engine_ws, DATA + " | make-series count() on t to datetime(2020-01-03) step 1d")
    assert only_to[1] == [([1, 1], [day(1), day(2)])]


def test_in_range_includes_the_stop(engine_ws: Workspace) -> None:
    query = (
        DATA
        + " | make-series s=sum(v) default=0 on t in range(datetime(2020-01-01), datetime(2020-01-03), 1d) by k"
    )
    assert series(engine_ws, query)[1] == [("a", [1, 0, 0], [day(1), day(2), day(3)]),
                                            ("b", [0, 2, 0], [day(1), day(2), day(3)])]  # fmt: skip


def test_numeric_and_timespan_axes(engine_ws: Workspace) -> None:
    numbers = series(
        engine_ws, "datatable(x:long, v:long)[1, 1, 7, 5, 4, 2] | make-series s=sum(v) on x from 0 step 2"
    )
    assert numbers[1] == [([1, 0, 2, 5], [0, 2, 4, 6])]
    reals = series(
        engine_ws, "datatable(x:real, v:long)[0.5, 1, 1.7, 2] | make-series s=sum(v) on x step 0.5"
    )
    assert reals[1] == [([1, 0, 2], [0.5, 1.0, 1.5])]
    spans = series(
        engine_ws,
        "datatable(x:timespan, v:long)[1h, 1, 3h, 5] | make-series s=sum(v) on x from 0h to 4h step 1h",
    )
    assert spans[1] == [([0, 1, 0, 5], ["00:00:00", "01:00:00", "02:00:00", "03:00:00"])]


def test_nonempty_gives_a_row_for_empty_input(engine_ws: Workspace) -> None:
    base = (
        DATA
        + " | take 0 | make-series {kind} avg(v) default=1.0 on t from datetime(2020-01-01) to datetime(2020-01-03) step 1d"
    )
    assert series(engine_ws, base.format(kind=""))[1] == []
    assert series(engine_ws, base.format(kind="kind=nonempty"))[1] == [([1.0, 1.0], [day(1), day(2)])]


def test_series_functions_on_made_series(engine_ws: Workspace) -> None:
    query = (
        DATA
        + """ | make-series s=sum(v) default=0 on t step 1d by k
                      | extend fit = series_fit_line_dynamic(s), stats = series_stats_dynamic(s)
                      | project k, slope = todouble(fit.slope), mx = todouble(stats.max)"""
    )
    assert series(engine_ws, query)[1] == [("a", 2.0, 5.0), ("b", 0.0, 2.0)]
