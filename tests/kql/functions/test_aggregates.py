"""Aggregate functions on DuckDB and chdb: counts, sums and means of every type, the arg_max null
rules, sets/lists/bags, nearest-rank percentiles (checked against a Python reference on random
values), spread statistics and the exact sketches."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kql.functions.datatables import table
from watchkeeper import Workspace

PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def summarize(ws: Workspace, columns: dict[str, str], rows: list[tuple[Any, ...]], aggregates: str,
              by: str = "") -> list[tuple[Any, ...]]:  # fmt: skip
    tail = f" by {by} | order by {by.split('=')[0].strip()} asc" if by else ""
    return ws.query(f"{table(columns, rows)} | summarize {aggregates}{tail}").rows


def nearest_rank(items: list[float], percent: float) -> float:
    ordered = sorted(items)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


# ---------------------------------------------------------------------------- counting, sums, means


def test_counts_ignore_nulls_where_kusto_does(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"s": "string", "n": "long"}, [("a", 1), ("b", None), ("a", 3), ("c", 3)],
                     "count(), countif(n > 1), dcount(s), dcount(n, 2), dcountif(s, n > 1)")  # fmt: skip
    assert rows == [(4, 2, 3, 2, 2)]


def test_sums_and_means_of_each_type(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"n": "int", "r": "real", "t": "timespan", "d": "datetime", "b": "bool"},
                     [(1, 1.5, 36_000_000_000, dt("2020-01-01"), True), (2, 2.5, 108_000_000_000, dt("2020-01-03"), False),
                      (None, None, None, None, None)],
                     "sum(n), sum(r), sum(t), avg(n), avg(t), avg(d), sumif(n, b), avgif(r, not(b)), sum(b)")  # fmt: skip
    assert rows == [(3, 4.0, timedelta(hours=4), 1.5, timedelta(hours=2), dt("2020-01-02"), 1, 2.5, 1)]


def test_extremes_and_any(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"n": "long", "s": "string", "d": "datetime"},
                     [(3, "b", dt("2020-01-02")), (None, "a", None), (7, "c", dt("2020-01-01"))],
                     "min(n), max(n), min(s), max(d), minif(n, s != 'b'), maxif(n, s == 'b'), take_any(n)")  # fmt: skip
    assert rows[0][:6] == (3, 7, "a", dt("2020-01-02"), 7, 3)
    assert rows[0][6] in (3, 7)


# ---------------------------------------------------------------------------- arg_max, arg_min


def test_arg_max_returns_the_row_of_the_largest_value_even_with_nulls(engine_ws: Workspace) -> None:
    """The reference's example: a group whose values are all null still gives a row."""
    rows = summarize(engine_ws, {"Fruit": "string", "Color": "string", "Version": "int"},
                     [("Apple", "Red", 1), ("Apple", "Green", None), ("Banana", "Yellow", None),
                      ("Pear", "Brown", 1), ("Pear", "Green", 2)],
                     "arg_max(Version, Color), c = count()", by="Fruit")  # fmt: skip
    assert rows == [("Apple", 1, "Red", 2), ("Banana", None, "Yellow", 1), ("Pear", 2, "Green", 2)]


def test_arg_min_keeps_a_null_value_of_the_chosen_row(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"k": "string", "by": "long", "v": "string", "n": "long"},
                     [("a", 1, "x", None), ("a", 2, "y", 5)], "arg_min(by, n), c = count()", by="k")  # fmt: skip
    assert rows == [("a", 1, None, 2)]


# ---------------------------------------------------------------------------- sets, lists, bags


def test_lists_and_sets(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"n": "long", "a": "dynamic"}, [(3, [1, 2]), (None, [2, 3]), (1, None), (3, [3])],
                     "make_set(n), make_set(a), make_list_with_nulls(n), make_list(a), make_set_if(n, n > 1), "
                     "make_list(n, 2)")  # fmt: skip
    assert rows[0][:2] == ([1, 3], [1, 2, 3])
    assert sorted(rows[0][2], key=lambda v: (v is not None, v)) == [None, 1, 3, 3]
    assert sorted(rows[0][3]) == [1, 2, 2, 3, 3]  # an array adds its elements, as Kusto's make_list does
    assert rows[0][4] == [3]
    assert len(rows[0][5]) == 2


