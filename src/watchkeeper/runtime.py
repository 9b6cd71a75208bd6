"""The composition root: what one server process (or one CLI command) builds from :class:`Settings`.

:class:`Runtime` owns the state database (migrated on open), the signing keys and token issuer,
the open workspaces' event stores and the per-tenant query gate. Nothing else constructs these.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import TracebackType

from watchkeeper.cases import models as _cases  # noqa: F401  (their tables belong to the state schema)
from watchkeeper.detections import library as _library  # noqa: F401
from watchkeeper.detections import runs as _runs  # noqa: F401
from watchkeeper.directory import WorkspaceRead, every_workspace
from watchkeeper.errors import ConfigurationError, IngestThrottled, QueryThrottled
from watchkeeper.identity import KeyRing, TokenIssuer
from watchkeeper.settings import Settings
from watchkeeper.state import Database
from watchkeeper.store.base import EventStore, QueryLimits
from watchkeeper.store.clickhouse import ChdbEventStore
from watchkeeper.store.clickhouse_ddl import Retention
from watchkeeper.store.clickhouse_server import ClickHouseEventStore, ClickHouseUrl, workspace_database
from watchkeeper.workspace import JOURNAL_FOLDER, Workspace

__all__ = ["IngestGate", "QueryGate", "Runtime", "WorkspaceStores"]


class WorkspaceStores:
    """Opens each workspace's event store once (DuckDB allows one writer per file) and shares it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._open: dict[str, Workspace] = {}
        self._records: dict[str, WorkspaceRead] = {}
        # called with each workspace as it is opened (the server attaches its near-real-time rules)
        self.on_open: list[Callable[[WorkspaceRead, Workspace], None]] = []
        self._lock = threading.Lock()

    def get(self, record: WorkspaceRead) -> Workspace:
        with self._lock:
            if record.id not in self._open:
                opened = self._workspace(record)
                for hook in self.on_open:  # before recovery, so that NRT rules see the recovered batches
                    hook(record, opened)
                opened.recover()
                self._open[record.id], self._records[record.id] = opened, record
            return self._open[record.id]

    def _workspace(self, record: WorkspaceRead) -> Workspace:
        """The workspace on the configured event store (``events_url``); its journal stays in
        its folder on this node either way."""
        folder = self.folder(record)
        if self.settings.events_url == "duckdb":
            return Workspace.open(folder, settings=self.settings, recover=False)
        settings = self.settings
        return Workspace(
            _event_store(settings, record.id), path=folder, journal=folder / JOURNAL_FOLDER,
            limits=QueryLimits(max_rows=settings.query_row_limit, timeout=settings.query_timeout),
            external_data_allow=settings.external_data_allow, journal_limit=settings.ingest_journal_limit,
            journal_wait=settings.ingest_queue_wait,
        )  # fmt: skip

    def opened(self) -> list[tuple[WorkspaceRead, Workspace]]:
        """The workspaces open now, with their records."""
        with self._lock:
            return [(self._records[key], workspace) for key, workspace in self._open.items()]

    def recover(self, records: list[WorkspaceRead]) -> int:
        """Open the workspaces whose journals hold batches received before a restart, which
        stores them; returns how many entries were stored."""
        stored = 0
        for record in records:
            journal = self.folder(record) / JOURNAL_FOLDER
            if journal.is_dir() and any(journal.iterdir()):
                stored += self.get(record).recover()
        return stored

    def folder(self, record: WorkspaceRead) -> Path:
        """The workspace's folder under the data directory (a stored folder never escapes it)."""
        relative = PurePosixPath(record.folder)
        if relative.is_absolute() or ".." in relative.parts:
            raise ConfigurationError(f"workspace {record.id} has a folder outside the data directory")
        return self.settings.data_dir / Path(*relative.parts)

    def close(self) -> None:
        with self._lock:
            for workspace in self._open.values():
                workspace.close()
            self._open.clear()
            self._records.clear()


def _event_store(settings: Settings, workspace_id: str) -> EventStore:
    """A ClickHouse event store for a workspace: a database of its own, in process (chdb, on one
    data path per process) or on the server ``events_url`` names."""
    retention = Retention(settings.event_retention_days, settings.event_retention)
    if settings.events_url == "chdb":
        database = workspace_database("wk", workspace_id)
        return ChdbEventStore(settings.data_dir / "events.chdb", database=database, retention=retention)
    url = ClickHouseUrl.parse(settings.events_url)
    database = workspace_database(url.prefix, workspace_id)
    # the HTTP read outlasts the longest query a request may ask for; the server stops it first
    timeout = settings.query_timeout_max + 60
    return ClickHouseEventStore(url, database, retention=retention, receive_timeout=timeout)


class QueryGate:
    """At most ``limit`` queries at once per tenant; a query waits up to ``wait`` seconds for a
    slot, then is refused with :class:`QueryThrottled` (a 429 with ``Retry-After``), never hangs."""

    def __init__(self, limit: int, wait: float) -> None:
        self.limit = limit
        self.wait = wait
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, tenant_id: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(tenant_id, threading.BoundedSemaphore(self.limit))
        if not semaphore.acquire(timeout=self.wait):
            raise QueryThrottled(self.limit, max(1, math.ceil(self.wait)))
        try:
            yield
        finally:
            semaphore.release()


class IngestGate:
    """At most ``limit`` received batches per workspace in the server at once (being stored or
    waiting for the store): a batch waits up to ``wait`` seconds for room, then is refused with
    :class:`IngestThrottled` (a 429 with ``Retry-After``), so a slow store bounds memory and time
    instead of letting requests pile up."""

    def __init__(self, limit: int, wait: float) -> None:
        self.limit = limit
        self.wait = wait
        self._room: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, workspace_id: str) -> Iterator[None]:
        with self._lock:
            room = self._room.setdefault(workspace_id, threading.BoundedSemaphore(self.limit))
        if not room.acquire(timeout=self.wait):
            raise IngestThrottled(self.limit, max(1, math.ceil(self.wait)))
        try:
            yield
        finally:
            room.release()


class Runtime:
    """Everything a process shares, built from settings; close it (or use ``with``) when done."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.database = Database(
            self.settings.state_database_url(), busy_timeout=self.settings.state_busy_timeout
        )
        self.database.migrate()
        self.keys = KeyRing(self.database)
        self.tokens = TokenIssuer(self.keys, lifetime=self.settings.token_lifetime)
        self.workspaces = WorkspaceStores(self.settings)
        self.gate = QueryGate(self.settings.tenant_concurrent_queries, self.settings.query_queue_wait)
        self.ingest_gate = IngestGate(self.settings.ingest_queue, self.settings.ingest_queue_wait)

    def recover_journals(self) -> int:
        """Store every workspace's batches received before a restart (see :meth:`WorkspaceStores.recover`)."""
        with self.database.session() as session:
            records = every_workspace(session)
        return self.workspaces.recover(records)

    def close(self) -> None:
        self.workspaces.close()
        self.database.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
