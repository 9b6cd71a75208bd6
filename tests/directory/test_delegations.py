"""Delegated access (the managed security provider case): ``wk users grant`` gives a managing
tenant's user roles in a customer tenant, ``wk users revoke`` takes them away, ``wk users list``
shows them from both sides; every grant and revoke is audited in both tenants, and a grant that
could widen access in a way nobody asked for (own tenant, no role, an unknown role, a user of
another tenant) is refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tests.state_fixtures import unique
from watchkeeper.audit import Actor, list_entries
from watchkeeper.cli import app
from watchkeeper.directory import DirectoryError, TenantRead, create_tenant, create_user
from watchkeeper.directory.delegations import delegations_into, grant_delegation
from watchkeeper.state import Database

ACTOR = Actor("cli", "operator")
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: Database) -> Path:
    """Run in ``tmp_path`` with the test's state database as the configured one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WK_DATA_DIR", raising=False)
    monkeypatch.setenv("WK_DATABASE_URL", database.url)
    return tmp_path


def wk(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def wk_json(*args: str) -> Any:
    result = wk(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _tenants(database: Database) -> tuple[TenantRead, TenantRead]:
    """A managing tenant with user ``soc`` (incident writer at home) and a customer tenant."""
    with database.session() as session:
        mssp = create_tenant(session, name=unique("mssp"), actor=ACTOR)
        customer = create_tenant(session, name=unique("contoso"), actor=ACTOR)
        create_user(session, tenant_id=mssp.id, username="soc", password=PASSWORD,
                    roles=["SecurityIncident.ReadWrite.All"], actor=ACTOR)  # fmt: skip
    return mssp, customer


def _actions(database: Database, tenant_id: str) -> list[tuple[str, dict[str, Any]]]:
    with database.session() as session:
        page = list_entries(session, tenant_id=tenant_id, limit=20)
    return [(e.action, e.detail) for e in page.entries if e.action.startswith("delegation.")]


def test_grant_list_and_revoke_from_the_cli_audited_in_both_tenants(database: Database) -> None:
    mssp, customer = _tenants(database)
    granted = wk_json("users", "grant", "soc", "--tenant", mssp.name, "--customer", customer.name,
                      "--role", "SecurityIncident.Read.All", "--role", "Data.Read")  # fmt: skip
    assert (granted["user"], granted["customer"]) == ("soc", customer.name)
    assert granted["roles"] == ["Data.Read", "SecurityIncident.Read.All"]
    home = wk_json("users", "list", "--tenant", mssp.name)
    assert [(r["user"], r["customer"]) for r in home] == [("soc", ""), ("soc", customer.name)]
    theirs = wk_json("users", "list", "--tenant", customer.name)
    assert [(r["user"], r["tenant"], r["roles"]) for r in theirs] == [
        ("soc", mssp.name, ["Data.Read", "SecurityIncident.Read.All"])
    ]
    revoked = wk_json("users", "revoke", "soc", "--tenant", mssp.name, "--customer", customer.name)
    assert revoked["revoked"] is True
    assert wk_json("users", "list", "--tenant", customer.name) == []
    for tenant in (mssp, customer):
        actions = _actions(database, tenant.id)
        assert [a for a, _ in actions] == ["delegation.revoke", "delegation.grant"]
        assert actions[1][1]["customerTenant"] == customer.name
        assert actions[1][1]["roles"] == ["Data.Read", "SecurityIncident.Read.All"]


def test_granting_again_replaces_the_roles(database: Database) -> None:
    mssp, customer = _tenants(database)
    for roles in (["SecurityIncident.ReadWrite.All", "Data.Read"], ["SecurityIncident.Read.All"]):
        with database.session() as session:
            grant_delegation(session, managing_tenant_id=mssp.id, username="soc", customer_tenant_id=customer.id,
                             roles=roles, actor=ACTOR)  # fmt: skip
    with database.session() as session:
        (only,) = delegations_into(session, tenant_id=customer.id)
    assert only.roles == ["SecurityIncident.Read.All"]


@pytest.mark.parametrize(
    ("customer_is_home", "roles", "username", "reason"),
    [
        (True, ["Data.Read"], "soc", "the user's own tenant"),
        (False, [], "soc", "at least one role"),
        (False, ["Data.ReadWrite.Everything"], "soc", "unknown role(s): Data.ReadWrite.Everything"),
        (False, ["Data.Read"], "nobody", "no user 'nobody' in the managing tenant"),
    ],
)
def test_a_grant_that_cannot_be_made_is_refused_with_the_reason(
    database: Database, customer_is_home: bool, roles: list[str], username: str, reason: str
) -> None:
    mssp, customer = _tenants(database)
    target = mssp if customer_is_home else customer
    with (
        database.session() as session,
        pytest.raises(DirectoryError, match=reason.replace("(", r"\(").replace(")", r"\)")),
    ):
        grant_delegation(session, managing_tenant_id=mssp.id, username=username, customer_tenant_id=target.id,
                         roles=roles, actor=ACTOR)  # fmt: skip


def test_a_user_of_the_customer_cannot_be_granted_back_through_the_managing_tenant(
    database: Database,
) -> None:
    mssp, customer = _tenants(database)
    with database.session() as session:
        create_user(
            session, tenant_id=customer.id, username="insider", password=PASSWORD, roles=[], actor=ACTOR
        )
    result = wk(
        "users", "grant", "insider", "--tenant", mssp.name, "--customer", customer.name, "--role", "Data.Read"
    )
    assert result.exit_code != 0
    assert "no user 'insider' in the managing tenant" in result.output
    with database.session() as session:
        assert delegations_into(session, tenant_id=customer.id) == []


def test_revoking_what_was_never_granted_says_so(database: Database) -> None:
    mssp, customer = _tenants(database)
    result = wk("users", "revoke", "soc", "--tenant", mssp.name, "--customer", customer.name)
    assert result.exit_code != 0
    assert "has no delegation to that customer tenant" in result.output
    assert "Traceback" not in result.output
