"""The user-analytics and schema ``evaluate`` plugins on DuckDB and chdb: differential tests against
plain-Python statements of the documented definitions on hypothesis-generated activity, and the
argument checks and refusals a user meets (the documented examples are golden cases under
``cases/plugins/``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import Workspace
from watchkeeper.errors import KqlError, UnsupportedError

BASE = datetime(2024, 3, 1, tzinfo=UTC)
EXAMPLES = 8  # each example compiles and runs a new query (0.2-0.8 s): the suite stays fast
DAY = timedelta(days=1)


@pytest.fixture(scope="module", params=["duckdb", "clickhouse"])
def ws(request: pytest.FixtureRequest) -> Iterator[Workspace]:
    """One workspace per engine for the whole module (hypothesis runs many queries on it)."""
    if request.param == "duckdb":
        workspace = Workspace.open(None)
    else:
        pytest.importorskip("chdb", reason="chdb is not installed (pip install 'watchkeeper[clickhouse]')")
        from watchkeeper.store.clickhouse import ChdbEventStore

        workspace = Workspace(ChdbEventStore())
    yield workspace
    workspace.close()


@dataclass(frozen=True)
class Event:
    user: str
    region: str
    at: datetime
    value: int


events = st.lists(
    st.builds(
        Event,
        st.sampled_from("abcde"),
        st.sampled_from(["eu", "us"]),
        st.integers(-3 * 24, 14 * 24).map(lambda h: BASE + timedelta(hours=h)),
        st.integers(-50, 50),
    ),
    min_size=1,
    max_size=25,
)


def table(rows: list[Event]) -> str:
    cells = ", ".join(f"'{e.user}', '{e.region}', datetime({e.at:%Y-%m-%d %H:%M}), {e.value}" for e in rows)
    return f"datatable(User:string, Region:string, At:datetime, V:long) [{cells}]"


def kql_time(at: datetime) -> str:
    return f"datetime({at:%Y-%m-%d %H:%M})"


def result(ws: Workspace, query: str) -> set[tuple[Any, ...]]:
    return {tuple(row) for row in ws.query(query).rows}


def bin_at(at: datetime, size: timedelta, origin: datetime) -> datetime:
    return origin + size * math.floor((at - origin) / size)


# ---------------------------------------------------------------------------- sliding_window_counts


def sliding_reference(
    rows: list[Event], start: datetime, end: datetime, lookback: timedelta, size: timedelta
) -> set[tuple[Any, ...]]:
    """Per bin b from start to end and region: the records whose bin lies in (b - lookback, b]."""
    out = set()
    b = start
    while b <= end:
        for region in ("eu", "us"):
            inside = [e for e in rows if e.region == region and b - lookback < bin_at(e.at, size, start) <= b]
            if inside:
                out.add((b, region, len(inside), len({e.user for e in inside})))
        b += size
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events, st.integers(0, 5), st.integers(0, 9), st.integers(1, 5), st.integers(1, 3))
def test_sliding_window_counts_match_the_definition(
    ws: Workspace, rows: list[Event], first: int, days: int, lookback: int, size: int
) -> None:
    start, end = BASE + first * DAY, BASE + (first + days) * DAY
    query = (f"{table(rows)} | evaluate sliding_window_counts(User, At, {kql_time(start)}, {kql_time(end)}, "
             f"{lookback}d, {size}d, Region)")  # fmt: skip
    expected = sliding_reference(rows, start, end, lookback * DAY, size * DAY)
    assert result(ws, query) == expected


def engagement_reference(
    rows: list[Event], start: datetime, end: datetime, inner: timedelta, outer: timedelta
) -> set[tuple[Any, ...]]:
    """Per inner window w and region: ids in w, ids in the outer window ending with w, the ratio."""
    out = set()
    w = start
    while w <= end:
        for region in ("eu", "us"):
            mine = [(bin_at(e.at, inner, start), e.user) for e in rows if e.region == region]
            outside = {u for b, u in mine if w - outer < b <= w}
            inside = {u for b, u in mine if b == w}
            if outside:
                out.add((w, len(inside), len(outside), len(inside) / len(outside), region))
        w += inner
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events, st.integers(0, 5), st.integers(0, 9), st.integers(1, 2), st.integers(1, 6))
def test_activity_engagement_matches_the_definition(
    ws: Workspace, rows: list[Event], first: int, days: int, inner: int, outer: int
) -> None:
    start, end = BASE + first * DAY, BASE + (first + days) * DAY
    query = (f"{table(rows)} | evaluate activity_engagement(User, At, {kql_time(start)}, {kql_time(end)}, "
             f"{inner}d, {outer}d, Region)")  # fmt: skip
    got = {(t, i, o, round(r, 9), g) for t, i, o, r, g in result(ws, query)}
    expected = {
        (t, i, o, round(r, 9), g)
        for t, i, o, r, g in engagement_reference(rows, start, end, inner * DAY, outer * DAY)
    }
    assert got == expected


# ---------------------------------------------------------------------------- rolling_percentile


def rolling_reference(rows: list[Event], pct: int, size: timedelta, window: int) -> set[tuple[Any, ...]]:
    """Per region and bin holding values: the nearest-rank percentile of the window's values (bins
    of a datetime count from 0001-01-01, Kusto's tick zero)."""
    origin = datetime(1, 1, 1, tzinfo=UTC)
    out = set()
    for region in ("eu", "us"):
        mine = [(bin_at(e.at, size, origin), e.value) for e in rows if e.region == region]
        for b in {b for b, _ in mine}:
            values = sorted(v for bb, v in mine if b - window * size < bb <= b)
            out.add((b, region, values[max(1, math.ceil(pct / 100 * len(values))) - 1]))
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events, st.sampled_from([0, 10, 50, 90, 100]), st.integers(1, 3), st.integers(1, 4))
def test_rolling_percentile_matches_the_definition(
    ws: Workspace, rows: list[Event], pct: int, size: int, window: int
) -> None:
    query = f"{table(rows)} | evaluate rolling_percentile(V, {pct}, At, {size}d, {window}, Region)"
    assert result(ws, query) == rolling_reference(rows, pct, size * DAY, window)


