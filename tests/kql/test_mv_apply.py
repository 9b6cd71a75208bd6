"""``mv-apply``: the subquery runs once per input row over that row's expanded arrays; the output
is the union, each row led by the input columns the subquery neither expanded nor returned."""

from __future__ import annotations

from typing import Any

import pytest

from watchkeeper import Workspace, kql
from watchkeeper.errors import UnsupportedError

DATA = "let data = datatable (index: int, Arr: dynamic)[0, dynamic([1, 5, 3]), 1, dynamic([10, 2, 5, 7]), 2, dynamic([])];"


def run(ws: Workspace, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = ws.query(query)
    return [c[0] for c in result.columns], sorted(result.rows, key=repr)


def test_top_per_row(ws: Workspace) -> None:
    cols, rows = run(ws, DATA + "data | mv-apply topElem = Arr to typeof(long) on (top 1 by topElem)")
    assert cols == ["index", "Arr", "topElem"]
    assert rows == [(0, [1, 5, 3], 5), (1, [10, 2, 5, 7], 10)]


def test_summarize_per_row_keeps_the_row_columns(ws: Workspace) -> None:
    query = DATA + "data | mv-apply Arr2 = Arr on (top 2 by tolong(Arr2) | summarize Top2 = make_list(Arr2))"
    cols, rows = run(ws, query)
    assert cols == ["index", "Arr", "Top2"]
    assert rows == [(0, [1, 5, 3], [5, 3]), (1, [10, 2, 5, 7], [10, 7]), (2, [], [])]


def test_expanding_in_place_replaces_the_column(ws: Workspace) -> None:
    cols, rows = run(ws, DATA + "data | mv-apply Arr on (summarize n = count(), s = sum(tolong(Arr)))")
    assert cols == ["index", "n", "s"]
    assert rows == [(0, 3, 9), (1, 4, 24), (2, 0, None)]


def test_several_arrays_zip_with_nulls(ws: Workspace) -> None:
    query = """datatable (Val: int, Arr1: dynamic, Arr2: dynamic)
               [1, dynamic(['A1', 'A2']), dynamic(['B1', 'B2', 'B3']), 5, dynamic(['C1', 'C2']), dynamic(['D1'])]
               | mv-apply T1 = Arr1, T2 = Arr2 on (extend Out = strcat(T1, "_", T2) | summarize Out = make_list(Out))"""
    cols, rows = run(ws, query)
    assert cols == ["Val", "Arr1", "Arr2", "Out"]
    assert [r[3] for r in rows] == [["A1_B1", "A2_B2", "_B3"], ["C1_D1", "C2_"]]


def test_item_index_limit_and_outer_columns(ws: Workspace) -> None:
    query = (
        DATA
        + """data | mv-apply with_itemindex = i x = Arr limit 3 on (
                          where tolong(x) > index * 4 | project x = tolong(x), i, tag = strcat('row', index))"""
    )
    cols, rows = run(ws, query)
    assert cols == ["index", "Arr", "x", "i", "tag"]
    expected = [(0, [1, 5, 3], 1, 0, "row0"), (0, [1, 5, 3], 3, 2, "row0"), (0, [1, 5, 3], 5, 1, "row0"),
                (1, [10, 2, 5, 7], 5, 2, "row1"), (1, [10, 2, 5, 7], 10, 0, "row1")]  # fmt: skip
    assert rows == sorted(expected, key=repr)


def test_typed_expansion_feeds_filters_and_aggregates(ws: Workspace) -> None:
    query = DATA + "data | mv-apply x = Arr to typeof(long) on (where x > 2 | summarize s = sum(x))"
    assert run(ws, query)[1] == [(0, [1, 5, 3], 8), (1, [10, 2, 5, 7], 22), (2, [], None)]


def test_bags_of_a_sentinel_style_event(ws: Workspace) -> None:
    query = """datatable(Id: long, EventData: dynamic)
               [1, dynamic({"Data": [{"Name": "User", "#text": "alice"}, {"Name": "Ip", "#text": "10.0.0.1"}]}),
                2, dynamic({"Data": [{"Name": "Ip", "#text": "10.0.0.2"}]})]
               | mv-apply d = EventData.Data on (where d.Name == "Ip" | project Ip = tostring(d["#text"]))
               | project Id, Ip"""
    assert run(ws, query)[1] == [(1, "10.0.0.1"), (2, "10.0.0.2")]


def test_clickhouse_says_unsupported() -> None:
    with pytest.raises(UnsupportedError, match="mv-apply on clickhouse"):
        kql.compile("datatable(a: dynamic)[dynamic([1])] | mv-apply a on (take 1)", dialect="clickhouse")
