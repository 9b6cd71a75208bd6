"""The query side of a workspace, apart from the workspace itself: the cache of compiled queries,
the limits a query's ``set`` options may request, and the external-data allowlist check."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from pathlib import Path

from watchkeeper import kql
from watchkeeper.errors import InvalidRequestError
from watchkeeper.schema.types import TICKS_PER_SECOND
from watchkeeper.schema.values import parse_timespan_text
from watchkeeper.store.base import QueryLimits

__all__ = ["COMPILED_QUERIES", "CompiledQueries", "requested_limits", "within"]

# compiled queries kept per workspace (scheduled rules, dashboards: the same texts again and again)
COMPILED_QUERIES = 512


def requested_limits(limits: QueryLimits, options: Mapping[str, object]) -> QueryLimits:
    """Apply a query's ``set`` request properties: they may tighten the workspace limits, never
    loosen them (``notruncation`` keeps the configured ceiling)."""
    rows, timeout = limits.max_rows, limits.timeout
    requested = options.get("truncationmaxrecords")
    if isinstance(requested, int) and not isinstance(requested, bool) and requested > 0:
        rows = min(rows, requested)
    server_timeout = options.get("servertimeout")
    if isinstance(server_timeout, str):
        try:
            seconds = parse_timespan_text(server_timeout) / TICKS_PER_SECOND
        except ValueError:
            raise InvalidRequestError(f"set servertimeout: {server_timeout!r} is not a timespan") from None
        timeout = min(timeout, seconds) if seconds > 0 else timeout
    return QueryLimits(max_rows=rows, timeout=timeout, strict_rows=limits.strict_rows)


def within(location: str, prefix: str) -> bool:
    """Whether ``location`` lies under ``prefix``: URLs compare as text after normalising the
    path (no ``..`` escapes); local paths compare as resolved real paths."""
    if "://" in location or "://" in prefix:
        from posixpath import normpath
        from urllib.parse import urlsplit

        loc, pre = urlsplit(location), urlsplit(prefix)
        same_origin = (loc.scheme, loc.netloc) == (pre.scheme, pre.netloc)
        loc_path = normpath(loc.path or "/")
        return same_origin and (loc_path + "/").startswith(normpath(pre.path or "/").rstrip("/") + "/")
    real, base = Path(location).resolve(), Path(prefix).resolve()
    return real == base or base in real.parents


class CompiledQueries:
    """A bounded least-recently-used map of compiled, parameterised queries (thread-safe)."""

    def __init__(self, capacity: int = COMPILED_QUERIES) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, kql.CompiledQuery | str] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> kql.CompiledQuery | str | None:
        """The entry for ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, entry: kql.CompiledQuery | str) -> None:
        """Keep ``entry``; the least recently used goes when the cache is full."""
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
