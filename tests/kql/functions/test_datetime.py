"""Date and time functions on DuckDB and chdb: the reference's examples, and each engine's SQL
checked against the function's Python reference (its constant-folding ``fold``) on random values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kql.functions.datatables import column_values, values
from watchkeeper import Workspace
from watchkeeper.kql.functions.registry import SCALARS

PROPERTY = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DATETIMES = st.datetimes(
    min_value=datetime(1901, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fold(name: str) -> Any:
    return SCALARS[name].extra["fold"]


# ---------------------------------------------------------------------------- bin, floor, bin_at


def test_bin_rounds_numbers_timespans_and_datetimes_down(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"n": "long", "r": "real", "t": "timespan", "d": "datetime"},
                  [(-7, -6.5, 16 * 864_000_000_000, dt("1970-05-11 13:45:07"))],
                  "bin(n, 2)", "floor(n, 5)", "bin(r, 2.5)", "bin(t, 7d)", "bin(d, 1d)", "bin(d, 1h)")  # fmt: skip
    assert rows == [(-8, -10, -7.5, timedelta(days=14), dt("1970-05-11"), dt("1970-05-11 13:00"))]


def test_bin_of_a_datetime_counts_from_year_one(engine_ws: Workspace) -> None:
    """Kusto's ticks start at 0001-01-01 (a Monday), so seven-day bins start on Mondays."""
    got = column_values(engine_ws, "datetime", [dt("2017-05-17 10:00"), dt("1969-12-31 23:00")], "bin(x, 7d)")
    assert got == [dt("2017-05-15"), dt("1969-12-29")]


def test_bin_gives_null_for_a_null_zero_or_negative_size(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"n": "long", "s": "long"}, [(5, 0), (5, -2), (5, None), (None, 2)], "bin(n, s)")
    assert rows == [(None,), (None,), (None,), (None,)]


def test_bin_at_follows_the_documented_examples(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"r": "real", "t": "timespan", "d": "datetime"},
                  [(6.5, 36_000_000_000, dt("2017-05-15 10:20:00"))],
                  "bin_at(r, 2.5, 7.0)", "bin_at(t, 1d, 12h)", "bin_at(d, 1d, datetime(1970-01-01 12:00:00))")  # fmt: skip
    assert rows == [(4.5, timedelta(hours=-12), dt("2017-05-14 12:00"))]


@PROPERTY
@given(
    items=st.lists(st.tuples(st.integers(-(10**12), 10**12), st.integers(1, 10**6)), min_size=1, max_size=8)
)
def test_bin_of_longs_matches_the_reference(engine_ws: Workspace, items: list[tuple[int, int]]) -> None:
    rows = values(engine_ws, {"v": "long", "s": "long"}, items, "bin(v, s)")
    assert [r[0] for r in rows] == [fold("bin")(v, s) for v, s in items]


@PROPERTY
@given(items=st.lists(DATETIMES, min_size=1, max_size=8),
       step=st.sampled_from([10, 10_000_000, 600_000_000, 36_000_000_000, 864_000_000_000, 7 * 864_000_000_000]))  # fmt: skip
def test_bin_of_datetimes_matches_the_reference(
    engine_ws: Workspace, items: list[datetime], step: int
) -> None:
    got = column_values(engine_ws, "datetime", items, f"bin(x, {step}tick)")
    assert got == [fold("bin")(v, step) for v in items]


# ---------------------------------------------------------------------------- calendar boundaries


def test_start_and_end_of_periods_with_offsets(engine_ws: Workspace) -> None:
    d = dt("2017-01-01 10:10:17")
    rows = values(engine_ws, {"d": "datetime", "o": "long"}, [(d, -1), (d, 0), (d, 1)],
                  "startofweek(d, o)", "endofweek(d, o)", "startofmonth(d, o)", "endofyear(d, o)", "startofday(d, o)")  # fmt: skip
    end = timedelta(microseconds=-1)
    assert rows == [
        (
            dt("2016-12-25"),
            dt("2017-01-01") + end,
            dt("2016-12-01"),
            dt("2017-01-01") + end,
            dt("2016-12-31"),
        ),
        (
            dt("2017-01-01"),
            dt("2017-01-08") + end,
            dt("2017-01-01"),
            dt("2018-01-01") + end,
            dt("2017-01-01"),
        ),
        (
            dt("2017-01-08"),
            dt("2017-01-15") + end,
            dt("2017-02-01"),
            dt("2019-01-01") + end,
            dt("2017-01-02"),
        ),
    ]


def test_weeks_start_on_sunday_before_1970_too(engine_ws: Workspace) -> None:
    got = column_values(
        engine_ws, "datetime", [dt("1969-12-31 23:00"), dt("1901-03-01 05:00")], "startofweek(x)"
    )
    assert got == [dt("1969-12-28"), dt("1901-02-24")]


@PROPERTY
@given(items=st.lists(DATETIMES, min_size=1, max_size=6), offset=st.integers(-30, 30),
       fn=st.sampled_from([f"{e}of{u}" for e in ("start", "end") for u in ("day", "week", "month", "year")]))  # fmt: skip
