"""The console in a real browser (Playwright driving Chromium) against a real server: sign-in,
the incidents queue (filters, sort, bulk changes, live refresh), the incident page (entities,
timeline, changes, comments), lockout, CSRF, roles and tenant isolation. Each page's screenshot
goes to tests/console/artifacts/."""

from __future__ import annotations

import re
import ssl
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.console.conftest import BUSY, PASSWORD, Console, _raise, screenshot
from watchkeeper.audit import AuditEntry
from watchkeeper.cases import find_incident
from watchkeeper.console import LOCKOUT, SESSION_COOKIE, SignInFailure
from watchkeeper.directory import find_tenant, find_workspace
from watchkeeper.state import utc_now

expect: Any = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra").expect


def sign_in(page: Any, console: Console, tenant: str, username: str, password: str = PASSWORD) -> None:
    """Fill in the sign-in form with the keyboard only (labels find the fields)."""
    page.goto(f"{console.url}/console/login")
    page.get_by_label("Tenant").focus()
    page.keyboard.type(console.tenants[tenant])
    page.keyboard.press("Tab")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def shown(page: Any) -> Any:
    """The queue's title cells."""
    return page.locator("#incidents tbody tr td:nth-child(2)")


def titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#incidents tbody tr td:nth-child(2)").all_inner_texts()]


def incident(console: Console, tenant: str, title: str) -> Any:
    with console.runtime.database.session() as session:
        found = find_tenant(session, ref=console.tenants[tenant])
        assert found is not None
        return find_incident(session, tenant_id=found.id, ref=console.incidents[tenant][title])


def audit_actions(console: Console, action: str) -> list[AuditEntry]:
    with console.runtime.database.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        session.expunge_all()
        return list(entries)


def test_sign_in_shows_the_tenants_incidents_in_a_secure_cookie_session(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/console/incidents")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    screenshot(page, "login")
    sign_in(page, console, "a", "analyst")
    expect(page).to_have_url(f"{console.url}/console/incidents")
    expect(page.locator("#incidents tbody tr").first).to_be_visible()
    shown = titles(page)
    assert set(console.incidents["a"]) <= set(shown)
    assert "Tenant b secret" not in shown
    expect(page.locator("#wk-user")).to_have_text("analyst")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read the session
    screenshot(page, "incidents")
    assert [
        e.outcome for e in audit_actions(console, "console.sign_in") if e.detail.get("username") == "analyst"
    ]


def test_sign_in_goes_only_to_a_console_page_afterwards(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/console/login?next=https%3A%2F%2Fevil.example%2F")
    page.get_by_label("Tenant").fill(console.tenants["a"])
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/console/incidents")


def test_over_tls_the_session_cookie_is_secure(console: Console) -> None:
    with httpx.Client(
        base_url=console.https_url, verify=ssl.create_default_context(cafile=str(console.ca_cert))
    ) as client:
        form = client.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        answer = client.post("/console/login", data={"tenant": console.tenants["a"], "username": "viewer",
                                                     "password": PASSWORD, "csrf": token.group(1)})  # fmt: skip
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v)
    assert {"secure", "httponly", "samesite=strict"} <= {p.strip().lower() for p in cookie.split(";")}


def test_wrong_password_is_refused_with_the_form_again(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "viewer", "not the password at all")
    expect(page.locator("#login-error")).to_contain_text("not right")
    expect(page.get_by_label("Username")).to_have_value("viewer")
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}


def settled(page: Any) -> None:
    """Wait until the latest load of the queue has drawn the list (the table is busy until then)."""
    expect(page.locator("#incidents")).to_have_attribute("aria-busy", "false")


def test_filters_and_sort(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "analyst")
    expect(page.locator("#incidents tbody tr").first).to_be_visible()
    page.get_by_label("Severity", exact=True).select_option("high")
    page.get_by_role("button", name="Apply").click()
    expect(shown(page)).to_have_text(["Credential dumping on dc1"])
    page.get_by_label("Severity", exact=True).select_option("")
    page.get_by_label("Title contains").fill("SPRAY")
    page.get_by_role("button", name="Apply").click()
    expect(shown(page)).to_have_text(["Password spray"])
    page.get_by_label("Title contains").fill("")
    page.get_by_label("Owner").fill("nobody-has-this")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#empty")).to_be_visible()
    page.get_by_label("Owner").fill("none")  # the unassigned ones
    page.get_by_role("button", name="Apply").click()
    settled(page)
    owners = page.locator("#incidents tbody tr td:nth-child(5)")
    expect(owners.first).to_be_visible()
    assert set(owners.all_inner_texts()) == {"—"}
    page.get_by_label("Owner").fill("")
    page.get_by_label("Created", exact=True).select_option("168")  # the last 7 days
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#incidents tbody tr", has_text="Phishing mail reported")).to_have_count(0)
    expect(page.locator("#incidents tbody tr", has_text="Password spray")).to_be_visible()
    page.get_by_label("Created", exact=True).select_option("720")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#incidents tbody tr", has_text="Phishing mail reported")).to_be_visible()
    page.get_by_label("Sort by").select_option("severity desc")
    page.get_by_role("button", name="Apply").click()
    settled(page)
    expect(page.locator("#incidents tbody tr").first).to_contain_text("Credential dumping on dc1")
    ranks = {"High": 3, "Medium": 2, "Low": 1, "Informational": 0}
    severities = [
        ranks[s.strip()] for s in page.locator("#incidents tbody tr td:nth-child(3)").all_inner_texts()
    ]
    assert severities == sorted(severities, reverse=True)
    screenshot(page, "incidents-filtered")