def test_make_bag_merges_the_bags_of_the_group(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"p": "dynamic", "ok": "bool"},
                     [({"a": 1}, True), ({"b": {"c": 2}}, False), ("text", True), ({"d": [1]}, True)],
                     "make_bag(p), make_bag_if(p, ok)")  # fmt: skip
    assert rows == [({"a": 1, "b": {"c": 2}, "d": [1]}, {"a": 1, "d": [1]})]


# ---------------------------------------------------------------------------- percentiles


def test_percentiles_use_the_nearest_rank(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"x": "long"}, [(v,) for v in (10, 20, 30, 40)],
                     "percentile(x, 50), percentiles(x, 0, 75, 100), percentiles_array(x, 10, 90)")  # fmt: skip
    assert rows == [(20, 10, 30, 40, [10, 40])]


def test_weighted_percentiles_follow_the_documented_example(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"ReqCount": "long", "LatencyBucket": "long"}, [(8, 10), (6, 20), (3, 30), (1, 40)],
                     "percentilesw(LatencyBucket, ReqCount, 50, 75, 99.9)")  # fmt: skip
    assert rows == [(20, 20, 40)]


@PROPERTY
@given(
    items=st.lists(st.integers(-1000, 1000), min_size=1, max_size=30),
    percent=st.sampled_from([0, 1, 25, 50, 90, 99.9, 100]),
)
def test_percentile_matches_the_nearest_rank(engine_ws: Workspace, items: list[int], percent: float) -> None:
    rows = summarize(engine_ws, {"x": "long"}, [(v,) for v in items], f"percentile(x, {percent})")
    assert rows == [(nearest_rank(items, percent),)]


# ---------------------------------------------------------------------------- spread


def test_spread_statistics(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"x": "long", "y": "long"}, [(v, 2 * v + (v % 2)) for v in range(1, 6)],
                     "stdev(x), stdevp(x), variance(x), variancep(x), covariance(x, y), covariancep(x, y), "
                     "varianceif(x, x > 1), stdevif(x, x > 4)")  # fmt: skip
    assert rows == [(pytest.approx(math.sqrt(2.5)), pytest.approx(math.sqrt(2.0)), 2.5, 2.0, 5.0, 4.0,
                     pytest.approx(5 / 3), 0.0)]  # fmt: skip


def test_covarianceif_documented_example(engine_ws: Workspace) -> None:
    got = engine_ws.query("range x from 1 to 100 step 1 | extend y = iff(x % 2 == 0, x * 2, x * 3) "
                          "| summarize c = covarianceif(x, y, x % 3 == 0)").rows  # fmt: skip
    assert got == [(pytest.approx(2142),)]


def test_bitwise_folds(engine_ws: Workspace) -> None:
    rows = summarize(engine_ws, {"n": "long"}, [(0x88888008,), (0x42000000,), (0x00767000,), (0x00000005,)],
                     "binary_all_or(n), binary_all_and(n), binary_all_xor(n)")  # fmt: skip
    assert rows == [(0xCAFEF00D, 0, 0xCAFEF00D)]


# ---------------------------------------------------------------------------- exact sketches


def test_hll_and_tdigest_are_exact(engine_ws: Workspace) -> None:
    query = (f"{table({'s': 'string', 'v': 'real', 'w': 'long'}, [('a', 1.0, 1), ('b', 2.0, 2), ('a', 5.0, 1)])}"
             " | summarize h = hll(s), t = tdigest(v, w) by k = v > 1"
             " | summarize h = hll_merge(h), t = tdigest_merge(t)"
             " | project d = dcount_hll(h), p50 = percentile_tdigest(t, 50), r = rank_tdigest(t, 2)")  # fmt: skip
    assert engine_ws.query(query).rows == [(2, 2.0, 3)]
