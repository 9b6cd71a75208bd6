"""When scheduled rules run: pure window arithmetic, no clock and no I/O (the caller passes ``now``).

A scheduled rule runs every ``queryFrequency`` over the ``queryPeriod`` before each run. Windows
are exact and contiguous: a run's window ends on the rule's frequency grid (multiples of the
frequency since the Unix epoch, so every node computes the same ends), the next run's window ends
one frequency later, and the end of the last window run is all the scheduler needs to remember.
A window is the half-open interval ``[end - period, end)``, so that with ``period == frequency``
consecutive windows meet without an event falling in two of them.

After downtime the missed windows are run oldest first, at most :attr:`CatchUp.per_tick` per
call, and only back to :attr:`CatchUp.span` before ``now``: windows older than that are reported
as skipped (a gap the operator sees), not run.

A rule that fails waits before it is tried again: :func:`retry_delay` doubles from one minute up
to the rule's frequency, and :func:`should_disable` says when N consecutive failures turn it off,
as Sentinel does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from watchkeeper.detections.models import DetectionRule

__all__ = ["CatchUp", "Due", "Window", "due_windows", "grid_floor", "retry_delay", "should_disable"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """``[start, end)`` of ``TimeGenerated``."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class CatchUp:
    """How far a rule catches up after downtime: windows per call, and how far back at most."""

    per_tick: int = 12
    span: timedelta = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Due:
    """The windows to run now, oldest first, and the windows given up as too old (their span)."""

    windows: tuple[Window, ...]
    skipped: Window | None = None

    @property
    def last_end(self) -> datetime | None:
        """What to record as the last window end once these ran (the skipped span counts as done)."""
        if self.windows:
            return self.windows[-1].end
        return self.skipped.end if self.skipped is not None else None


def grid_floor(moment: datetime, step: timedelta) -> datetime:
    """The latest multiple of ``step`` since the Unix epoch at or before ``moment``."""
    steps = (moment - _EPOCH) // step
    return _EPOCH + steps * step


def due_windows(rule: DetectionRule, *, last_end: datetime | None, now: datetime, catch_up: CatchUp) -> Due:
    """The windows of ``rule`` due at ``now``, given the end of the last window it ran."""
    frequency, period = rule.query_frequency, rule.query_period
    newest = grid_floor(now, frequency)
    if last_end is None:  # a new rule starts with the window that ended last
        return Due((Window(newest - period, newest),))
    first = last_end + frequency
    if first > newest:
        return Due(())
    oldest_allowed = grid_floor(now - catch_up.span, frequency) + frequency
    skipped = None
    if first < oldest_allowed:
        skipped = Window(first - period, oldest_allowed - frequency)
        first = oldest_allowed
    ends: list[datetime] = []
    end = first
    while end <= newest and len(ends) < catch_up.per_tick:
        ends.append(end)
        end += frequency
    return Due(tuple(Window(e - period, e) for e in ends), skipped)


def retry_delay(rule: DetectionRule, failures: int) -> timedelta:
    """How long a rule that failed ``failures`` times in a row waits before its next try."""
    if failures <= 0:
        return timedelta(0)
    return min(timedelta(minutes=2 ** (failures - 1)), max(rule.query_frequency, timedelta(minutes=1)))


def should_disable(failures: int, limit: int) -> bool:
    """Whether ``failures`` consecutive failures reach the limit that turns a rule off."""
    return limit > 0 and failures >= limit
