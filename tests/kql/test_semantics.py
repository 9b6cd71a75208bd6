"""Kusto semantics the engine must keep on every store (DuckDB and ClickHouse through chdb): string
comparison rules, term matching, nulls and empty strings, dynamic values, timespans and datetimes,
``between`` with timespans, join ``innerunique``, ``take`` without order, ``summarize`` naming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from watchkeeper import KqlType, Workspace


def one_row(ws: Workspace, text: str) -> dict[str, Any]:
    result = ws.query(text)
    assert len(result.rows) == 1, result.rows
    return dict(zip(result.column_names, result.rows[0], strict=True))


# ---------------------------------------------------------------- string comparison


def test_equality_is_case_sensitive_and_tilde_is_not(engine_ws: Workspace) -> None:
    row = one_row(engine_ws, 'print a = "abc" == "ABC", b = "abc" =~ "ABC", c = "abc" != "ABC", d = "abc" !~ "ABC", '
                             'e = "abc" in ("ABC"), f = "abc" in~ ("ABC"), g = "abc" !in ("ABC"), h = "abc" !in~ ("ABC")')  # fmt: skip
    assert row == {"a": False, "b": True, "c": True, "d": False, "e": False, "f": True, "g": True, "h": False}


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        ('"North America" has "america"', True),  # a whole term, any case
        ('"North America" has "amer"', False),  # not a prefix of a term
        ('"ad67d136-c1db-4f9f" has "c1db"', True),  # terms split at non-alphanumerics
        ('"xyz" has "y"', False),
        ('"xyz" !has "y"', True),
        ('"a.b.c" has "b"', True),
        ('"Kusto: ab;cd" has "ab"', True),
        ('"abc" has_cs "ABC"', False),
        ('"North America" hasprefix "amer"', True),
        ('"North America" hassuffix "rica"', True),
        ('"FabriKam" contains "BRik"', True),
        ('"FabriKam" contains_cs "brik"', False),
        ('"Fabrikam" !contains "xyz"', True),
        ('"Fabrikam" startswith "fab"', True),
        ('"Fabrikam" startswith_cs "fab"', False),
        ('"Fabrikam" endswith "KAM"', True),
        ('"Fabrikam" has_any ("x", "fabrikam")', True),
        ('"a b c" has_all ("c", "a")', True),
        ('"a b c" has_all ("c", "d")', False),
        ('"abc" matches regex "^a.c$"', True),
    ],
)
def test_string_operators(engine_ws: Workspace, predicate: str, expected: bool) -> None:
    assert one_row(engine_ws, f"print r = {predicate}") == {"r": expected}


def test_has_over_a_column(engine_ws: Workspace) -> None:
    text = 'datatable(s:string)["North America", "Americas", "south-america", ""] | where s has "America" | project s'
    assert sorted(r[0] for r in engine_ws.query(text).rows) == ["North America", "south-america"]


# ---------------------------------------------------------------- nulls and empty strings


def test_strings_are_never_null(engine_ws: Workspace) -> None:
    engine_ws.ingest("Items_CL", [{"Name": "a", "N": 1}, {"Name": None, "N": None}, {"Name": "", "N": 3}])
    result = engine_ws.query(
        "Items_CL | project Name, N, e = isempty(Name), nn = isnull(Name), l = strlen(Name)"
    )
    assert sorted(result.rows, key=str) == sorted(
        [("a", 1, False, False, 1), ("", None, True, False, 0), ("", 3, True, False, 0)], key=str
    )
    assert engine_ws.query('Items_CL | where Name == "" | count').rows == [(2,)]
    assert engine_ws.query("Items_CL | summarize count() by Name | order by Name asc").rows == [
        ("", 2),
        ("a", 1),
    ]


def test_nulls_in_functions_and_aggregates(engine_ws: Workspace) -> None:
    engine_ws.ingest("Items_CL", [{"N": 1}, {"N": None}, {"N": 3}])
    row = one_row(
        engine_ws,
        "Items_CL | summarize c = count(), s = sum(N), a = avg(N), n = countif(isnull(N)), d = dcount(N)",
    )
    assert row == {"c": 3, "s": 4, "a": 2.0, "n": 1, "d": 2}
    row = one_row(engine_ws, 'print a = tostring(long(null)), b = strcat("a", long(null), "b"), c = isempty(long(null)), '
                             "d = long(null) + 1, e = long(null) > 1, f = isnull(real(null) * 2)")  # fmt: skip
    assert row == {"a": "", "b": "ab", "c": True, "d": None, "e": None, "f": True}


def test_comparing_a_value_with_null(engine_ws: Workspace) -> None:
    # null-values doc: val == null is false when val is not null, != is true; ordering with null is null
    text = ("datatable(val:int)[5, int(null)] | extend gt = val > 3, eq = val == int(null), "
            "ne = val != int(null), orNull = val > 3 or isnull(val)")  # fmt: skip
    result = engine_ws.query(text)
    assert result.rows == [(5, True, False, True, True), (None, None, None, None, True)]


def test_where_drops_rows_whose_predicate_is_null(engine_ws: Workspace) -> None:
    text = 'datatable(v:long, s:string)[5, "a", long(null), "b", 1, "c"] | where v > 2 or v < 0 | project s'
    assert engine_ws.query(text).rows == [("a",)]


def test_sort_puts_nulls_first_ascending_and_last_descending(engine_ws: Workspace) -> None:
    source = "datatable(n:long)[3, long(null), 1]"
    assert engine_ws.query(f"{source} | sort by n asc").rows == [(None,), (1,), (3,)]
    assert engine_ws.query(f"{source} | sort by n desc").rows == [(3,), (1,), (None,)]
    assert engine_ws.query(f"{source} | sort by n desc nulls first").rows == [(None,), (3,), (1,)]
    assert engine_ws.query(f"{source} | sort by n").rows == [(3,), (1,), (None,)]  # descending by default


# ---------------------------------------------------------------- dynamic


def test_dynamic_values(engine_ws: Workspace) -> None:
    text = ('print d = dynamic({"a": {"b": [1, 2, {"c": "x"}]}}) | extend x = d.a.b[2].c, y = d["a"]["b"][0], '
            "z = array_length(d.a.b), w = d.missing, t = gettype(d.a), u = tostring(d.a.b), v = d.a.b[-1]")  # fmt: skip
    row = one_row(engine_ws, text)
    assert row["d"] == {"a": {"b": [1, 2, {"c": "x"}]}}
    assert {k: row[k] for k in "xyzwtuv"} == {
        "x": "x", "y": 1, "z": 3, "w": None, "t": "dictionary", "u": '[1,2,{"c":"x"}]', "v": {"c": "x"},
    }  # fmt: skip
    assert engine_ws.query(text).columns[1] == ("x", KqlType.DYNAMIC)


def test_mv_expand_and_parse_json(engine_ws: Workspace) -> None:
    text = 'print j = \'{"ips": ["10.0.0.1", "10.0.0.2"]}\' | extend d = parse_json(j) | mv-expand ip = d.ips | project ip = tostring(ip)'
    assert engine_ws.query(text).rows == [("10.0.0.1",), ("10.0.0.2",)]


# ---------------------------------------------------------------- timespans and datetimes


def test_timespan_literals_and_arithmetic(engine_ws: Workspace) -> None:
    row = one_row(engine_ws, "print a = 1d + 2h, b = 1h * 3, c = 2d - 1d, d = time(1.02:03:04), e = tolong(1s), "
                             "f = 1.5h, g = -30m, h = 1h / 30m, i = 100ms, j = totimespan('1.00:00:00')")  # fmt: skip
    assert row == {
        "a": timedelta(days=1, hours=2), "b": timedelta(hours=3), "c": timedelta(days=1),
        "d": timedelta(days=1, hours=2, minutes=3, seconds=4), "e": 10_000_000, "f": timedelta(minutes=90),
        "g": timedelta(minutes=-30), "h": 2.0, "i": timedelta(milliseconds=100), "j": timedelta(days=1),
    }  # fmt: skip


def test_datetime_literals_and_arithmetic(engine_ws: Workspace) -> None:
    row = one_row(engine_ws, "print a = datetime(2024-01-01) + 1d, b = datetime(2024-01-02) - datetime(2024-01-01), "
                             "c = datetime(2024-03-10 12:30:45.123), d = bin(datetime(2024-01-01 10:31), 1h), "
                             "e = datetime(2024-01-01) < datetime(2024-01-02), f = startofday(datetime(2024-01-01 10:31)), "
                             "g = todatetime('2024-01-01T10:00:00Z'), h = datetime(2024-01-01T10:00:00+02:00)")  # fmt: skip
    assert row == {
        "a": datetime(2024, 1, 2, tzinfo=UTC), "b": timedelta(days=1),
        "c": datetime(2024, 3, 10, 12, 30, 45, 123000, tzinfo=UTC), "d": datetime(2024, 1, 1, 10, tzinfo=UTC),
        "e": True, "f": datetime(2024, 1, 1, tzinfo=UTC), "g": datetime(2024, 1, 1, 10, tzinfo=UTC),
        "h": datetime(2024, 1, 1, 8, tzinfo=UTC),
    }  # fmt: skip


def test_between_with_timespans(engine_ws: Workspace) -> None:
    row = one_row(engine_ws, "print t = datetime(2024-01-01 12:00) | extend a = t between (datetime(2024-01-01) .. 1d), "
                             "b = t between (datetime(2024-01-01 13:00) .. 1h), c = 90m between (1h .. 2h), "
                             "d = t !between (datetime(2024-01-01) .. 6h), e = 5 between (1 .. 5)")  # fmt: skip
    assert {k: row[k] for k in "abcde"} == {"a": True, "b": False, "c": True, "d": True, "e": True}


def test_integer_division_truncates_toward_zero(engine_ws: Workspace) -> None:
    row = one_row(
        engine_ws, "print a = 7 / 2, b = -7 / 2, c = 7 % -3, d = -7 % 3, e = 7 / 2.0, f = 1 / 3 * 3"
    )
    assert row == {"a": 3, "b": -3, "c": 1, "d": -1, "e": 3.5, "f": 0}


# ---------------------------------------------------------------- joins, take, summarize


LEFT = 'datatable(k:string, v:long)["a", 1, "a", 2, "b", 3, "c", 4]'
RIGHT = 'datatable(k:string, w:long)["a", 10, "a", 20, "b", 30, "d", 40]'


def test_join_defaults_to_innerunique(engine_ws: Workspace) -> None:
    # one left row per key survives (which one is unspecified), matched with every right row
    rows = engine_ws.query(f"{LEFT} | join ({RIGHT}) on k | project k, w").rows
    assert sorted(rows) == [("a", 10), ("a", 20), ("b", 30)]
    assert engine_ws.query(f"{LEFT} | join ({RIGHT}) on k | summarize dcount(v) by k | order by k asc").rows == [
        ("a", 1), ("b", 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "count"),
    [("inner", 5), ("leftouter", 6), ("rightouter", 6), ("fullouter", 7), ("leftanti", 1), ("rightanti", 1),
     ("leftsemi", 3), ("rightsemi", 3)],
)  # fmt: skip
def test_join_kinds_row_counts(engine_ws: Workspace, kind: str, count: int) -> None:
    assert engine_ws.query(f"{LEFT} | join kind={kind} ({RIGHT}) on k | count").rows == [(count,)]


def test_lookup_keeps_every_left_row(engine_ws: Workspace) -> None:
    rows = engine_ws.query(
        f'{LEFT} | lookup (datatable(k:string, name:string)["a", "A", "b", "B"]) on k | project v, name'
    ).rows
    assert sorted(rows) == [(1, "A"), (2, "A"), (3, "B"), (4, "")]


def test_take_without_order_returns_that_many_rows(engine_ws: Workspace) -> None:
    result = engine_ws.query("range x from 1 to 100 step 1 | take 5")
    assert len(result.rows) == 5
    assert {r[0] for r in result.rows} <= set(range(1, 101))
    assert engine_ws.query("range x from 1 to 3 step 1 | take 10 | count").rows == [(3,)]


def test_summarize_output_naming(engine_ws: Workspace) -> None:
    result = engine_ws.query(
        "range x from 1 to 10 step 1 | summarize count(), sum(x), dcount(x % 3) by bucket = x % 2 | order by bucket asc"
    )
    assert result.column_names == ["bucket", "count_", "sum_x", "dcount_"]
    assert result.rows == [(0, 5, 30, 3), (1, 5, 25, 3)]
    named = engine_ws.query(
        "datatable(Account:string, T:datetime)['a', datetime(2024-01-01 10:30)] | summarize count() by bin(T, 1h), Account"
    )
    assert named.columns == [("T", KqlType.DATETIME), ("Account", KqlType.STRING), ("count_", KqlType.LONG)]
    assert named.rows == [(datetime(2024, 1, 1, 10, tzinfo=UTC), "a", 1)]


def test_arg_max_returns_the_whole_row(engine_ws: Workspace) -> None:
    text = 'datatable(k:string, t:long, v:string)["a", 1, "x", "a", 3, "y", "b", 2, "z"] | summarize arg_max(t, *) by k | order by k asc'
    result = engine_ws.query(text)
    assert result.column_names == ["k", "t", "v"]
    assert result.rows == [("a", 3, "y"), ("b", 2, "z")]
