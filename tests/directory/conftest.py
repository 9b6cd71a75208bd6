"""The directory tests run on SQLite and, when WK_TEST_POSTGRES_URL is set, on PostgreSQL."""

from tests.state_fixtures import database

__all__ = ["database"]