def test_the_queue_says_when_more_incidents_match_than_it_shows(page: Any, console: Console) -> None:
    sign_in(page, console, "busy", "analyst")
    expect(page.locator("#more-text")).to_have_text(f"Showing 200 of {BUSY} matching incidents.")
    assert page.locator("#incidents tbody tr").count() == 200
    page.get_by_role("button", name="Show more").click()
    expect(page.locator("#incidents tbody tr")).to_have_count(BUSY)
    expect(page.locator("#more-note")).to_be_hidden()


def test_open_an_incident_assign_comment_and_close_it(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "analyst")
    page.get_by_role("link", name="Credential dumping on dc1").click()
    expect(page.locator("h1#title")).to_have_text("Credential dumping on dc1")
    alerts = page.locator("#alerts")
    expect(alerts).to_contain_text("alice")
    expect(alerts).to_contain_text("203.0.113.7")
    expect(alerts).to_contain_text("dc1")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_label("Owner")).to_have_value("analyst")
    page.get_by_label("Add a comment").fill("Isolating dc1; <b>not bold</b>")
    page.get_by_role("button", name="Comment").click()
    expect(page.locator("#timeline")).to_contain_text("Isolating dc1; <b>not bold</b>")  # text, never HTML
    page.get_by_label("Status").select_option("resolved")
    page.get_by_label("Classification").select_option("truePositive")
    page.get_by_label("Closing comment").fill("credentials reset")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#status")).to_have_text("Saved.")
    expect(page.locator("#summary")).to_contain_text("Closed")
    screenshot(page, "incident")
    stored = incident(console, "a", "Credential dumping on dc1")
    assert (stored.status, stored.owner, stored.classification) == ("Closed", "analyst", "TruePositive")
    assert stored.classification_comment == "credentials reset"
    changes = [e for e in audit_actions(console, "incident.update") if e.target == stored.id]
    assert changes
    assert changes[-1].actor_kind == "user"
    assert changes[-1].actor == "analyst"


def test_bulk_assign_and_close_with_a_classification(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "analyst")
    for title in ("Password spray", "Hidden files created"):
        page.get_by_role("checkbox", name=f"Select {title}").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.get_by_label("Assign to").fill("bob")
    page.get_by_role("button", name="Assign selected").click()
    expect(page.locator("#status")).to_have_text("2 incidents assigned to bob")
    for title in ("Password spray", "Hidden files created"):
        page.get_by_role("checkbox", name=f"Select {title}").check()
    page.get_by_role("button", name="Close selected").click()
    expect(page.locator("#status")).to_contain_text("Choose a classification")
    page.locator("#b-classification").select_option("falsePositive")
    page.get_by_role("button", name="Close selected").click()
    expect(page.locator("#status")).to_have_text("2 incidents closed")
    row = page.locator("#incidents tbody tr", has_text="Password spray")
    expect(row).to_contain_text("Closed")
    expect(row).to_contain_text("False positive")
    for title in ("Password spray", "Hidden files created"):
        stored = incident(console, "a", title)
        assert (stored.status, stored.owner, stored.classification) == ("Closed", "bob", "FalsePositive")
    assert incident(console, "a", "Beaconing to rare domain").owner is None


def test_the_queue_refreshes_when_a_new_incident_arrives(page: Any, console: Console) -> None:
    page.clock.install()
    sign_in(page, console, "a", "analyst")
    expect(page.locator("#incidents tbody tr").first).to_be_visible()
    with console.runtime.database.session() as session:
        tenant = find_tenant(session, ref=console.tenants["a"])
        assert tenant is not None
        workspace = find_workspace(session, tenant_id=tenant.id, ref="main")
        assert workspace is not None
    console.incidents["a"]["Lateral movement"] = _raise(
        console.runtime, tenant.id, workspace.id, 99, "Lateral movement", "High", ()
    )
    assert "Lateral movement" not in titles(page)
    page.clock.run_for(16_000)  # the queue polls the API every 15 s
    expect(page.locator("#incidents tbody tr", has_text="Lateral movement")).to_be_visible()
    expect(page.locator("#status")).to_have_text("1 new incident arrived")


