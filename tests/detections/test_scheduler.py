"""The scheduler's window arithmetic under a controllable clock: contiguous exact windows, none
run twice across restarts, bounded catch-up after downtime, backoff and auto-disable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.detections.models import DetectionRule
from watchkeeper.detections.scheduler import (
    CatchUp,
    Window,
    due_windows,
    grid_floor,
    retry_delay,
    should_disable,
)

START = datetime(2026, 11, 30, 6, 3, 17, tzinfo=UTC)


def rule(frequency: timedelta, period: timedelta) -> DetectionRule:
    return DetectionRule(rule_id="r", name="r", source_format="sentinel", query="Syslog",
                         query_frequency=frequency, query_period=period)  # fmt: skip


def test_a_new_rule_runs_the_window_that_ended_last_on_its_grid() -> None:
    due = due_windows(
        rule(timedelta(minutes=5), timedelta(hours=1)), last_end=None, now=START, catch_up=CatchUp()
    )
    assert due.windows == (
        Window(datetime(2026, 11, 30, 5, 0, tzinfo=UTC), datetime(2026, 11, 30, 6, 0, tzinfo=UTC)),
    )
    assert due.skipped is None


def test_nothing_is_due_before_the_next_end() -> None:
    r = rule(timedelta(hours=1), timedelta(hours=1))
    last = grid_floor(START, timedelta(hours=1))
    assert due_windows(r, last_end=last, now=START + timedelta(minutes=50), catch_up=CatchUp()).windows == ()
    assert len(due_windows(r, last_end=last, now=last + timedelta(hours=1), catch_up=CatchUp()).windows) == 1


def test_downtime_longer_than_the_catch_up_span_is_reported_as_skipped() -> None:
    r = rule(timedelta(hours=1), timedelta(hours=2))
    last = grid_floor(START, timedelta(hours=1))
    due = due_windows(
        r, last_end=last, now=last + timedelta(days=3), catch_up=CatchUp(per_tick=100, span=timedelta(days=1))
    )
    assert due.skipped is not None
    assert due.skipped.end == due.windows[0].end - timedelta(hours=1)
    assert len(due.windows) == 24
    assert due.last_end == last + timedelta(days=3)


def test_backoff_doubles_up_to_the_frequency_and_rules_turn_off_at_the_limit() -> None:
    r = rule(timedelta(minutes=30), timedelta(hours=1))
    assert [retry_delay(r, n) for n in range(7)] == [timedelta(0)] + [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 30)
    ]
    assert not should_disable(4, 5)
    assert should_disable(5, 5)
    assert not should_disable(100, 0)  # 0: never


@settings(max_examples=200, deadline=None)
@given(
    frequency=st.sampled_from([5, 15, 60, 240, 1440]),
    period_factor=st.sampled_from([1, 2, 3, 12]),
    steps=st.lists(st.tuples(st.integers(0, 3000), st.booleans()), min_size=1, max_size=60),
    per_tick=st.integers(1, 20),
    span_hours=st.integers(1, 72),
)
def test_windows_are_contiguous_never_repeated_and_gaps_only_beyond_the_span(
    frequency: int, period_factor: int, steps: list[tuple[int, bool]], per_tick: int, span_hours: int
) -> None:
    """A clock that jumps forward by random minutes; at random moments the process restarts and
    keeps nothing but the stored last window end."""
    freq, period = timedelta(minutes=frequency), timedelta(minutes=frequency * period_factor)
    r, catch_up = rule(freq, period), CatchUp(per_tick=per_tick, span=timedelta(hours=span_hours))
    now, stored = START, None  # stored: the state database's last window end
    ran: list[Window] = []
    skipped: list[Window] = []
    for minutes, _restart in steps:  # a restart changes nothing but memory: only `stored` carries over
        now += timedelta(minutes=minutes)
        due = due_windows(r, last_end=stored, now=now, catch_up=catch_up)
        assert len(due.windows) <= per_tick
        assert all(
            w.end <= now and w.end - w.start == period and w.end == grid_floor(w.end, freq)
            for w in due.windows
        )
        if due.skipped is not None:
            skipped.append(due.skipped)
            assert due.skipped.end <= now - catch_up.span  # only what is too old is skipped
        ran.extend(due.windows)
        stored = due.last_end or stored
    ends = [w.end for w in ran]
    assert len(ends) == len(set(ends))  # no window twice
    covered = sorted(ends + [end for gap in skipped for end in _grid_ends(gap, freq, period)])
    assert covered == [covered[0] + i * freq for i in range(len(covered))]  # contiguous: no gap unreported


def _grid_ends(gap: Window, freq: timedelta, period: timedelta) -> list[datetime]:
    """The window ends a skipped span stands for."""
    ends, end = [], gap.start + period
    while end <= gap.end:
        ends.append(end)
        end += freq
    return ends
