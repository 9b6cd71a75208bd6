"""The investigation tools in a real browser (Playwright driving Chromium) against a real server:
the incident page's tasks, entity graph (with a KQL lookup of an entity's related events),
"open in hunting" links and the playbook placeholder; the alert page Graph's ``alertWebUrl`` points
to; and the incidents queue's live update over server-sent events. Screenshots go to
tests/console/artifacts/."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.console.conftest import ACTOR, ENTITIES, EVENTS, NOW, PASSWORD, Console, _raise, screenshot
from tests.console.test_console import sign_in
from watchkeeper.cases import find_alert, find_incident, list_alerts
from watchkeeper.cases.tasks import list_tasks
from watchkeeper.directory import create_user, find_tenant, find_workspace
from watchkeeper.state import utc_now

expect: Any = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra").expect

INCIDENT = "Credential dumping on dc1"  # tenant a's incident with an account, a host and an IP address
RESPONDER = "responder"  # a tenant a user who may also work alerts
LIVE_WAIT = 10_000  # ms: the stream is read every 2 s; a new incident must show within seconds


@pytest.fixture(scope="module")
def tenant_a(console: Console) -> tuple[str, str]:
    """Tenant a's id and its workspace's, and a user with the alert roles too."""
    with console.runtime.database.session() as session:
        tenant = find_tenant(session, ref=console.tenants["a"])
        assert tenant is not None
        workspace = find_workspace(session, tenant_id=tenant.id, ref="main")
        assert workspace is not None
        create_user(session, tenant_id=tenant.id, username=RESPONDER, password=PASSWORD, actor=ACTOR,
                    roles=["SecurityIncident.ReadWrite.All", "SecurityAlert.ReadWrite.All", "Data.Read"])  # fmt: skip
    return tenant.id, workspace.id


def open_incident(page: Any, console: Console, username: str = "analyst") -> None:
    sign_in(page, console, "a", username)
    page.goto(f"{console.url}/console/incidents/{console.incidents['a'][INCIDENT]}")
    expect(page.locator("h1#title")).to_have_text(INCIDENT)


def test_tasks_are_added_completed_and_reopened(
    page: Any, console: Console, tenant_a: tuple[str, str]
) -> None:
    open_incident(page, console)
    expect(page.locator("#tasks")).to_have_attribute("data-count", "0")
    page.get_by_placeholder("New task").fill("Reset alice's password")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator("#status")).to_have_text("Task added: Reset alice's password")
    page.get_by_placeholder("New task").fill("Reimage dc1")
    page.keyboard.press("Enter")
    expect(page.locator("#tasks li")).to_have_count(2)
    page.get_by_label("Reset alice's password").check()
    expect(page.locator("#status")).to_have_text("Task completed: Reset alice's password")
    expect(page.locator("#tasks li.task-completed")).to_have_text(re.compile("Reset alice's password"))
    screenshot(page, "incident-tasks")

    def stored() -> dict[str, str]:
        with console.runtime.database.session() as session:
            found = list_tasks(session, tenant_id=tenant_a[0], ref=console.incidents["a"][INCIDENT])
        assert found is not None
        return {t.title: t.status for t in found}

    assert stored() == {"Reset alice's password": "Completed", "Reimage dc1": "New"}
    page.get_by_label("Reset alice's password").uncheck()
    expect(page.locator("#status")).to_have_text("Task reopened: Reset alice's password")
    assert stored() == {"Reset alice's password": "New", "Reimage dc1": "New"}


def test_a_viewer_cannot_add_tasks(page: Any, console: Console) -> None:
    open_incident(page, console, "viewer")
    page.get_by_placeholder("New task").fill("not allowed")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator("#status")).to_contain_text("SecurityIncident.ReadWrite.All")
    expect(page.locator("#tasks li", has_text="not allowed")).to_have_count(0)


def _window_events() -> list[dict[str, Any]]:
    """Tenant a's events in the incident's window as the page looks it up: its alert's activity
    (30 minutes before NOW to NOW) an hour wider on each side."""
    start, end = NOW - timedelta(minutes=30) - timedelta(hours=1), NOW + timedelta(hours=1)
    return [e for e in EVENTS["a"][1] if start <= e["TimeGenerated"] <= end]


def test_the_entity_graph_shows_alerts_and_entities_and_expands_related_events(
    page: Any, console: Console
) -> None:
    open_incident(page, console)
    graph = page.locator("#graph svg")
    expect(graph.locator(".node-alert")).to_have_count(1)
    expect(graph.locator('[aria-label="Alert Credential dumping on dc1: open the alert"]')).to_be_visible()
    for label in ("Account alice@contoso.com", "Host dc1.contoso.com", "IP address 203.0.113.7"):
        expect(graph.locator(f'[aria-label^="{label}: look up related events"]')).to_have_count(1)
    assert len(ENTITIES) == graph.locator(".node-account, .node-host, .node-ip").count()
    # keyboard only: focus the account's node and press Enter
    account = graph.locator('[aria-label^="Account alice@contoso.com"]')
    account.focus()
    page.keyboard.press("Enter")
    related = page.locator("#related")
    expect(related).to_have_attribute("aria-busy", "false")
    events = _window_events()
    assert events  # the window holds some of tenant a's logons by alice
    expect(related.locator("ul.counts li", has_text="SecurityEvent")).to_have_text(
        f"SecurityEvent: {len(events)} events"
    )
    expect(related.locator("ul.counts li", has_text="SigninLogs")).to_have_text("SigninLogs: 0 events")
    hosts = sorted({e["Computer"] for e in events})
    for host in hosts:  # the hosts alice logged on to join the graph, linked to her
        expect(graph.locator(f'.node-host[aria-label^="Host {host}:"]')).to_have_count(1)
        expect(page.locator(f"#graph-list li[data-key='host:{host}']")).to_have_count(1)
    expect(page.locator("#graph svg [aria-pressed='true']")).to_have_attribute(
        "aria-label", re.compile("^Account alice")
    )
    expect(related.locator(".related-new")).to_contain_text("host host0")
    screenshot(page, "incident-entity-graph")


def test_a_lookup_keeps_any_entity_value_a_string_literal(
    page: Any, console: Console, tenant_a: tuple[str, str]
) -> None:
    """A value written to break out of the literal would match every logon if it became query text."""
    open_incident(page, console)
    hostile = 'alice" or Account has "CONTOSO\\\\") | take 1 //\n'
    answer = page.evaluate(
        """async ([workspace, value]) => {
             const { relatedQuery } = await import("/console/static/incident-lookup.js");
             const { api } = await import("/console/static/api.js");
             const query = relatedQuery("account", value);
             return { query, body: await api(`/v1/workspaces/${workspace}/query`, { method: "POST", body: { query, timespan: "P2D" } }) };
           }""",
        [tenant_a[1], hostile],
    )
    assert answer["body"]["tables"][0]["rows"] == []  # the query ran, and nothing is named by that value
    assert json.dumps(hostile)[1:-1].replace("\\n", "\\u000a") in answer["query"]


def test_open_in_hunting_carries_the_alerts_query_and_window(
    page: Any, console: Console, tenant_a: tuple[str, str]
) -> None:
    open_incident(page, console)
    link = page.get_by_role("link", name=f"Open the query of {INCIDENT} in hunting")
    href = link.get_attribute("href")
    assert href is not None
    url = urlparse(href)
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    with console.runtime.database.session() as session:
        (alert,) = list_alerts(session, tenant_id=tenant_a[0], incident_id=console.incidents["a"][INCIDENT])
    assert url.path == "/console/hunting"
    assert params == {"workspace": tenant_a[1], "query": alert.query,
                      "from": _iso(alert.window_start), "to": _iso(alert.window_end)}  # fmt: skip
    link.click()
    expect(page).to_have_url(re.compile(r"/console/hunting\?"))
    expect(page.locator("#kql")).to_have_value(alert.query)
    expect(page.locator("#results-panel")).to_be_visible()
    screenshot(page, "incident-open-in-hunting")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_run_playbook_says_playbooks_are_not_available(page: Any, console: Console) -> None:
    open_incident(page, console)
    button = page.get_by_role("button", name="Run playbook")
    expect(button).to_be_disabled()
    expect(page.locator("#playbook-note")).to_contain_text("Playbooks are not available yet")


def test_the_alert_page_from_alert_web_url_shows_and_changes_the_alert(
    page: Any, console: Console, tenant_a: tuple[str, str]
) -> None:
    sign_in(page, console, "a", RESPONDER)
    incident_id = console.incidents["a"][INCIDENT]
    alerts = page.request.get(f"{console.url}/v1.0/security/incidents/{incident_id}/alerts").json()["value"]
    (alert,) = alerts
    assert alert["alertWebUrl"] == f"{console.url}/console/alerts/{alert['id']}"
    page.goto(alert["alertWebUrl"])
    expect(page.locator("h1#title")).to_have_text(INCIDENT)
    expect(page.locator("#techniques")).to_have_text("T1003")
    expect(page.locator("#evidence")).to_contain_text("alice@contoso.com")
    expect(page.locator("#evidence")).to_contain_text("203.0.113.7")
    expect(page.locator("#query")).to_have_text("SecurityEvent")
    expect(page.get_by_role("link", name="Open in hunting")).to_have_attribute(
        "href", re.compile(r"^/console/hunting\?workspace=")
    )
    expect(page.get_by_role("link", name="open the alert's incident")).to_have_attribute(
        "href", f"/console/incidents/{incident_id}"
    )
    page.get_by_label("Status").select_option("inProgress")
    page.get_by_label("Classification").select_option("truePositive")
    page.get_by_role("button", name="Assign to me").click()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#status")).to_have_text("Saved.")
    expect(page.locator("#summary")).to_contain_text("In progress")
    page.get_by_label("Add a comment").fill("Confirmed with the owner of dc1")
    page.get_by_role("button", name="Comment").click()
    expect(page.locator("#comments")).to_contain_text("Confirmed with the owner of dc1")
    screenshot(page, "alert")
    with console.runtime.database.session() as session:
        stored = find_alert(session, tenant_id=tenant_a[0], alert_id=alert["id"])
    assert stored is not None
    assert (stored.status, stored.classification, stored.assigned_to) == (
        "inProgress",
        "truePositive",
        RESPONDER,
    )


def test_another_tenants_alert_page_shows_nothing_of_it(page: Any, console: Console) -> None:
    with console.runtime.database.session() as session:
        tenant = find_tenant(session, ref=console.tenants["b"])
        assert tenant is not None
        (theirs,) = list_alerts(
            session, tenant_id=tenant.id, incident_id=console.incidents["b"]["Tenant b secret"]
        )
    sign_in(page, console, "a", RESPONDER)
    page.goto(f"{console.url}/console/alerts/{theirs.id}")
    expect(page.locator("#status")).to_contain_text("not found")
    expect(page.locator("#alert")).not_to_contain_text("Tenant b secret")


def test_the_queue_shows_a_new_incident_within_seconds_without_reloading(
    page: Any, console: Console, tenant_a: tuple[str, str]
) -> None:
    sign_in(page, console, "a", "analyst")
    expect(page.locator("#live-mode")).to_have_attribute("data-mode", "live")
    expect(page.locator("#incidents tbody tr").first).to_be_visible()
    page.evaluate("window.notReloaded = true")
    title = "Live: new admin account"
    # a rule run raises its alerts now (flows.detections.conclude: utc_now())
    console.incidents["a"][title] = _raise(
        console.runtime, *tenant_a, 700, title, "Informational", (), at=utc_now()
    )
    expect(page.locator("#incidents tbody tr", has_text=title)).to_be_visible(timeout=LIVE_WAIT)
    expect(page.locator("#status")).to_have_text("1 new incident arrived")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "incidents-live")
    with console.runtime.database.session() as session:
        assert find_incident(session, tenant_id=tenant_a[0], ref=console.incidents["a"][title]) is not None


def test_the_queue_falls_back_to_polling_when_the_stream_is_refused(
    page: Any, console: Console, tenant_a: tuple[str, str]
) -> None:
    page.clock.install()
    # the stream answers as a proxy that does not pass server-sent events might: EventSource gives up
    page.route("**/api/incidents/events", lambda route: route.fulfill(status=503, body="no streams here"))
    sign_in(page, console, "a", "analyst")
    expect(page.locator("#live-mode")).to_have_attribute("data-mode", "polling")
    expect(page.locator("#live-mode")).to_contain_text("refreshed from the API every 15 seconds")
    title = "Polled: disabled audit policy"
    console.incidents["a"][title] = _raise(
        console.runtime, *tenant_a, 701, title, "Informational", (), at=utc_now()
    )
    page.clock.run_for(16_000)  # the queue re-reads the list every 15 s
    expect(page.locator("#incidents tbody tr", has_text=title)).to_be_visible()
    expect(page.locator("#status")).to_have_text("1 new incident arrived")
