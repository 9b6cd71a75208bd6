"""Conversion and conditional functions on DuckDB and chdb: Kusto's conversion rules (a failed
conversion is null, never an error), the text of every type, and null/empty semantics."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kql.functions.datatables import column_values, values
from watchkeeper import Workspace
from watchkeeper.kql.functions.tonumber import format_real, number_value
from watchkeeper.schema.types import KqlType

PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ---------------------------------------------------------------------------- numbers


def test_text_converts_to_integers_only_in_integer_syntax(engine_ws: Workspace) -> None:
    items = ["5.7", "1e3", " 7 ", "-3", "0x10", "1,000", "+4", "", "9999999999", "5.", "abc"]
    got = values(engine_ws, {"s": "string"}, [(s,) for s in items], "tolong(s)", "toint(s)", "todouble(s)")
    assert got == [
        (None, None, 5.7), (None, None, 1000.0), (7, 7, 7.0), (-3, -3, -3.0), (16, 16, None), (None, None, None),
        (4, 4, 4.0), (None, None, None), (9999999999, None, 9999999999.0), (None, None, 5.0), (None, None, None),
    ]  # fmt: skip


def test_reals_truncate_and_saturate(engine_ws: Workspace) -> None:
    items = [5.7, -5.7, 1e10, -1e10, 1e30, math.nan, None]
    got = values(engine_ws, {"r": "real"}, [(v,) for v in items], "tolong(r)", "toint(r)")
    assert got == [(5, 5), (-5, -5), (10_000_000_000, 2_147_483_647), (-10_000_000_000, -2_147_483_648),
                   (9_223_372_036_854_775_807, 2_147_483_647), (None, None), (None, None)]  # fmt: skip


def test_longs_wrap_to_int(engine_ws: Workspace) -> None:
    got = column_values(
        engine_ws, "long", [9_999_999_999, -9_999_999_999, 2_147_483_648, 4_294_967_296], "toint(x)"
    )
    assert got == [1_410_065_407, -1_410_065_407, -2_147_483_648, 0]


def test_times_convert_to_ticks(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"t": "timespan", "d": "datetime", "b": "bool"}, [(864_000_000_000, dt("2020-01-01"), True)],
                  "tolong(t)", "toint(t)", "todouble(t)", "tolong(d)", "toint(d)", "tolong(b)")  # fmt: skip
    assert rows == [
        (864_000_000_000, 711_573_504, 864_000_000_000.0, 637_134_336_000_000_000, -1_954_807_808, 1)
    ]


def test_a_dynamic_converts_as_what_it_holds(engine_ws: Workspace) -> None:
    items: list[Any] = [5.7, "5.7", 9_999_999_999, " 7 ", True, [1], None]
    got = values(engine_ws, {"d": "dynamic"}, [(v,) for v in items], "tolong(d)", "toint(d)", "todouble(d)")
    assert got == [(5, 5, 5.7), (None, None, 5.7), (9_999_999_999, 1_410_065_407, 9_999_999_999.0), (7, 7, 7.0),
                   (1, 1, 1.0), (None, None, None), (None, None, None)]  # fmt: skip


@PROPERTY
@given(items=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=8))
def test_toint_of_longs_matches_the_reference(engine_ws: Workspace, items: list[int]) -> None:
    assert column_values(engine_ws, "long", items, "toint(x)") == [
        number_value(v, KqlType.INT) for v in items
    ]


@PROPERTY
@given(items=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=8))
def test_tolong_of_reals_matches_the_reference(engine_ws: Workspace, items: list[float]) -> None:
    assert column_values(engine_ws, "real", items, "tolong(x)") == [
        number_value(v, KqlType.LONG) for v in items
    ]


# ---------------------------------------------------------------------------- text


def test_the_text_of_each_type(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"b": "bool", "r": "real", "d": "datetime", "t": "timespan", "g": "guid", "n": "long"},
                  [(True, 1.5, dt("2017-01-29 09:00:05"), -(3600 * 10_000_000 + 5), "7D24B7AF-3F2E-4E3A-9D8C-8E0E2E5F5A1B", 42),
                   (None, None, None, None, None, None)],
                  "tostring(b)", "tostring(r)", "tostring(d)", "tostring(t)", "tostring(g)", "tostring(n)")  # fmt: skip
    assert rows == [
        (
            "True",
            "1.5",
            "2017-01-29T09:00:05.0000000Z",
            "-01:00:00.0000005",
            "7d24b7af-3f2e-4e3a-9d8c-8e0e2e5f5a1b",
            "42",
        ),
        ("", "", "", "", "", ""),
    ]


def test_a_datetime_with_a_fraction_prints_seven_digits(engine_ws: Workspace) -> None:
    got = column_values(
        engine_ws, "datetime", [dt("2020-01-02 03:04:05.6"), dt("1969-12-31 23:59:59.999999")], "tostring(x)"
    )
    assert got == ["2020-01-02T03:04:05.6000000Z", "1969-12-31T23:59:59.9999990Z"]


def test_reals_print_like_dotnet(engine_ws: Workspace) -> None:
    items = [
        1.0,
        1.5,
        0.1,
        1e-4,
        1e-5,
        1e15,
        1.5e20,
        -2.5e-300,
        123456789012345.6,
        math.nan,
        math.inf,
        -math.inf,
    ]
    expected = ["1", "1.5", "0.1", "0.0001", "1E-05", "1E+15", "1.5E+20", "-2.5E-300", "123456789012345.6", "NaN",
                "Infinity", "-Infinity"]  # fmt: skip
    assert column_values(engine_ws, "real", items, "tostring(x)") == expected
    assert [format_real(v) for v in items] == expected


@PROPERTY
@given(items=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=8))
def test_the_text_of_a_real_round_trips(engine_ws: Workspace, items: list[float]) -> None:
    rows = values(engine_ws, {"x": "real"}, [(v,) for v in items], "tostring(x)", "toreal(tostring(x))")
    assert [r[0] for r in rows] == [format_real(v) for v in items]
    assert [r[1] for r in rows] == [v + 0.0 for v in items]


# ---------------------------------------------------------------------------- bool, datetime, timespan, guid


def test_tobool_reads_true_false_and_integers(engine_ws: Workspace) -> None:
    items = ["true", "FALSE", " TrUe ", "1", "0", "2", "-1", "1.5", "yes", "", "99999999999999999999"]
    assert column_values(engine_ws, "string", items, "tobool(x)") == [
        True, False, True, True, False, True, True, None, None, None, None,
    ]  # fmt: skip
    assert column_values(engine_ws, "real", [0.0, 1.5], "tobool(x)") == [False, True]
    assert column_values(engine_ws, "dynamic", [True, "true", 1, None], "tobool(x)") == [
        True,
        True,
        True,
        None,
    ]


def test_todatetime_reads_the_forms_kusto_reads(engine_ws: Workspace) -> None:
    items = ["2022-12-02", "2022-12-02 13:45:56", "2022-12-02T13:45:56Z", "2022/12/02", "12-02-2022", "12/02/2022",
             "12.02.2022", "2 Dec 2022", "Dec 2, 2022", "Fri, 02 Dec 2022 13:45:56 GMT", "20221202", "2/3/2022",
             "2022-12-02T13:45:56+02:00", "not a date", "", "13-01-2022", "x12-02-2022"]  # fmt: skip
    day, noon = dt("2022-12-02"), dt("2022-12-02 13:45:56")
    assert column_values(engine_ws, "string", items, "todatetime(x)") == [
        day, noon, noon, day, day, day, day, day, day, noon, day, dt("2022-02-03"), dt("2022-12-02 11:45:56"),
        None, None, None, None,
    ]  # fmt: skip


def test_totimespan_reads_clock_and_unit_forms(engine_ws: Workspace) -> None:
    items = ["0.00:01:00", "1.02:03:04.5", "-01:30:00", "02:03", "1.5h", "30m", "2", "10s", "100ms", "nope"]
    assert column_values(engine_ws, "string", items, "totimespan(x)") == [
        timedelta(minutes=1), timedelta(days=1, hours=2, minutes=3, seconds=4.5), timedelta(minutes=-90),
        timedelta(hours=2, minutes=3), timedelta(hours=1.5), timedelta(minutes=30), timedelta(days=2),
        timedelta(seconds=10), timedelta(milliseconds=100), None,
    ]  # fmt: skip


def test_toguid_accepts_dotnet_forms(engine_ws: Workspace) -> None:
    items = ["0123456789abcdef0123456789abcdef", "0123456789ab-cdef-0123-456789abcdef",
             "{01234567-89AB-CDEF-0123-456789ABCDEF}", "a string that is not a guid"]  # fmt: skip
    guid = "01234567-89ab-cdef-0123-456789abcdef"
    assert column_values(engine_ws, "string", items, "tostring(toguid(x))") == [guid, guid, guid, ""]


# ---------------------------------------------------------------------------- conditional and null


def test_coalesce_skips_nulls_and_empty_strings(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"a": "string", "b": "string", "n": "long", "m": "long", "d": "dynamic"},
                  [("", "fallback", None, 5, None), (" ", "x", 0, 5, [1]), ("", "", None, None, None)],
                  "coalesce(a, b)", "coalesce(n, m)", "coalesce(d, dynamic(7))")  # fmt: skip
    assert rows == [("fallback", 5, 7), (" ", 0, [1]), ("", None, 7)]


def test_iff_case_and_extremes(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"a": "long", "b": "long"}, [(5, 2), (None, 3), (None, None)],
                  "iff(a > b, 'gt', 'le')", "case(a > 4, 'big', b > 2, 'mid', 'small')", "max_of(a, b)",
                  "min_of(a, b, 10)")  # fmt: skip
    assert rows == [("gt", "big", 5, 2), ("le", "mid", 3, 3), ("le", "small", None, 10)]


def test_empty_and_null_tests_per_type(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"s": "string", "n": "long", "d": "dynamic"},
                  [("", None, None), ("x", 1, []), ("", 0, {})],
                  "isempty(s)", "isnull(s)", "isempty(n)", "isnull(n)", "isnotnull(n)", "isempty(d)", "isnull(d)",
                  "isnotempty(d)")  # fmt: skip
    assert rows == [
        (True, False, True, True, False, True, True, False),
        (False, False, False, False, True, False, False, True),
        (True, False, False, False, True, False, False, True),
    ]


def test_new_guid_is_a_fresh_guid_on_every_row(engine_ws: Workspace) -> None:
    result = engine_ws.query("range i from 1 to 50 step 1 | extend g = new_guid() | summarize dcount(g), "
                             "versions = make_set(substring(tostring(g), 14, 1)), lengths = make_set(strlen(tostring(g)))")  # fmt: skip
    assert result.columns[0] == ("dcount_g", KqlType.LONG)
    assert result.rows == [(50, ["4"], [36])]
