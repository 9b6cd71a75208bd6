"""Query deadlines: one thread per process fires the interrupts of queries past their time limit.

A ``threading.Timer`` per query would start (and tear down) a thread for every query; under load
that start waits for the GIL while the query already holds its tenant's slot. Here a query only
pushes its deadline on a heap, and cancelling is marking the entry (it is dropped when it surfaces).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Deadline", "call_at_deadline"]

log = logging.getLogger("watchkeeper.store")


@dataclass(order=True)
class Deadline:
    """A scheduled callback; :meth:`cancel` it when the query ends in time."""

    at: float
    seq: int
    callback: Callable[[], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)
    fired: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class _Deadlines:
    def __init__(self) -> None:
        self._heap: list[Deadline] = []
        self._ready = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, seconds: float, callback: Callable[[], object]) -> Deadline:
        entry = Deadline(time.monotonic() + seconds, next(self._seq), callback)
        with self._ready:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wk-query-deadlines", daemon=True)
                self._thread.start()
            self._ready.notify()
        return entry

    def _next_due(self) -> Deadline:
        with self._ready:
            while True:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._ready.wait()
                    continue
                delay = self._heap[0].at - time.monotonic()
                if delay <= 0:
                    return heapq.heappop(self._heap)
                self._ready.wait(delay)

    def _run(self) -> None:
        while True:
            entry = self._next_due()
            if entry.cancelled:
                continue
            entry.fired = True
            try:
                entry.callback()
            except Exception:  # an interrupt that fails must not stop every later deadline
                log.exception("a query deadline callback failed")


_DEADLINES = _Deadlines()


def call_at_deadline(seconds: float, callback: Callable[[], object]) -> Deadline:
    """Run ``callback`` (on the deadline thread) in ``seconds`` unless cancelled first."""
    return _DEADLINES.schedule(seconds, callback)
