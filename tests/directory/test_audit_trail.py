"""Every directory write leaves an audit entry in the same transaction: who, which tenant, what,
which object. A write that is refused leaves neither the object nor an entry."""

from __future__ import annotations

import pytest

from tests.state_fixtures import unique
from watchkeeper.audit import Actor, list_entries
from watchkeeper.directory import (
    DirectoryError,
    create_app,
    create_tenant,
    create_user,
    create_workspace,
    list_workspaces,
)
from watchkeeper.state import Database

ACTOR = Actor("app", "11111111-2222-3333-4444-555555555555", request_id="req-42")


def test_every_write_is_audited_with_its_actor_and_target(database: Database) -> None:
    with database.session() as session:
        tenant = create_tenant(session, name=unique("t"), actor=ACTOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
        app = create_app(
            session, tenant_id=tenant.id, name="soar", roles=["SecurityAlert.Read.All"], actor=ACTOR
        )
        user = create_user(session, tenant_id=tenant.id, username="lead", password="a long passphrase",
                           roles=[], actor=ACTOR)  # fmt: skip
    with database.session() as session:
        page = list_entries(session, tenant_id=tenant.id)
    seen = [(e.action, e.target, e.outcome, e.actor_kind, e.actor, e.request_id) for e in page.entries]
    assert seen == [
        ("user.create", user.id, "success", "app", ACTOR.id, "req-42"),
        ("app.create", app.client_id, "success", "app", ACTOR.id, "req-42"),
        ("workspace.create", workspace.id, "success", "app", ACTOR.id, "req-42"),
        ("tenant.create", tenant.id, "success", "app", ACTOR.id, "req-42"),
    ]
    details = {e.action: e.detail for e in page.entries}
    assert details["tenant.create"] == {"name": tenant.name}
    assert details["workspace.create"] == {"name": "main", "folder": workspace.folder}
    assert details["app.create"] == {"name": "soar", "roles": ["SecurityAlert.Read.All"]}
    assert details["user.create"] == {"username": "lead", "roles": []}
    assert all(e.tenant_id == tenant.id for e in page.entries)


def _two_workspaces(database: Database, tenant_id: str, first: str, second: str) -> None:
    with database.session() as session:
        create_workspace(session, tenant_id=tenant_id, name=first, actor=ACTOR)
        create_workspace(session, tenant_id=tenant_id, name=second, actor=ACTOR)


def test_a_refused_write_leaves_no_object_and_no_entry(database: Database) -> None:
    with database.session() as session:
        tenant = create_tenant(session, name=unique("t"), actor=ACTOR)
        create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
    with pytest.raises(DirectoryError, match="a workspace named 'main'"):
        _two_workspaces(database, tenant.id, "side", "main")  # "side" is undone with "main"
    with database.session() as session:
        assert [w.name for w in list_workspaces(session, tenant_id=tenant.id)] == ["main"]
        actions = [e.action for e in list_entries(session, tenant_id=tenant.id).entries]
    assert actions == ["workspace.create", "tenant.create"]