# ---------------------------------------------------------------------------- activity_counts_metrics


def activity_reference(
    rows: list[Event], start: datetime, end: datetime, size: timedelta
) -> set[tuple[Any, ...]]:
    """Per window and region: records, ids, ids never seen in an earlier window, ids seen so far."""
    by_window: dict[tuple[datetime, str], list[str]] = defaultdict(list)
    for e in rows:
        w = bin_at(e.at, size, start)
        if e.at >= start and w <= end:
            by_window[(w, e.region)].append(e.user)
    out = set()
    for (w, region), users in by_window.items():
        before = {u for (ww, r), us in by_window.items() if r == region and ww < w for u in us}
        new = set(users) - before
        out.add((w, region, len(users), len(set(users)), len(new), len(before | set(users))))
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events, st.integers(-2, 4), st.integers(0, 12), st.integers(1, 3))
def test_activity_counts_metrics_match_the_definition(
    ws: Workspace, rows: list[Event], first: int, days: int, size: int
) -> None:
    start, end = BASE + first * DAY, BASE + (first + days) * DAY
    query = (f"{table(rows)} | evaluate activity_counts_metrics(User, At, {kql_time(start)}, {kql_time(end)}, "
             f"{size}d, Region)")  # fmt: skip
    assert result(ws, query) == activity_reference(rows, start, end, size * DAY)


def metrics_reference(
    rows: list[Event], start: datetime, end: datetime, size: timedelta
) -> set[tuple[Any, ...]]:
    """Per window and region: ids, ids not in the previous window, and the share of the previous
    window's ids seen again (NaN, shown as None here, without previous ids)."""
    ids: dict[tuple[datetime, str], set[str]] = defaultdict(set)
    for e in rows:
        if e.at >= start and bin_at(e.at, size, start) <= end:
            ids[(bin_at(e.at, size, start), e.region)].add(e.user)
    out = set()
    for (w, region), users in ids.items():
        before = ids.get((w - size, region), set())
        rate = len(users & before) / len(before) if before else None
        out.add((w, len(users), len(users - before), rate, None if rate is None else 1 - rate, region))
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events, st.integers(-2, 4), st.integers(0, 12), st.integers(1, 3))
def test_activity_metrics_match_the_definition(
    ws: Workspace, rows: list[Event], first: int, days: int, size: int
) -> None:
    start, end = BASE + first * DAY, BASE + (first + days) * DAY
    query = (f"{table(rows)} | evaluate activity_metrics(User, At, {kql_time(start)}, {kql_time(end)}, "
             f"{size}d, Region)")  # fmt: skip
    got = {
        (*row[:3], *(None if math.isnan(x) else round(x, 9) for x in row[3:5]), row[5])
        for row in result(ws, query)
    }
    expected = {(*row[:3], *(None if x is None else round(x, 9) for x in row[3:5]), row[5])
                for row in metrics_reference(rows, start, end, size * DAY)}  # fmt: skip
    assert got == expected


# ---------------------------------------------------------------------------- active_users_count


def active_reference(
    rows: list[Event], start: datetime, end: datetime, lookback: timedelta, needed: int, size: timedelta
) -> set[tuple[Any, ...]]:
    """Per bin and region: the ids with an appearance in [start, end] at which they were seen on
    at least ``needed`` distinct days in (appearance - lookback, appearance]."""
    active: dict[tuple[datetime, str], set[str]] = defaultdict(set)
    for e in rows:
        if not start <= e.at <= end:
            continue
        days = {
            o.at.date()
            for o in rows
            if (o.user, o.region) == (e.user, e.region) and e.at - lookback < o.at <= e.at
        }
        if len(days) >= needed:
            active[(bin_at(e.at, size, start), e.region)].add(e.user)
    return {(b, region, len(users)) for (b, region), users in active.items()}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events, st.integers(-1, 4), st.integers(0, 10), st.integers(1, 6), st.integers(1, 3), st.integers(1, 7)
)
def test_active_users_count_matches_the_definition(
    ws: Workspace, rows: list[Event], first: int, days: int, lookback: int, needed: int, size: int
) -> None:
    start, end = BASE + first * DAY, BASE + (first + days) * DAY
    query = (f"{table(rows)} | evaluate active_users_count(User, At, {kql_time(start)}, {kql_time(end)}, "
             f"{lookback}d, 1d, {needed}, {size}d, Region)")  # fmt: skip
    assert result(ws, query) == active_reference(rows, start, end, lookback * DAY, needed, size * DAY)


