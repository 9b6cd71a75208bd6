"""Errors raised by watchkeeper.

Every error a user can cause derives from :class:`WatchkeeperError`. Errors about a query carry the
query text and a :class:`SourceSpan`, so that :meth:`KqlError.render` can print the offending line
with a caret under the column::

    WatchkeeperError
    ├── KqlError                  query text + span; .render() shows line, column and caret
    │   ├── KqlSyntaxError        stage "parse": the text is not KQL
    │   ├── KqlBindError          stage "bind": unknown table/column/function, wrong types or arity
    │   └── UnsupportedError      the construct is KQL, but watchkeeper cannot compile it (yet)
    ├── CatalogError              unknown table, bad schema, bad custom table name
    ├── StoreError                the event store failed
    │   ├── IngestError           rows that cannot be coerced to the table schema
    │   ├── QueryLimitError       a query exceeded a configured limit
    │   │   ├── RowLimitExceeded  more rows than the result row limit
    │   │   └── QueryTimeout      longer than the query time limit
    │   ├── QueryExecutionError   the engine rejected the compiled SQL at run time
    │   └── ExternalDataRefused   externaldata names a location outside the allowlist
    ├── Throttled                 refused for now: retry after .retry_after seconds
    │   ├── QueryThrottled        the tenant already runs as many queries as it may
    │   ├── IngestThrottled       the workspace already has as many batches waiting as it may queue
    │   └── StateBusy             the state database stayed locked by other writers past its busy timeout
    ├── NotFoundError             no such object for this caller (another tenant's objects included)
    ├── InvalidRequestError       a request that is malformed apart from its query (a bad timespan...)
    └── ConfigurationError        settings that cannot work
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CatalogError",
    "ConfigurationError",
    "ExternalDataRefused",
    "IngestError",
    "IngestThrottled",
    "InvalidRequestError",
    "JournalFull",
    "KqlBindError",
    "KqlError",
    "KqlSyntaxError",
    "NotFoundError",
    "QueryExecutionError",
    "QueryLimitError",
    "QueryThrottled",
    "QueryTimeout",
    "RowLimitExceeded",
    "SourceSpan",
    "StateBusy",
    "StoreError",
    "Throttled",
    "UnsupportedError",
    "WatchkeeperError",
]


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A half-open character range ``[start, end)`` in the query text."""

    start: int
    end: int

    def line_col(self, text: str) -> tuple[int, int]:
        """1-based line and column of ``start`` in ``text``."""
        before = text[: self.start]
        line = before.count("\n") + 1
        col = self.start - (before.rfind("\n") + 1) + 1
        return line, col

    def cover(self, other: SourceSpan) -> SourceSpan:
        """The smallest span containing both spans."""
        return SourceSpan(min(self.start, other.start), max(self.end, other.end))


class WatchkeeperError(Exception):
    """Base of every error watchkeeper raises on purpose."""