def test_boundaries_match_the_reference(
    engine_ws: Workspace, items: list[datetime], offset: int, fn: str
) -> None:
    got = column_values(engine_ws, "datetime", items, f"{fn}(x, {offset})")
    assert got == [fold(fn)(v, offset) for v in items]


# ---------------------------------------------------------------------------- add, diff, part


def test_datetime_diff_counts_boundaries(engine_ws: Workspace) -> None:
    cases = [("year", "2017-01-01", "2000-12-31", 17), ("quarter", "2017-07-01", "2017-03-30", 2),
             ("month", "2017-01-01", "2015-12-30", 13), ("week", "2017-10-29 00:00", "2017-09-30 23:59", 5),
             ("day", "2017-10-29 00:00", "2017-09-30 23:59", 29), ("hour", "2017-10-31 01:00", "2017-10-30 23:59", 2),
             ("minute", "2017-10-30 23:05:01", "2017-10-30 23:00:59", 5),
             ("second", "2017-10-30 23:00:10.100", "2017-10-30 23:00:00.900", 10),
             ("millisecond", "2017-10-30 23:00:00.200100", "2017-10-30 23:00:00.100900", 100),
             ("microsecond", "2017-10-30 23:00:00.100900", "2017-10-30 23:00:00.100800", 100)]  # fmt: skip
    exprs = [f"datetime_diff('{unit}', a{i}, b{i})" for i, (unit, *_rest) in enumerate(cases)]
    columns = {f"{side}{i}": "datetime" for i in range(len(cases)) for side in "ab"}
    row = [dt(c[k]) for c in cases for k in (1, 2)]
    assert values(engine_ws, columns, [row], *exprs) == [tuple(c[3] for c in cases)]


def test_datetime_add_clamps_to_the_end_of_the_month(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"d": "datetime"}, [(dt("2017-01-31"),)],
                  "datetime_add('month', 1, d)", "datetime_add('year', -5, d)", "datetime_add('quarter', 12, d)",
                  "datetime_add('week', 100, d)", "datetime_add('Minute', 1, d)")  # fmt: skip
    assert rows == [
        (dt("2017-02-28"), dt("2012-01-31"), dt("2020-01-31"), dt("2019-01-01"), dt("2017-01-31 00:01"))
    ]


@PROPERTY
@given(pairs=st.lists(st.tuples(DATETIMES, DATETIMES), min_size=1, max_size=6),
       unit=st.sampled_from(["year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond"]))  # fmt: skip
def test_datetime_diff_matches_the_reference(
    engine_ws: Workspace, pairs: list[tuple[datetime, datetime]], unit: str
) -> None:
    rows = values(engine_ws, {"a": "datetime", "b": "datetime"}, pairs, f"datetime_diff('{unit}', a, b)")
    assert [r[0] for r in rows] == [fold("datetime_diff")(unit, a, b) for a, b in pairs]


@PROPERTY
@given(items=st.lists(st.tuples(DATETIMES, st.integers(-200, 200)), min_size=1, max_size=6),
       unit=st.sampled_from(["year", "quarter", "month", "week", "day", "hour", "second", "microsecond"]))  # fmt: skip
def test_datetime_add_matches_the_reference(
    engine_ws: Workspace, items: list[tuple[datetime, int]], unit: str
) -> None:
    rows = values(engine_ws, {"d": "datetime", "n": "long"}, items, f"datetime_add('{unit}', n, d)")
    assert [r[0] for r in rows] == [fold("datetime_add")(unit, n, d) for d, n in items]


def test_datetime_part_extracts_every_part(engine_ws: Workspace) -> None:
    parts = ["year", "quarter", "month", "week_of_year", "day", "dayOfYear", "hour", "minute", "second",
             "millisecond", "microsecond", "nanosecond"]  # fmt: skip
    rows = values(engine_ws, {"d": "datetime"}, [(dt("2017-10-30 01:02:03.765432"),)],
                  *[f"datetime_part('{p}', d)" for p in parts])  # fmt: skip
    assert rows == [(2017, 4, 10, 44, 30, 303, 1, 2, 3, 765, 765432, 765432000)]


def test_an_unknown_period_is_a_binding_error(engine_ws: Workspace) -> None:
    from watchkeeper.errors import KqlError

    with pytest.raises(KqlError, match="unknown period"):
        engine_ws.query("print datetime_add('fortnight', 1, now())")
    with pytest.raises(KqlError, match="unknown datetime part"):
        engine_ws.query("print datetime_part('weekday', now())")


def test_calendar_part_functions(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"d": "datetime"}, [(dt("2015-12-14 17:05"),), (dt("2020-12-31"),), (dt("2000-01-01"),)],
                  "dayofweek(d)", "dayofmonth(d)", "dayofyear(d)", "hourofday(d)", "getyear(d)", "getmonth(d)",
                  "monthofyear(d)", "week_of_year(d)")  # fmt: skip
    assert rows == [
        (timedelta(days=1), 14, 348, 17, 2015, 12, 12, 51),
        (timedelta(days=4), 31, 366, 0, 2020, 12, 12, 53),
        (timedelta(days=6), 1, 1, 0, 2000, 1, 1, 52),
    ]