# ---------------------------------------------------------------------------- arguments and refusals

LOGINS = "datatable(User:string, At:datetime) ['a', datetime(2024-01-01)]"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "sliding_window_counts(User, At, datetime(2024-01-01), datetime(2024-01-09), 3d)",
            "the Bin argument is missing",
        ),
        (
            "sliding_window_counts(User, At, datetime(2024-01-01), datetime(2024-01-09), 3d, 'fortnight')",
            "'week', 'month' or 'year'",
        ),
        ("sliding_window_counts(User, At, 1, 9, 3d, 1d)", "do not match the timeline"),
        ("activity_counts_metrics(User, At, At, datetime(2024-01-09), 1d)", "Start must be a constant"),
        (
            "activity_counts_metrics(tolower(User), At, datetime(2024-01-01), datetime(2024-01-09), 1d)",
            "argument 1 must be the name of the id column",
        ),
        (
            "active_users_count(User, At, datetime(2024-01-01), datetime(2024-01-09), 3d, 1d, 'x', 1d)",
            "ActivePeriodsCount must be of type",
        ),
        ("rolling_percentile(User, 50, At, 1d, 3)", "the value column must be numeric"),
        ("rolling_percentile(At, 50, At, 1d, 0)", "BinsPerWindow must be a whole number"),
        ("dcount_intersect(User)", "takes 2 to 16 hll() values"),
        ("schema_merge()", "the input has no column 'ColumnName'"),
        ("activity_metrics(User, At, 'fortnight')", "'week', 'month' or 'year'"),
        ("activity_engagement(User, At, 'week', 7d)", "InnerActivityWindow must be of type timespan"),
        (
            "new_activity_metrics(User, At, datetime(2024-01-01), datetime(2024-01-09), 1d, datatable(x:long)[1])",
            "the Lookback table has no column 'User'",
        ),
    ],
)
def test_bad_arguments_are_named(call: str, message: str) -> None:
    with Workspace.open(None) as workspace, pytest.raises(KqlError) as caught:
        workspace.query(f"{LOGINS} | evaluate {call}")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("plugin", "reason"),
    [
        (
            "funnel_sequence(User, At, datetime(2024-01-01), datetime(2024-01-09), 1d, 1d, User, dynamic(['a']))",
            "it returns three tables",
        ),
        (
            "funnel_sequence_completion(User, At, datetime(2024-01-01), datetime(2024-01-09), 1d, User, dynamic(['a']), "
            "dynamic([1h]))",
            "sequence matching",
        ),
        (
            "session_count(User, At, datetime(2024-01-01), datetime(2024-01-09), 1d, 1d)",
            "documented only by a chart",
        ),
    ],
)
def test_plugins_without_a_faithful_form_are_refused_with_the_reason(plugin: str, reason: str) -> None:
    with Workspace.open(None) as workspace, pytest.raises(UnsupportedError, match=reason):
        workspace.query(f"{LOGINS} | evaluate {plugin}")


def test_infer_storage_schema_is_refused_without_revealing_the_storage_key() -> None:
    query = """evaluate infer_storage_schema(dynamic({
        'StorageContainers': [h@'https://acct.blob.core.windows.net/events;S3cr3tKey==',
                              'https://acct.blob.core.windows.net/more?sv=2024&sig=T0ken'],
        'DataFormat': 'parquet'}))"""
    with Workspace.open(None) as workspace, pytest.raises(UnsupportedError) as caught:
        workspace.query(query)
    text = str(caught.value)
    assert "https://acct.blob.core.windows.net/events, https://acct.blob.core.windows.net/more" in text
    assert "S3cr3tKey" not in text
    assert "T0ken" not in text


def test_infer_storage_schema_checks_its_options_first() -> None:
    with Workspace.open(None) as workspace, pytest.raises(KqlError, match="'DataFormat'"):
        workspace.query("evaluate infer_storage_schema(dynamic({'StorageContainers': ['https://a/b']}))")


def test_schema_merge_reports_types_that_do_not_reduce(ws: Workspace) -> None:
    query = """let s1 = datatable(A:string, N:int)[] | getschema;
        let s2 = datatable(A:datetime, N:long)[] | getschema;
        let s3 = datatable(A:string, N:real)[] | getschema;
        union s1, s2, s3 | evaluate schema_merge()"""
    rows = sorted(ws.query(query).rows)
    assert rows == [
        ("A", -1, "ERROR(unknown CSL type:ERROR(column types differ: datetime, string))",
         "ERROR(column types differ: datetime, string)"),
        ("N", 0, "System.Double", "real"),
    ]  # fmt: skip
