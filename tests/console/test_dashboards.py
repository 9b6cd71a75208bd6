"""The dashboards pages and saved hunting queries in a real browser against a real server: the
built-in SOC overview draws its tiles from the tenant's incidents, alerts and ingestion records,
each tile through the public query route with the picked time range; a copy is saved, shared, seen
by a colleague of the same tenant and never by tenant b; the document editor shows the API's
validation errors; a saved query is reopened in hunting; hunting links prefill and run a query.
Screenshots go to tests/console/artifacts/."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from tests.console.conftest import ACTOR, EVENTS, NOW, PASSWORD, Console, screenshot
from tests.console.test_console import sign_in
from watchkeeper.cases import list_alerts, list_incidents
from watchkeeper.directory import create_user, find_tenant, list_workspaces
from watchkeeper.flows import ingest_batch
from watchkeeper.flows.cases import mirror
from watchkeeper.ingest.parsers.base import Parsed

expect: Any = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra").expect

SOC = "builtin-soc-overview"
HEARTBEATS = [{"TimeGenerated": NOW - timedelta(minutes=m), "Computer": "dash-host"} for m in range(7)]


@pytest.fixture(scope="module")
def soc_data(console: Console) -> dict[str, Any]:
    """Tenant a's incidents and alerts as rows of SecurityIncident/SecurityAlert (as every change
    through the API appends them), a batch ingested through the journal (which writes its Usage
    row), and a colleague who may query. Returns what the tiles should show."""
    runtime = console.runtime
    with runtime.database.session() as session:
        tenant = find_tenant(session, ref=console.tenants["a"])
        assert tenant is not None
        workspace = list_workspaces(session, tenant_id=tenant.id)[0]
        incidents = list_incidents(session, tenant_id=tenant.id, workspace_id=workspace.id)
        alerts = list_alerts(session, tenant_id=tenant.id, workspace_id=workspace.id)
        create_user(session, tenant_id=tenant.id, username="colleague", password=PASSWORD, roles=["Data.Read"],
                    actor=ACTOR)  # fmt: skip
    mirror(runtime, workspace, actor=ACTOR, alerts=alerts, incidents=incidents)
    ingest_batch(runtime, ACTOR, workspace, Parsed(tables={"Heartbeat": HEARTBEATS}), source="tests",
                 input_format="json")  # fmt: skip
    assert runtime.workspaces.get(workspace).flush(timeout=30)
    return {
        "workspace": workspace.id,
        "severities": sorted({i.severity for i in incidents}),
        "open": sum(i.status != "Closed" for i in incidents),
    }


def open_soc(page: Any, console: Console, user: str = "analyst") -> None:
    """Sign in, follow Dashboards in the navigation, open the SOC overview and wait for its tiles."""
    sign_in(page, console, "a", user)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Dashboards").click()
    page.get_by_role("link", name="SOC overview", exact=True).click()
    expect(page).to_have_url(f"{console.url}/console/dashboards/{SOC}")
    wait_for_tiles(page)


def wait_for_tiles(page: Any) -> None:
    expect(page.locator("#tiles")).to_have_attribute("data-loaded", re.compile(r"\d+"))
    expect(page.locator("#tiles .tile")).not_to_have_count(0)


def tile(page: Any, title: str) -> Any:
    return page.locator("#tiles .tile").filter(has=page.get_by_role("heading", name=title, exact=True))


def test_the_soc_overview_draws_every_tile_from_the_tenants_data(
    page: Any, console: Console, soc_data: dict[str, Any]
) -> None:
    open_soc(page, console)
    assert page.locator('#tiles .tile[data-state="error"]').count() == 0
    slices = tile(page, "Incidents by severity").locator("svg.chart-piechart g.series")
    assert sorted(slices.evaluate_all("gs => gs.map(g => g.dataset.series)")) == soc_data["severities"]
    expect(tile(page, "Incidents by status").locator("svg.chart-columnchart rect").first).to_be_visible()
    expect(tile(page, "Open incidents").locator(".stat-value")).to_have_text(str(soc_data["open"]))
    expect(tile(page, "Rules that failed").locator(".stat-value")).to_have_text(re.compile(r"^\d+$"))
    ingestion = tile(page, "Ingestion volume and lag per table").locator("tbody tr")
    heartbeat = ingestion.filter(has_text="Heartbeat")
    expect(heartbeat).to_have_count(1)
    assert heartbeat.locator("td").nth(1).inner_text() == str(len(HEARTBEATS))
    expect(tile(page, "Alerts over time").locator("svg.chart-timechart")).to_be_visible()
    entities = tile(page, "Top entities in alerts").locator("tbody tr")
    expect(entities.filter(has_text="alice")).to_have_count(1)
    expect(entities.filter(has_text="203.0.113.7")).to_have_count(1)
    # rule health: rows once rules have run here, "no data" until then; never an error
    expect(tile(page, "Rule health")).to_have_attribute("data-state", re.compile("^(done|empty)$"))
    screenshot(page, "dashboard-soc-overview")


def test_changing_the_time_range_runs_every_tile_again_over_it(
    page: Any, console: Console, soc_data: dict[str, Any]
) -> None:
    open_soc(page, console)
    before = page.locator("#tiles").get_attribute("data-loaded")
    tiles = page.locator("#tiles .tile").count()
    spans: list[str] = []
    page.on(
        "request",
        lambda r: spans.append(json.loads(r.post_data)["timespan"]) if r.url.endswith("/query") else None,
    )
    page.get_by_label("Time range").select_option("PT1H")
    expect(page.locator("#tiles")).not_to_have_attribute("data-loaded", before)
    wait_for_tiles(page)
    assert spans == ["PT1H"] * tiles
    expect(tile(page, "Open incidents").locator(".stat-value")).to_have_text(str(soc_data["open"]))
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#tiles")).to_have_attribute("data-loaded", str(int(before or 0) + 2))
    assert len(spans) == 2 * tiles


def save_copy(page: Any, console: Console) -> str:
    page.get_by_role("button", name="Save a copy").click()
    expect(page).to_have_url(re.compile(r"/console/dashboards/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Copy of SOC overview")).to_be_visible()
    wait_for_tiles(page)
    return str(page.url.rsplit("/", 1)[1])


def test_a_copy_is_shared_with_the_tenant_and_never_seen_by_tenant_b(
    page: Any, browser: Any, console: Console, soc_data: dict[str, Any]
) -> None:
    open_soc(page, console)
    copy = save_copy(page, console)
    expect(page.locator("#ownership")).to_contain_text("only you see it")
    page.get_by_label("Shared with everyone in the tenant").check()
    expect(page.locator("#status")).to_have_text("Shared with everyone in the tenant.")
    screenshot(page, "dashboard-shared-copy")
    for tenant, user, sees in (("a", "colleague", True), ("b", "analyst", False)):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        other = context.new_page()
        sign_in(other, console, tenant, user)
        other.goto(f"{console.url}/console/dashboards")
        expect(other.locator("#dashboards")).to_have_attribute("aria-busy", "false")
        expect(other.locator(f'#dashboards tr[data-id="{copy}"]')).to_have_count(1 if sees else 0)
        other.goto(f"{console.url}/console/dashboards/{copy}")
        if sees:
            wait_for_tiles(other)
            expect(other.get_by_label("Shared with everyone in the tenant")).to_be_hidden()
            expect(other.get_by_role("button", name="Edit document")).to_be_hidden()
        else:
            expect(other.locator("#status")).to_have_text(
                f"The dashboard could not be opened: dashboard '{copy}' was not found"
            )
            expect(other.locator("#tiles .tile")).to_have_count(0)
        context.close()


def test_the_document_editor_shows_validation_errors_and_saves_yaml(
    page: Any, console: Console, soc_data: dict[str, Any]
) -> None:
    open_soc(page, console)
    save_copy(page, console)
    page.get_by_role("button", name="Edit document").click()
    document = page.get_by_label("The dashboard as JSON or YAML")
    assert json.loads(document.input_value())["name"] == "Copy of SOC overview"
    bad = "name: Heartbeats\ntiles:\n  - title: Beats\n    visualization: stat\n    query: Heartbeat | where Nope > 1\n"
    document.fill(bad)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#problems li")).to_have_text(
        ["tiles[0].query (line 1, column 19): unknown column 'Nope'"]
    )
    # a tile that compiles but that the server refuses to run (externaldata outside the allowlist)
    outside = '  - title: Outside data\n    visualization: table\n    query: externaldata(Name:string) ["https://example.com/n.csv"]\n'
    document.fill(bad.replace("| where Nope > 1", "| count") + outside)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Heartbeats", exact=True)).to_be_visible()
    wait_for_tiles(page)
    expect(tile(page, "Beats").locator(".stat-value")).to_have_text(str(len(HEARTBEATS)))
    expect(tile(page, "Outside data")).to_have_attribute("data-state", "error")
    expect(tile(page, "Outside data").locator(".error")).to_contain_text("not on this workspace's allowlist")
    expect(page.locator("#status")).to_have_text("1 of 2 tiles failed.")
    screenshot(page, "dashboard-edited")


def test_a_saved_query_is_reopened_in_hunting(page: Any, console: Console, soc_data: dict[str, Any]) -> None:
    sign_in(page, console, "a", "analyst")
    page.goto(f"{console.url}/console/hunting")
    query = "Heartbeat\n| summarize Beats = count() by Computer"
    page.locator("#kql").fill(query)
    page.get_by_label("Name").fill("Beats per host")
    page.get_by_label("Description").fill("is every host alive?")
    page.get_by_role("button", name="Save the current query").click()
    expect(page.locator("#saved-status")).to_have_text('Saved "Beats per host".')
    page.reload()
    expect(page.locator("#saved")).to_have_attribute("aria-busy", "false")
    assert page.locator("#kql").input_value() != query
    page.get_by_role("button", name="Open Beats per host").click()
    assert page.locator("#kql").input_value() == query
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert page.locator("#results tbody td").all_inner_texts() == ["dash-host", str(len(HEARTBEATS))]
    screenshot(page, "hunting-saved-query")
    page.get_by_role("button", name="Delete Beats per host").click()
    expect(page.get_by_role("button", name="Open Beats per host")).to_have_count(0)
    expect(page.locator("#saved tbody")).to_contain_text("No saved queries in this workspace yet.")
    # the empty list is a row of the table: the status line still says what the last action did
    expect(page.locator("#saved-status")).to_have_text('Deleted "Beats per host".')


def test_hunting_links_prefill_the_workspace_query_and_time_range_and_run(
    page: Any, console: Console, soc_data: dict[str, Any]
) -> None:
    sign_in(page, console, "a", "analyst")
    start, end = NOW - timedelta(hours=5, minutes=30), NOW - timedelta(hours=1, minutes=30)
    query = "SecurityEvent\n| summarize Logons = count()"
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(json.loads(r.post_data)["timespan"]) if r.url.endswith("/query") else None,
    )
    from urllib.parse import urlencode

    link = urlencode(
        {"workspace": soc_data["workspace"], "query": query, "from": start.isoformat(), "to": end.isoformat()}
    )
    page.goto(f"{console.url}/console/hunting?{link}")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert page.locator("#kql").input_value() == query
    assert page.get_by_label("Time range").input_value() == "custom"
    assert page.get_by_label("From (UTC)").input_value() == start.strftime("%Y-%m-%dT%H:%M")
    expected = sum(start <= e["TimeGenerated"] < end for e in EVENTS["a"][1])
    assert page.locator("#results tbody td").all_inner_texts() == [str(expected)]
    assert sent == [f"{start.isoformat()}/{end.isoformat()}"]
    page.goto(
        f"{console.url}/console/hunting?" + urlencode({"query": "SecurityEvent | count", "timespan": "PT1H"})
    )
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert page.get_by_label("Time range").input_value() == "PT1H"
