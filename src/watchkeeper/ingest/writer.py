"""The writer: drains a workspace's journal into its event store.

One thread per workspace. It wakes when an entry is appended, takes every entry waiting (up to
``max_rows``/``max_bytes``, so under load writes are large and at rest they are immediate), hands
them to the store in one write that also records the journal position, and releases them from the
journal. Acknowledged data is never given up on:

- a write of several entries that fails is retried entry by entry, so one bad entry does not hold
  back the others;
- an entry the store refuses on its own for what it holds is *dead-lettered*: its rows go to
  ``IngestionErrors`` with the store's reason, as any record that cannot be stored does;
- when the store itself is failing (a transient :class:`~watchkeeper.errors.StoreError`: I/O,
  memory), or dead-lettering fails too, the writer waits (backing off up to 30 s) and tries again
  from the same position, while receivers keep journaling until the journal's limit makes them
  answer 429.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from watchkeeper.errors import StoreError
from watchkeeper.ingest.journal import Entry, Journal

__all__ = ["Commit", "DeadLetter", "JournalWriter"]

log = logging.getLogger(__name__)

# stores entries in one write and records the position of the last (all or nothing)
Commit = Callable[[list[Entry]], None]
# stores one entry's rows in IngestionErrors with the reason (the entry is released after it)
DeadLetter = Callable[[Entry, str], None]

_BACKOFF_MAX = 30.0
# rows the writer stores in one write at most: two of DuckDB's row groups (122,880 rows), which it
# writes straight to the database file
WRITE_ROWS = 2 * 122_880


class JournalWriter:
    """Drains ``journal`` through ``commit``; see the module docstring."""

    def __init__(self, journal: Journal, commit: Commit, dead_letter: DeadLetter, *, name: str,
                 max_rows: int = WRITE_ROWS, max_bytes: int = 256 << 20) -> None:  # fmt: skip
        self.journal = journal
        self._commit = commit
        self._dead_letter = dead_letter
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.position = journal.committed
        self.last_error: str | None = None
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"wk-writer-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def notify(self) -> None:
        """An entry was appended."""
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, seq: int, timeout: float | None = None) -> bool:
        """Wait until entry ``seq`` is stored; False if ``timeout`` passes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self.position < seq:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """Store what is waiting (for up to ``timeout`` seconds), then end the thread. What is
        left stays in the journal for the next start."""
        if self._thread.is_alive():
            self.wait_for(self.journal.last_seq, timeout)
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ---------------------------------------------------------------- the loop

    def _run(self) -> None:
        backoff = 0.5
        while True:
            with self._changed:
                while not self._stopping and self.journal.last_seq <= self.position:
                    self._changed.wait()
                if self._stopping:
                    return
            try:
                self._drain_once()
                backoff = 0.5
            except Exception as exc:  # the store is failing: keep the entries, try again later
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("ingestion writer: storing failed; retrying in %.1f s", backoff)
                with self._changed:
                    self._changed.wait_for(lambda: self._stopping, backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    def _drain_once(self) -> None:
        entries = self.journal.read(self.position, max_rows=self.max_rows, max_bytes=self.max_bytes)
        if not entries:
            return
        try:
            self._commit(entries)
        except Exception as exc:
            if len(entries) == 1:
                self._give_up(entries[0], exc)
            else:
                log.warning("ingestion writer: a write of %d entries failed (%s); storing them one by one",
                            len(entries), exc)  # fmt: skip
                for entry in entries:
                    self._store_alone(entry)
                    self._advance(entry.seq)
                return
        self.last_error = None
        self._advance(entries[-1].seq)

    def _store_alone(self, entry: Entry) -> None:
        try:
            self._commit([entry])
        except Exception as exc:
            self._give_up(entry, exc)

    def _give_up(self, entry: Entry, exc: Exception) -> None:
        """Dead-letter an entry the store refuses; a failure of the store itself (transient) is
        raised instead, keeping the entry for the next try, as is a failure to dead-letter."""
        if isinstance(exc, StoreError) and exc.transient:
            raise exc
        reason = f"could not be stored: {type(exc).__name__}: {exc}"
        log.error("ingestion writer: entry %d (%s) %s; its rows go to IngestionErrors",
                  entry.seq, entry.batch.source, reason)  # fmt: skip
        self._dead_letter(entry, reason)

    def _advance(self, seq: int) -> None:
        self.journal.release(seq)
        with self._changed:
            self.position = seq
            self._changed.notify_all()
