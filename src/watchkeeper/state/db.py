"""One :class:`Database` per process: the engine, sessions and migrations of the state database.

SQLite (the default, a file under the data directory) runs in WAL mode so that readers never wait
for the writer and a crash loses nothing committed; PostgreSQL is used when the URL says so.

On SQLite every :meth:`Database.session` starts as a writer (``BEGIN IMMEDIATE``): a session that reads
and then writes cannot have another writer (a request, the notification sender, the scheduler) commit
in between. With a deferred ``BEGIN`` SQLite refuses such a session's first write outright
(``SQLITE_BUSY_SNAPSHOT``, "database is locked", which no busy timeout helps); as a writer from the
start it instead waits, up to the busy timeout, for the writer before it, and then sees that writer's
changes. A session still waiting after the timeout raises :class:`~watchkeeper.errors.StateBusy`
(the API answers 503 with ``Retry-After``). Plain connections (``engine.connect()``) begin deferred,
as readers. PostgreSQL's transactions are unchanged.

Paths that only read (a session cookie's lookup on every console request, lists) use
:meth:`Database.reading` instead: a deferred transaction that never takes the write lock and
refuses writes (SQLite ``PRAGMA query_only``, PostgreSQL ``READ ONLY``), so readers never queue
behind writers.

Domain packages declare their tables on :class:`Base`; the schema itself is created only by the
Alembic migrations in ``state/migrations`` (a test checks that the two agree).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, Connection, DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from watchkeeper.errors import StateBusy, WatchkeeperError

__all__ = ["Base", "Database", "StateError", "UtcDateTime", "new_id", "utc_now"]

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT = 10.0  # seconds a SQLite writer waits for the one before it
_BEGIN = "watchkeeper_sqlite_begin"  # execution option: how a SQLite transaction begins
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "READ ONLY"})
_SQLITE_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class StateError(WatchkeeperError):
    """The state database cannot be reached or migrated."""


def new_id() -> str:
    """A new object id (a GUID, as Entra ID and Graph use)."""
    return str(uuid.uuid4())


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset; this restores it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored; give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of every state table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        datetime: UtcDateTime,
    }


class Database:
    """The engine and session factory for one state database URL. ``busy_timeout``: how many seconds
    a SQLite session waits for the writer before it before raising :class:`StateBusy`."""

    def __init__(self, url: str, *, echo: bool = False, busy_timeout: float = BUSY_TIMEOUT) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.busy_timeout = busy_timeout  # SQLite: read as each connection opens
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            _make_folder(Path(parsed.database).parent)
        self.engine: Engine = create_engine(parsed, **options)
        self._writers: Engine = self.engine
        self._held = threading.local()  # per thread: the connections holding this file's write lock
        if self.is_sqlite:
            event.listen(self.engine, "connect", self._sqlite_connect)
            event.listen(self.engine, "begin", self._sqlite_begin)
            self._writers = self.engine.execution_options(**{_BEGIN: "IMMEDIATE"})
        self._sessions = sessionmaker(self._writers, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{_BEGIN: "READ ONLY"}), expire_on_commit=False
        )
        if not self.is_sqlite:
            event.listen(self.engine, "begin", self._server_begin)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error.

        On SQLite it holds the write lock from its first statement to its end (see the module's
        docstring): keep it short, never open a second one inside it in the same thread (that would
        wait for itself; it raises instead), and do slow work (queries, HTTP) outside it.
        :class:`StateBusy` when other writers kept the database locked past the busy timeout."""
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            if not (self.is_sqlite and _is_busy(exc)):
                raise
            raise StateBusy(self.busy_timeout) from exc

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session: it never waits for a writer (on SQLite it reads the snapshot of its
        first statement and holds no lock), and a write in it fails (``StateError``): a programming
        error, since a path that writes must use :meth:`session`."""
        try:
            with self._readers.begin() as session:
                yield session
        except DBAPIError as exc:  # SQLite: OperationalError; PostgreSQL: InternalError
            if "readonly" in str(exc.orig).replace("-", "").replace(" ", "").lower():
                raise StateError("a read-only state session tried to write") from exc
            if not (self.is_sqlite and isinstance(exc, OperationalError) and _is_busy(exc)):
                raise
            raise StateBusy(self.busy_timeout) from exc

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; safe on every start)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._writers.begin() as connection:  # as a writer: two processes may migrate at once
                config.attributes["connection"] = connection
                command.upgrade(config, "heads")
        except Exception as exc:  # the URL is wrong, the server is down, the file is not writable
            raise StateError(f"could not migrate the state database ({self.display_url}): {exc}") from exc

    @property
    def display_url(self) -> str:
        """The URL with any password masked (for messages and logs)."""
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def _sqlite_connect(self, connection: sqlite3.Connection, _record: Any) -> None:
        # WAL: readers do not block the writer; NORMAL sync is durable in WAL mode (a crash keeps every
        # committed transaction); the busy timeout makes a writer wait for the one before it.
        cursor = connection.cursor()
        pragmas = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON")
        for pragma in (*pragmas, f"busy_timeout={round(self.busy_timeout * 1000)}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        # pysqlite would begin deferred, and only before writes; SQLAlchemy's "begin" event below
        # emits the BEGIN instead (the documented pysqlite recipe)
        connection.isolation_level = None

    def _sqlite_begin(self, connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN, "DEFERRED")
        assert mode in _BEGIN_MODES
        if mode == "IMMEDIATE":
            self._refuse_second_writer(connection)
        # query_only is per (pooled) connection: set for a read-only transaction, cleared before any other
        connection.exec_driver_sql(f"PRAGMA query_only={int(mode == 'READ ONLY')}")
        connection.exec_driver_sql("BEGIN DEFERRED" if mode == "READ ONLY" else f"BEGIN {mode}")
        if mode == "IMMEDIATE":
            self._writing().add(connection)

    @staticmethod
    def _server_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_BEGIN) == "READ ONLY":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")

    def _writing(self) -> weakref.WeakSet[Connection]:
        held: weakref.WeakSet[Connection] | None = getattr(self._held, "connections", None)
        if held is None:
            held = self._held.connections = weakref.WeakSet()
        return held

    def _refuse_second_writer(self, beginning: Connection) -> None:
        """A thread that holds the write lock and asks for it again would wait for itself until the
        busy timeout; that is a programming error, reported at once."""
        for connection in list(self._writing()):
            if connection is beginning or connection.closed or not connection.in_transaction():
                self._writing().discard(connection)
            else:
                raise RuntimeError(
                    "a state database session was opened inside another one that has written or read "
                    "in the same thread; on SQLite the second would wait for the first forever: "
                    "finish the first session before opening the next"
                )


def _is_busy(exc: OperationalError) -> bool:
    """SQLite's "database is locked"/"database table is locked" (any extended code of the two)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(exc.orig)
    return (code & 0xFF) in _SQLITE_BUSY_CODES


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file is in the way, no permission
        raise StateError(f"cannot create the state database's folder {folder}: {exc.strerror}") from None
