"""Tenants and their workspaces: created, found by id or name, names unique where they must be,
and a workspace is only ever found within its own tenant."""

from __future__ import annotations

import pytest

from tests.state_fixtures import unique
from watchkeeper.audit import Actor
from watchkeeper.directory import (
    DirectoryError,
    TenantRead,
    create_tenant,
    create_workspace,
    find_tenant,
    find_workspace,
    list_tenants,
    list_workspaces,
)
from watchkeeper.state import Database

ACTOR = Actor("cli", "operator")


def _tenant(database: Database, prefix: str = "t") -> TenantRead:
    with database.session() as session:
        return create_tenant(session, name=unique(prefix), actor=ACTOR)


def test_a_tenant_is_found_by_id_in_any_case_and_by_name(database: Database) -> None:
    tenant = _tenant(database, "contoso")
    with database.session() as session:
        assert find_tenant(session, ref=tenant.id) == tenant
        assert find_tenant(session, ref=tenant.id.upper()) == tenant
        assert find_tenant(session, ref=tenant.name) == tenant
        assert find_tenant(session, ref=unique("missing")) is None
        assert tenant in list_tenants(session)
    assert tenant.created_at.tzinfo is not None


def test_tenant_names_are_unique(database: Database) -> None:
    tenant = _tenant(database)
    taken = f"a tenant named '{tenant.name}' already exists"
    with pytest.raises(DirectoryError, match=taken), database.session() as session:
        create_tenant(session, name=tenant.name, actor=ACTOR)
    with database.session() as session:
        assert [t.id for t in list_tenants(session) if t.name == tenant.name] == [tenant.id]


@pytest.mark.parametrize("name", ["", " leading-space", "../escape", "a;DROP TABLE tenants", "x" * 129, "é"])
def test_invalid_names_are_refused(database: Database, name: str) -> None:
    tenant = _tenant(database)
    with pytest.raises(DirectoryError, match=r"name .* is not valid"), database.session() as session:
        create_tenant(session, name=name, actor=ACTOR)
    with pytest.raises(DirectoryError, match=r"name .* is not valid"), database.session() as session:
        create_workspace(session, tenant_id=tenant.id, name=name, actor=ACTOR)
    with database.session() as session:
        assert find_tenant(session, ref=name) is None
        assert list_workspaces(session, tenant_id=tenant.id) == []


def test_a_workspace_belongs_to_an_existing_tenant(database: Database) -> None:
    with pytest.raises(DirectoryError, match="no tenant with id"), database.session() as session:
        create_workspace(session, tenant_id="00000000-0000-0000-0000-000000000000", name="main", actor=ACTOR)


def test_workspace_names_are_unique_within_a_tenant_only(database: Database) -> None:
    first, second = _tenant(database), _tenant(database)
    with database.session() as session:
        mine = create_workspace(session, tenant_id=first.id, name="main", actor=ACTOR)
        theirs = create_workspace(session, tenant_id=second.id, name="main", actor=ACTOR)
    assert mine.id != theirs.id
    assert mine.folder == f"workspaces/{mine.id}"
    assert mine.folder != theirs.folder
    with pytest.raises(DirectoryError, match="a workspace named 'main'"), database.session() as session:
        create_workspace(session, tenant_id=first.id, name="main", actor=ACTOR)
    with database.session() as session:
        assert list_workspaces(session, tenant_id=first.id) == [mine]


def test_two_workspaces_never_share_a_folder(database: Database) -> None:
    tenant = _tenant(database)
    folder = f"workspaces/{unique('shared')}"
    with database.session() as session:
        create_workspace(session, tenant_id=tenant.id, name="one", folder=folder, actor=ACTOR)
    with pytest.raises(DirectoryError, match="already exists"), database.session() as session:
        create_workspace(session, tenant_id=tenant.id, name="two", folder=folder, actor=ACTOR)


def test_a_workspace_is_found_by_id_or_name_within_its_tenant(database: Database) -> None:
    tenant = _tenant(database)
    with database.session() as session:
        created = create_workspace(session, tenant_id=tenant.id, name="Hunting Lab", actor=ACTOR)
    with database.session() as session:
        assert find_workspace(session, tenant_id=tenant.id, ref=created.id) == created
        assert find_workspace(session, tenant_id=tenant.id, ref=created.id.upper()) == created
        assert find_workspace(session, tenant_id=tenant.id, ref="Hunting Lab") == created


def test_another_tenants_workspace_is_never_found(database: Database) -> None:
    mine, theirs = _tenant(database), _tenant(database)
    with database.session() as session:
        secret = create_workspace(session, tenant_id=theirs.id, name="their-secrets", actor=ACTOR)
        own = create_workspace(session, tenant_id=mine.id, name="main", actor=ACTOR)
        shared_name = create_workspace(session, tenant_id=theirs.id, name="main", actor=ACTOR)
    with database.session() as session:
        for ref in (secret.id, secret.id.upper(), "their-secrets", shared_name.id):
            assert find_workspace(session, tenant_id=mine.id, ref=ref) is None
        assert find_workspace(session, tenant_id=mine.id, ref="main") == own
        assert find_workspace(session, tenant_id=theirs.id, ref="main") == shared_name
        assert [w.id for w in list_workspaces(session, tenant_id=mine.id)] == [own.id]
        assert {w.id for w in list_workspaces(session, tenant_id=theirs.id)} == {secret.id, shared_name.id}
