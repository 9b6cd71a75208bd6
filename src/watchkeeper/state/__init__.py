"""The state database: mutable platform state (tenants, apps, keys, audit; later alerts, incidents,
rules) in SQLAlchemy 2, on SQLite in WAL mode by default or PostgreSQL, migrated with Alembic."""

from watchkeeper.state.db import Base, Database, UtcDateTime, new_id, utc_now

__all__ = ["Base", "Database", "UtcDateTime", "new_id", "utc_now"]
