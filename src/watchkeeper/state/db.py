"""One :class:`Database` per process: the engine, sessions and migrations of the state database.

SQLite (the default, a file under the data directory) runs in WAL mode so that readers never wait
for the writer and a crash loses nothing committed; PostgreSQL is used when the URL says so.
Domain packages declare their tables on :class:`Base`; the schema itself is created only by the
Alembic migrations in ``state/migrations`` (a test checks that the two agree).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from watchkeeper.errors import WatchkeeperError

__all__ = ["Base", "Database", "StateError", "UtcDateTime", "new_id", "utc_now"]

MIGRATIONS = Path(__file__).parent / "migrations"


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
    """The engine and session factory for one state database URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            _make_folder(Path(parsed.database).parent)
        self.engine: Engine = create_engine(parsed, **options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; safe on every start)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
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


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file is in the way, no permission
        raise StateError(f"cannot create the state database's folder {folder}: {exc.strerror}") from None


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL: readers do not block the writer; NORMAL sync is durable in WAL mode (a crash keeps every
    # committed transaction); the busy timeout makes concurrent writers wait instead of failing.
    cursor = connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
