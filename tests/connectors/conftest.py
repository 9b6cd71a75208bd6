"""A runtime over a temporary data directory with one tenant and workspace per test module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.state_fixtures import unique
from watchkeeper.audit import Actor
from watchkeeper.directory import WorkspaceRead, create_tenant, create_workspace
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

OPERATOR = Actor("cli", "operator")


@dataclass
class Place:
    runtime: Runtime
    workspace: WorkspaceRead


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    built = Runtime(Settings(data_dir=tmp_path_factory.mktemp("connectors")))
    yield built
    built.close()


@pytest.fixture
def place(runtime: Runtime) -> Place:
    """A new tenant with one workspace (tests of a module share the runtime)."""
    with runtime.database.session() as session:
        tenant = create_tenant(session, name=unique("tenant"), actor=OPERATOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=OPERATOR)
    return Place(runtime, workspace)