class KqlError(WatchkeeperError):
    """An error in a KQL query, located by a span in the query text."""

    stage = "kql"

    def __init__(self, message: str, span: SourceSpan | None = None, text: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.text = text

    def with_text(self, text: str) -> KqlError:
        """Attach the query text (the parser knows it, deeper stages may not)."""
        if self.text is None:
            self.text = text
        return self

    @property
    def line(self) -> int | None:
        return self.span.line_col(self.text)[0] if self.span and self.text is not None else None

    @property
    def column(self) -> int | None:
        return self.span.line_col(self.text)[1] if self.span and self.text is not None else None

    def render(self) -> str:
        """The message, then the query line with a caret under the error."""
        head = self.message if self.message.startswith(self.stage) else f"{self.stage} error: {self.message}"
        if self.span is None or self.text is None:
            return head
        line, col = self.span.line_col(self.text)
        lines = self.text.split("\n")  # the same line breaks line_col counts
        source_line = lines[line - 1].rstrip("\r") if line - 1 < len(lines) else ""
        width = max(1, min(self.span.end - self.span.start, len(source_line) - col + 1))
        caret = " " * (col - 1) + "^" * width
        return f"{head}\n  --> line {line}, column {col}\n   | {source_line}\n   | {caret}"

    def __str__(self) -> str:
        if self.span is None or self.text is None:
            return self.message
        line, col = self.span.line_col(self.text)
        return f"{self.message} (line {line}, column {col})"


class KqlSyntaxError(KqlError):
    """The query text is not valid KQL."""

    stage = "syntax"


class KqlBindError(KqlError):
    """The query names something that does not exist or combines types KQL does not allow."""

    stage = "bind"


class UnsupportedError(KqlError):
    """Valid KQL that watchkeeper cannot compile; the message names the operator or function."""

    stage = "unsupported"

    def __init__(self, what: str, span: SourceSpan | None = None, text: str | None = None) -> None:
        message = what if what.startswith("unsupported") else f"unsupported: {what}"
        super().__init__(message, span, text)


class CatalogError(WatchkeeperError):
    """A table or schema problem outside of a query (unknown table, invalid custom table name)."""


class ConfigurationError(WatchkeeperError):
    """Settings that cannot work together."""


class StoreError(WatchkeeperError):
    """The event store could not do what was asked. ``transient``: the store itself is failing
    (I/O, memory, a busy file), not the data; the same write may succeed later."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class IngestError(StoreError):
    """Rows that cannot be stored in their table; ``reasons`` lists them by row index."""

    def __init__(self, message: str, reasons: list[tuple[int, str]] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


class QueryExecutionError(StoreError):
    """The engine rejected the compiled SQL when it ran (for example a failed conversion)."""


class ExternalDataRefused(StoreError):
    """``externaldata`` would read a file or URL the workspace does not allow."""

    def __init__(self, location: str) -> None:
        super().__init__(
            f"externaldata may not read '{location}': the location is not on this workspace's allowlist "
            "(setting external_data_allow, WK_EXTERNAL_DATA_ALLOW)"
        )
        self.location = location


class QueryLimitError(StoreError):
    """A query exceeded one of the configured limits."""


class RowLimitExceeded(QueryLimitError):
    """The result has more rows than the configured row limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"query result exceeds the row limit of {limit} rows; add '| take N' or raise the limit"
        )
        self.limit = limit


class QueryTimeout(QueryLimitError):
    """The query ran longer than the configured time limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"query exceeded the time limit of {seconds:g} s and was cancelled")
        self.seconds = seconds


class Throttled(WatchkeeperError):
    """Refused for now, not for good: the caller may try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueryThrottled(Throttled):
    """The tenant already runs as many queries at once as it may; ``retry_after`` seconds to wait."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"too many concurrent queries: this tenant may run {limit} at once; retry after {retry_after} s",
            retry_after,
        )
        self.limit = limit


class IngestThrottled(Throttled):
    """A workspace already has as many batches waiting to be stored as it may queue."""

    def __init__(self, waiting: int, retry_after: int) -> None:
        super().__init__(
            f"the workspace is busy storing data: {waiting} batches are waiting already; retry after {retry_after} s",
            retry_after,
        )
        self.waiting = waiting


class JournalFull(Throttled):
    """A workspace's journal holds as much not-yet-stored data as it may: the store is behind."""

    def __init__(self, pending_bytes: int, limit: int, retry_after: int) -> None:
        super().__init__(
            f"the workspace's ingestion journal is full ({pending_bytes / 1e6:,.0f} MB waiting to be stored, "
            f"limit {limit / 1e6:,.0f} MB); retry after {retry_after} s",
            retry_after,
        )
        self.pending_bytes = pending_bytes


class StateBusy(Throttled):
    """The state database stayed locked by other writers for longer than its busy timeout (SQLite
    takes one writer at a time): the server is overloaded for now, the request is not at fault. The
    transaction that waited was rolled back; the same request may succeed after ``retry_after`` s."""

    def __init__(self, waited: float, retry_after: int = 2) -> None:
        super().__init__(
            f"the state database is busy: other writers held it for more than {waited:g} s, so this "
            f"request's transaction was rolled back; retry after {retry_after} s",
            retry_after,
        )
        self.waited = waited


class NotFoundError(WatchkeeperError):
    """No such object for this caller. Another tenant's objects are not found either: the message
    is the same whether the object does not exist or belongs to someone else."""

    def __init__(self, kind: str, ref: str) -> None:
        super().__init__(f"{kind} '{ref}' was not found")
        self.kind = kind
        self.ref = ref


class InvalidRequestError(WatchkeeperError):
    """A request that is malformed apart from its query text (a bad timespan, an unknown option)."""
