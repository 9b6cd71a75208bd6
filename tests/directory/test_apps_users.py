"""App registrations and console users: roles checked, secrets shown once, sign-in that fails for
a wrong secret, a disabled account and another tenant's account alike."""

from __future__ import annotations

import pytest

from tests.state_fixtures import unique
from watchkeeper.audit import Actor
from watchkeeper.directory import (
    ROLES,
    AppCreated,
    AppRegistration,
    DirectoryError,
    TenantRead,
    UserAccount,
    authenticate_app,
    authenticate_user,
    create_app,
    create_tenant,
    create_user,
    list_apps,
)
from watchkeeper.state import Database

ACTOR = Actor("cli", "operator")
PASSWORD = "correct horse battery staple"


def _tenant(database: Database) -> TenantRead:
    with database.session() as session:
        return create_tenant(session, name=unique("t"), actor=ACTOR)


def _app(
    database: Database, tenant: TenantRead, name: str = "siem", roles: list[str] | None = None
) -> AppCreated:
    with database.session() as session:
        return create_app(session, tenant_id=tenant.id, name=name, roles=roles or ["Data.Read"], actor=ACTOR)


def test_an_app_gets_a_client_id_a_secret_and_its_roles(database: Database) -> None:
    tenant = _tenant(database)
    app = _app(database, tenant, roles=["ThreatHunting.Read.All", "Data.Read", "Data.Read"])
    assert app.roles == ["Data.Read", "ThreatHunting.Read.All"]  # sorted, once each
    assert app.tenant_id == tenant.id
    assert len(app.client_secret) == 40
    assert app.client_id != app.id
    with database.session() as session:
        listed = list_apps(session, tenant_id=tenant.id)
    assert [a.client_id for a in listed] == [app.client_id]
    assert "client_secret" not in listed[0].model_dump()


def test_every_role_of_the_server_can_be_granted(database: Database) -> None:
    app = _app(database, _tenant(database), roles=sorted(ROLES))
    assert app.roles == sorted(ROLES)


@pytest.mark.parametrize(
    "roles", [["Directory.ReadWrite.All"], ["Data.Read", "data.read"], ["Data.Read", ""]]
)
def test_unknown_roles_are_refused_and_nothing_is_created(database: Database, roles: list[str]) -> None:
    tenant = _tenant(database)
    unknown = [r for r in roles if r not in ROLES]
    with pytest.raises(DirectoryError, match=f"unknown role\\(s\\): {unknown[0]}"), database.session() as s:
        create_app(s, tenant_id=tenant.id, name="escalate", roles=roles, actor=ACTOR)
    with pytest.raises(DirectoryError, match="unknown role"), database.session() as s:
        create_user(s, tenant_id=tenant.id, username="eve", password=PASSWORD, roles=roles, actor=ACTOR)
    with database.session() as session:
        assert list_apps(session, tenant_id=tenant.id) == []
        assert session.query(UserAccount).filter_by(tenant_id=tenant.id).count() == 0


def test_an_app_signs_in_with_its_own_secret_only(database: Database) -> None:
    tenant = _tenant(database)
    app, twin = _app(database, tenant, "twin"), _app(database, tenant, "twin")  # display names may repeat
    assert app.client_id != twin.client_id
    with database.session() as session:
        signed_in = authenticate_app(session, tenant_id=tenant.id, client_id=app.client_id,
                                     secret=app.client_secret)  # fmt: skip
        assert signed_in is not None
        assert signed_in.id == app.id
        assert signed_in.roles == app.roles
        upper = authenticate_app(session, tenant_id=tenant.id, client_id=app.client_id.upper(),
                                 secret=app.client_secret)  # fmt: skip
        assert upper is not None
        assert upper.id == app.id
        refused = [
            (app.client_id, app.client_secret + "x"),
            (app.client_id, twin.client_secret),
            (twin.client_id, app.client_secret),
            ("not-a-guid", app.client_secret),
        ]
        for client_id, secret in refused:
            assert authenticate_app(session, tenant_id=tenant.id, client_id=client_id, secret=secret) is None


def test_a_disabled_app_cannot_sign_in(database: Database) -> None:
    tenant = _tenant(database)
    app = _app(database, tenant)
    with database.session() as session:
        registration = session.get(AppRegistration, app.id)
        assert registration is not None
        registration.disabled = True
    with database.session() as session:
        found = authenticate_app(
            session, tenant_id=tenant.id, client_id=app.client_id, secret=app.client_secret
        )
    assert found is None


def test_an_app_cannot_sign_in_to_another_tenant(database: Database) -> None:
    home, other = _tenant(database), _tenant(database)
    app = _app(database, home)
    with database.session() as session:
        found = authenticate_app(
            session, tenant_id=other.id, client_id=app.client_id, secret=app.client_secret
        )
    assert found is None


def test_a_user_signs_in_with_the_password_in_their_own_tenant_only(database: Database) -> None:
    home, other = _tenant(database), _tenant(database)
    with database.session() as session:
        user = create_user(session, tenant_id=home.id, username="analyst@example.com", password=PASSWORD,
                           roles=["ThreatHunting.Read.All"], actor=ACTOR)  # fmt: skip
    with database.session() as session:
        signed_in = authenticate_user(session, tenant_id=home.id, username="analyst@example.com",
                                      password=PASSWORD)  # fmt: skip
        assert signed_in == user
        for tenant_id, password in ((home.id, PASSWORD.upper()), (other.id, PASSWORD)):
            assert authenticate_user(session, tenant_id=tenant_id, username=user.username,
                                     password=password) is None  # fmt: skip
        account = session.get(UserAccount, user.id)
        assert account is not None
        account.disabled = True
    with database.session() as session:
        assert (
            authenticate_user(session, tenant_id=home.id, username=user.username, password=PASSWORD) is None
        )


def test_usernames_are_unique_within_a_tenant_only(database: Database) -> None:
    first, second = _tenant(database), _tenant(database)
    with database.session() as session:
        create_user(session, tenant_id=first.id, username="admin", password=PASSWORD, roles=[], actor=ACTOR)
        create_user(session, tenant_id=second.id, username="admin", password=PASSWORD, roles=[], actor=ACTOR)
    taken = "a user named 'admin' in this tenant already exists"
    with pytest.raises(DirectoryError, match=taken), database.session() as session:
        create_user(session, tenant_id=first.id, username="admin", password=PASSWORD, roles=[], actor=ACTOR)


@pytest.mark.parametrize(
    ("username", "password", "problem"),
    [("", PASSWORD, "username"), ("two words", PASSWORD, "username"), ("ok", "short-pass1", "12 characters")],
)
def test_bad_usernames_and_short_passwords_are_refused(
    database: Database, username: str, password: str, problem: str
) -> None:
    tenant = _tenant(database)
    with pytest.raises(DirectoryError, match=problem), database.session() as session:
        create_user(session, tenant_id=tenant.id, username=username, password=password, roles=[], actor=ACTOR)
