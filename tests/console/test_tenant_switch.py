"""Delegated access in the console (the managed security provider case): a managing tenant's user
with a delegation sees a tenant switcher, switches to the customer tenant and works on its
incidents with the delegated roles only, and switches back; a user without delegation sees no
switcher. Over HTTP with the session: a forged switch to a tenant not delegated is refused (403)
and audited, a revoked delegation puts the next request back in the home tenant, and a read-only
delegation cannot change an incident even though the user may at home.

The module's tenants (``mssp``, ``contoso``) are its own: the other console tests keep theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.console.conftest import ACTOR, PASSWORD, Console, _raise, screenshot
from tests.console.test_console import shown, sign_in
from watchkeeper.audit import list_entries
from watchkeeper.directory import create_tenant, create_user, create_workspace, find_tenant
from watchkeeper.directory.delegations import grant_delegation, revoke_delegation

expect: Any = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra").expect

WRITE = ["SecurityIncident.ReadWrite.All", "Data.Read"]
READ = ["SecurityIncident.Read.All"]
HOME_INCIDENT, CUSTOMER_INCIDENT = "MSSP internal phishing test", "Contoso ransomware on fs01"
# user -> the roles delegated into contoso (None: no delegation); every user writes incidents at home
DELEGATED = {"soc": WRITE, "reader": READ, "leaver": WRITE, "streamer": WRITE, "solo": None}


@dataclass
class Tenants:
    console: Console
    ids: dict[str, str]  # key -> tenant id
    incidents: dict[str, str]  # title -> incident id


def _tenant(console: Console, key: str, number: int, title: str) -> tuple[str, str]:
    with console.runtime.database.session() as session:
        tenant = create_tenant(session, name=f"console-{key}", actor=ACTOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
    console.tenants[key] = tenant.name
    return tenant.id, _raise(console.runtime, tenant.id, workspace.id, number, title, "High", ())


@pytest.fixture(scope="module")
def tenants(console: Console) -> Tenants:
    mssp, home_incident = _tenant(console, "mssp", 901, HOME_INCIDENT)
    contoso, customer_incident = _tenant(console, "contoso", 902, CUSTOMER_INCIDENT)
    with console.runtime.database.session() as session:
        for username, roles in DELEGATED.items():
            create_user(
                session, tenant_id=mssp, username=username, password=PASSWORD, roles=WRITE, actor=ACTOR
            )
            if roles is not None:
                grant_delegation(session, managing_tenant_id=mssp, username=username, customer_tenant_id=contoso,
                                 roles=roles, actor=ACTOR)  # fmt: skip
    ids = {"mssp": mssp, "contoso": contoso}
    return Tenants(console, ids, {HOME_INCIDENT: home_incident, CUSTOMER_INCIDENT: customer_incident})


# ------------------------------------------------------------------------------------- the browser


def switch_to(page: Any, tenant_name: str) -> None:
    """Pick a tenant in the nav's switcher with the keyboard and submit it; the page reloads."""
    page.get_by_label("Tenant", exact=True).focus()
    page.get_by_label("Tenant", exact=True).select_option(label=tenant_name)
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").press("Enter")


def test_an_mssp_user_switches_to_the_customer_and_back(page: Any, tenants: Tenants) -> None:
    console = tenants.console
    sign_in(page, console, "mssp", "soc")
    switcher = page.get_by_label("Tenant", exact=True)
    expect(switcher.locator("option")).to_have_text(["console-mssp", "console-contoso"])
    expect(switcher).to_have_value(tenants.ids["mssp"])
    expect(shown(page)).to_have_text([HOME_INCIDENT])

    switch_to(page, "console-contoso")
    expect(page).to_have_url(f"{console.url}/console/incidents")
    expect(page.get_by_label("Tenant", exact=True)).to_have_value(tenants.ids["contoso"])
    expect(shown(page)).to_have_text([CUSTOMER_INCIDENT])
    expect(page.locator("#wk-user")).to_have_text("soc (console-mssp)")  # never one of contoso's users
    screenshot(page, "tenant-switch-customer")

    switch_to(page, "console-mssp")
    expect(page.get_by_label("Tenant", exact=True)).to_have_value(tenants.ids["mssp"])
    expect(shown(page)).to_have_text([HOME_INCIDENT])
    expect(page.locator("#wk-user")).to_have_text("soc")


