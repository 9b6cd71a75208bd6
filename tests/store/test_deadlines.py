"""Query deadlines fire in order, once, and never after being cancelled; one thread serves them all."""

from __future__ import annotations

import threading
import time

from watchkeeper.store.deadlines import call_at_deadline


def test_deadlines_fire_in_time_order_and_cancelled_ones_never() -> None:
    fired: list[str] = []
    done = threading.Event()
    late = call_at_deadline(0.30, lambda: fired.append("late"))
    call_at_deadline(0.10, lambda: fired.append("early"))
    cancelled = call_at_deadline(0.05, lambda: fired.append("cancelled"))
    cancelled.cancel()
    call_at_deadline(0.40, done.set)
    assert done.wait(5)
    assert fired == ["early", "late"]
    assert late.fired
    assert not cancelled.fired


def test_many_queries_share_one_thread() -> None:
    before = threading.active_count()
    entries = [call_at_deadline(60, lambda: None) for _ in range(500)]
    for entry in entries:
        entry.cancel()
    assert threading.active_count() <= before + 1


def test_a_failing_callback_does_not_stop_later_deadlines() -> None:
    done = threading.Event()

    def boom() -> None:
        raise RuntimeError("interrupt failed")

    call_at_deadline(0.01, boom)
    call_at_deadline(0.05, done.set)
    started = time.monotonic()
    assert done.wait(5)
    assert time.monotonic() - started < 4