def test_lockout_after_five_failures_for_fifteen_minutes(page: Any, console: Console) -> None:
    for _ in range(4):
        sign_in(page, console, "a", "locked", "wrong password!")
        expect(page.locator("#login-error")).to_contain_text("not right")
    sign_in(page, console, "a", "locked", "wrong password!")
    expect(page.locator("#login-error")).to_contain_text("locked for 15 minutes")
    screenshot(page, "login-locked")
    sign_in(page, console, "a", "locked")  # the right password, while locked
    expect(page.locator("#login-error")).to_contain_text("locked for 15 minutes")
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    lockouts = [e for e in audit_actions(console, "console.lockout") if e.detail["username"] == "locked"]
    assert len(lockouts) == 1
    assert lockouts[0].outcome == "denied"
    with console.runtime.database.session() as session:
        (failure,) = session.scalars(select(SignInFailure).where(SignInFailure.username == "locked")).all()
        assert failure.locked_until is not None
        assert timedelta(0) < failure.locked_until - utc_now() <= LOCKOUT
        # fifteen minutes later
        session.execute(update(SignInFailure).where(SignInFailure.username == "locked")
                        .values(locked_until=utc_now() - timedelta(seconds=1)))  # fmt: skip
    sign_in(page, console, "a", "locked")
    expect(page).to_have_url(f"{console.url}/console/incidents")


def test_state_changes_without_the_csrf_token_are_refused(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "analyst")
    target = f"{console.url}/v1.0/security/incidents/{console.incidents['a']['Beaconing to rare domain']}"
    assert page.request.get(target).status == 200  # reading needs the session only
    body = {"assignedTo": "mallory"}
    refused = page.request.patch(target, data=body)
    assert refused.status == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert page.request.patch(target, data=body, headers={"X-CSRF-Token": "guessed"}).status == 403
    assert incident(console, "a", "Beaconing to rare domain").owner is None
    token = page.locator('meta[name="wk-csrf"]').get_attribute("content")
    assert (
        page.request.patch(target, data={"assignedTo": "analyst"}, headers={"X-CSRF-Token": token}).status
        == 200
    )
    assert incident(console, "a", "Beaconing to rare domain").owner == "analyst"
    denied = [
        e
        for e in audit_actions(console, "request.denied")
        if e.detail.get("reason", "").endswith("CSRF token")
    ]
    assert len(denied) >= 2
    # a sign-in form posted from elsewhere (no form token cookie) opens no session
    forged = page.request.post(f"{console.url}/console/login", form={"tenant": console.tenants["a"],
                               "username": "analyst", "password": PASSWORD, "csrf": "x"})  # fmt: skip
    assert forged.status == 403


def test_a_read_only_user_cannot_change_an_incident(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "viewer")
    page.get_by_role("link", name="Beaconing to rare domain").click()
    expect(page.locator("h1#title")).to_have_text("Beaconing to rare domain")
    page.get_by_label("Severity").select_option("high")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#status")).to_contain_text("SecurityIncident.ReadWrite.All")
    assert incident(console, "a", "Beaconing to rare domain").severity == "Medium"


def test_a_user_of_another_tenant_sees_nothing_of_tenant_a(page: Any, console: Console) -> None:
    sign_in(page, console, "b", "analyst")
    expect(shown(page)).to_have_text(["Tenant b secret"])
    theirs = console.incidents["a"]["Beaconing to rare domain"]
    page.goto(f"{console.url}/console/incidents/{theirs}")
    expect(page.locator("#status")).to_have_text(f"incident '{theirs}' was not found")
    missing = "00000000-0000-0000-0000-000000000000"
    answers = [page.request.get(f"{console.url}/v1.0/security/incidents/{ref}") for ref in (theirs, missing)]
    assert [a.status for a in answers] == [404, 404]  # another tenant's incident reads as a missing one
    assert [a.json()["error"]["message"] for a in answers] == [
        f"incident '{ref}' was not found" for ref in (theirs, missing)
    ]
    token = page.locator('meta[name="wk-csrf"]').get_attribute("content")
    changed = page.request.patch(f"{console.url}/v1.0/security/incidents/{theirs}",
                                 data={"assignedTo": "eve"}, headers={"X-CSRF-Token": token})  # fmt: skip
    assert changed.status == 404
    assert incident(console, "a", "Beaconing to rare domain").owner != "eve"
    screenshot(page, "incident-other-tenant")


def test_sign_out_ends_the_session(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "viewer")
    old = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{console.url}/console/login")
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    page.context.add_cookies([old])  # the old cookie, replayed, opens nothing
    assert page.request.get(f"{console.url}/v1.0/security/incidents").status == 401
    page.goto(f"{console.url}/console/incidents")
    expect(page).to_have_url(re.compile(r"/console/login"))
    assert [e for e in audit_actions(console, "console.sign_out") if e.actor == "viewer"]