def test_the_workspace_picker_lists_the_active_tenants_workspaces(page: Any, tenants: Tenants) -> None:
    console = tenants.console
    sign_in(page, console, "mssp", "soc")
    page.goto(f"{console.url}/console/hunting")
    home = page.locator("#workspace option").evaluate_all("os => os.map(o => o.value)")
    switch_to(page, "console-contoso")
    expect(page).to_have_url(f"{console.url}/console/hunting")
    customer = page.locator("#workspace option").evaluate_all("os => os.map(o => o.value)")
    assert len(home) == len(customer) == 1
    assert home != customer
    with console.runtime.database.session() as session:
        from watchkeeper.directory import list_workspaces

        assert customer == [w.id for w in list_workspaces(session, tenant_id=tenants.ids["contoso"])]


def test_a_user_without_delegation_sees_no_switcher(page: Any, tenants: Tenants) -> None:
    sign_in(page, tenants.console, "mssp", "solo")
    expect(shown(page)).to_have_text([HOME_INCIDENT])
    expect(page.locator("form.tenant-switch")).to_have_count(0)
    expect(page.get_by_label("Tenant", exact=True)).to_have_count(0)


# ----------------------------------------------------------------------------- over HTTP, by hand


@dataclass
class Session:
    client: httpx.Client
    csrf: str

    def switch(self, tenant_id: str, csrf: str | None = None) -> httpx.Response:
        return self.client.post("/console/tenant", data={"tenant": tenant_id, "csrf": csrf or self.csrf},
                                headers={"Referer": f"{self.client.base_url}/console/incidents"})  # fmt: skip

    def incidents(self) -> list[str]:
        answer = self.client.get("/v1.0/security/incidents")
        assert answer.status_code == 200, answer.text
        return [i["displayName"] for i in answer.json()["value"]]


@pytest.fixture
def signed_in(tenants: Tenants) -> Iterator[Any]:
    """Sign a user of tenant mssp in with an HTTP client (the form, its token, the session cookie)."""
    clients: list[httpx.Client] = []

    def sign(username: str) -> Session:
        client = httpx.Client(base_url=tenants.console.url, follow_redirects=False)
        clients.append(client)
        form = client.get("/console/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        signed = client.post("/console/login", data={"tenant": "console-mssp", "username": username,
                                                     "password": PASSWORD, "csrf": token.group(1)})  # fmt: skip
        assert signed.status_code == 303, signed.text
        page = client.get("/console/incidents").text
        csrf = re.search(r'<meta name="wk-csrf" content="([^"]+)"', page)
        assert csrf is not None
        return Session(client, csrf.group(1))

    yield sign
    for client in clients:
        client.close()


def _audit(tenants: Tenants, key: str, action: str) -> list[Any]:
    with tenants.console.runtime.database.session() as session:
        page = list_entries(session, tenant_id=tenants.ids[key], limit=50, action=action)
    return page.entries