# ---------------------------------------------------------------------------- construction


def test_make_datetime_gives_null_for_impossible_dates(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"y": "long", "m": "long", "d": "long", "s": "real"},
                  [(2017, 10, 1, 10.12345), (2017, 2, 29, 0.0), (2016, 2, 29, 0.0), (2017, 13, 1, 0.0), (2017, 1, 1, 60.0)],
                  "make_datetime(y, m, d, 12, 10, s)", "make_datetime(y, m, d)")  # fmt: skip
    assert rows == [
        (dt("2017-10-01 12:10:10.123450"), dt("2017-10-01")), (None, None), (dt("2016-02-29 12:10"), dt("2016-02-29")),
        (None, None), (None, dt("2017-01-01")),
    ]  # fmt: skip


def test_make_timespan(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"n": "long", "s": "real"}, [(1, 2.5)],
                  "make_timespan(n, 2)", "make_timespan(n, 2, s)", "make_timespan(n, 2, 3, s)")  # fmt: skip
    assert rows == [(timedelta(hours=1, minutes=2), timedelta(hours=1, minutes=2, seconds=2.5),
                     timedelta(days=1, hours=2, minutes=3, seconds=2.5))]  # fmt: skip


def test_unix_times(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"s": "long", "r": "real"}, [(1546300800, 1546300800.5)],
                  "unixtime_seconds_todatetime(s)", "unixtime_seconds_todatetime(r)",
                  "unixtime_milliseconds_todatetime(s * 1000)", "unixtime_microseconds_todatetime(s * 1000000)",
                  "unixtime_nanoseconds_todatetime(s * 1000000000)")  # fmt: skip
    day = dt("2019-01-01")
    assert rows == [(day, day + timedelta(seconds=0.5), day, day, day)]


def test_time_zones(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"d": "datetime"}, [(dt("2020-07-01 12:00"),), (dt("2020-01-01 12:00"),)],
                  "datetime_utc_to_local(d, 'Europe/Paris')", "datetime_local_to_utc(d, 'America/New_York')")  # fmt: skip
    assert rows == [
        (dt("2020-07-01 14:00"), dt("2020-07-01 16:00")),
        (dt("2020-01-01 13:00"), dt("2020-01-01 17:00")),
    ]


# ---------------------------------------------------------------------------- formatting


def test_format_datetime_documented_examples(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"d": "datetime"}, [(dt("2017-01-29 09:00:05"),)],
                  "format_datetime(d, 'yy-MM-dd [HH:mm:ss]')", "format_datetime(d, 'yyyy-M-dd [H:mm:ss]')",
                  "format_datetime(d, 'yy-MM-dd [hh:mm:ss tt]')")  # fmt: skip
    assert rows == [("17-01-29 [09:00:05]", "2017-1-29 [9:00:05]", "17-01-29 [09:00:05 AM]")]


def test_format_datetime_fractions_names_and_literals(engine_ws: Workspace) -> None:
    rows = values(engine_ws, {"d": "datetime"}, [(dt("2009-06-15 13:45:30.617542"),), (dt("2009-06-15 01:05:09"),)],
                  "format_datetime(d, 'f ff fff ffff fffffff')", "format_datetime(d, 'ss.FFF|F')",
                  "format_datetime(d, 'dddd, MMMM d y h t')", "format_datetime(d, \"'at' HH\\\\h\")")  # fmt: skip
    assert rows == [
        ("6 61 617 6175 6175420", "30.617|6", "Monday, June 15 9 1 P", "at 13h"),
        ("0 00 000 0000 0000000", "09|", "Monday, June 15 9 1 A", "at 01h"),
    ]


@PROPERTY
@given(items=st.lists(DATETIMES, min_size=1, max_size=6),
       fmt=st.sampled_from(["yyyy-MM-dd HH:mm:ss.fffffff", "y/M/d h:m:s tt", "dd.MM.yy FFFF", "MMM ddd hh", "s.FFF"]))  # fmt: skip
def test_format_datetime_matches_the_reference(engine_ws: Workspace, items: list[datetime], fmt: str) -> None:
    got = column_values(engine_ws, "datetime", items, f"format_datetime(x, '{fmt}')")
    assert got == [fold("format_datetime")(v, fmt) for v in items]


def test_format_timespan(engine_ws: Workspace) -> None:
    ticks = 29 * 864_000_000_000 + 9 * 36_000_000_000 + 5 * 10_000_000 + 1_234_500
    got = values(engine_ws, {"t": "timespan"}, [(ticks,), (None,)],
                 "format_timespan(t, 'dd.hh:mm:ss:FF')", "format_timespan(t, 'ddd.h:mm:ss [fffffff]')")  # fmt: skip
    assert got == [("29.09:00:05:12", "029.9:00:05 [1234500]"), ("", "")]
