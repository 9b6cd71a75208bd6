"""The Alembic migrations build exactly the schema the models declare, and running them again (as
every server start does) changes nothing and loses nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

# every package whose tables the product uses: the server and the CLI import them all
import watchkeeper.api.app
import watchkeeper.cli.app  # noqa: F401
from tests.state_fixtures import unique
from watchkeeper.audit import Actor
from watchkeeper.directory import create_tenant, find_tenant
from watchkeeper.state import Base, Database
from watchkeeper.state.db import MIGRATIONS

ACTOR = Actor("cli", "operator")


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_migrations_build_exactly_the_models_schema(database: Database) -> None:
    assert _differences(database) == []
    tables = set(inspect(database.engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_the_newest_migration_is_recorded(database: Database) -> None:
    with database.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [_head()]


def test_migrating_again_changes_nothing_and_keeps_the_data(database: Database) -> None:
    name = unique("kept")
    with database.session() as session:
        created = create_tenant(session, name=name, actor=ACTOR)
    database.migrate()
    database.migrate()
    assert _differences(database) == []
    with database.session() as session:
        assert find_tenant(session, ref=name) == created
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