def test_a_forged_switch_to_a_tenant_not_delegated_is_refused_and_audited(
    signed_in: Any, tenants: Tenants
) -> None:
    solo = signed_in("solo")
    refused = solo.switch(tenants.ids["contoso"])
    assert refused.status_code == 403
    assert "no access to that tenant" in refused.text
    assert solo.incidents() == [HOME_INCIDENT]
    denied = [e for e in _audit(tenants, "mssp", "console.switch_tenant") if e.outcome == "denied"]
    assert [(e.actor, e.target) for e in denied][:1] == [("solo", tenants.ids["contoso"])]

    soc = signed_in("soc")  # a delegation into contoso reaches contoso only
    with tenants.console.runtime.database.session() as session:
        other = find_tenant(session, ref=tenants.console.tenants["a"])
    assert other is not None
    assert soc.switch(other.id).status_code == 403
    assert soc.switch(tenants.ids["contoso"], csrf="guessed").status_code == 403  # the CSRF token is checked
    assert soc.incidents() == [HOME_INCIDENT]
    forged = [e for e in _audit(tenants, "mssp", "console.switch_tenant") if e.actor == "soc"]
    assert forged[0].outcome == "denied"  # the newest entry: the switch without the token, audited
    assert forged[0].detail["reason"] == "without the session's CSRF token"


def test_after_a_revoke_the_next_request_is_back_home(signed_in: Any, tenants: Tenants) -> None:
    leaver = signed_in("leaver")
    switched = leaver.switch(tenants.ids["contoso"])
    assert switched.status_code == 303
    assert switched.headers["location"] == "/console/incidents"
    assert leaver.incidents() == [CUSTOMER_INCIDENT]
    arrived = _audit(tenants, "contoso", "console.switch_tenant")
    assert [e.actor for e in arrived if e.outcome == "success"][:1] == ["leaver"]

    with tenants.console.runtime.database.session() as session:
        revoke_delegation(session, managing_tenant_id=tenants.ids["mssp"], username="leaver",
                          customer_tenant_id=tenants.ids["contoso"], actor=ACTOR)  # fmt: skip
    assert leaver.incidents() == [HOME_INCIDENT]
    incident = tenants.incidents[CUSTOMER_INCIDENT]
    assert leaver.client.get(f"/v1.0/security/incidents/{incident}").status_code == 404
    assert leaver.switch(tenants.ids["contoso"]).status_code == 403
    page = leaver.client.get("/console/incidents").text
    assert "tenant-switch" not in page


def test_a_read_only_delegation_cannot_change_an_incident(signed_in: Any, tenants: Tenants) -> None:
    reader = signed_in("reader")
    change = {"assignedTo": "reader"}
    headers = {"X-CSRF-Token": reader.csrf}
    home = reader.client.patch(f"/v1.0/security/incidents/{tenants.incidents[HOME_INCIDENT]}", json=change,
                               headers=headers)  # fmt: skip
    assert home.status_code == 200, home.text  # at home the user writes incidents

    assert reader.switch(tenants.ids["contoso"]).status_code == 303
    assert reader.incidents() == [CUSTOMER_INCIDENT]
    target = f"/v1.0/security/incidents/{tenants.incidents[CUSTOMER_INCIDENT]}"
    refused = reader.client.patch(target, json=change, headers=headers)
    assert refused.status_code == 403
    assert "SecurityIncident.ReadWrite.All" in refused.json()["error"]["message"]
    assert reader.client.get(target).json()["assignedTo"] != "reader"
    denials = _audit(tenants, "contoso", "request.denied")
    assert [(e.actor, e.target) for e in denials][:1] == [("reader (console-mssp)", f"PATCH {target}")]


def test_a_customer_tenants_incident_stream_ends_when_the_delegation_is_revoked(
    signed_in: Any, tenants: Tenants
) -> None:
    """The live queue's stream was opened in the customer tenant: once the delegation goes, the
    stream says it has ended (the page then reloads in the home tenant) and carries nothing more."""
    streamer = signed_in("streamer")
    assert streamer.switch(tenants.ids["contoso"]).status_code == 303
    with streamer.client.stream("GET", "/api/incidents/events", timeout=15) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith(": watching"))
        with tenants.console.runtime.database.session() as session:
            revoke_delegation(session, managing_tenant_id=tenants.ids["mssp"], username="streamer",
                              customer_tenant_id=tenants.ids["contoso"], actor=ACTOR)  # fmt: skip
        assert next(line for line in lines if line.startswith("event:")) == "event: end"
    assert streamer.incidents() == [HOME_INCIDENT]
