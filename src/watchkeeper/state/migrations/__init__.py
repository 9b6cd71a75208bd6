"""Alembic migrations of the state database (run by :meth:`watchkeeper.state.Database.migrate`)."""
