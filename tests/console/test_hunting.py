"""The hunting page in a real browser against a real server: a query with ``render timechart``
drawn as an SVG chart with its series, the time range sent as the timespan, a KQL error underlined
where the engine says, completion of tables, operators and columns with the keyboard, the results
grid's sort, column chooser and CSV/JSON exports, and tenant isolation of the completion lists.
Screenshots go to tests/console/artifacts/."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import EVENTS, NOW, ROW_LIMIT, Console, screenshot
from tests.console.test_console import sign_in
from watchkeeper.directory import find_tenant, list_workspaces

expect: Any = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra").expect

EDITOR = "#kql"
SUGGESTIONS = "#kql-complete li"


def open_hunting(page: Any, console: Console, tenant: str = "a") -> None:
    """Sign in (the incidents queue opens) and follow the navigation's Hunting link."""
    sign_in(page, console, tenant, "analyst")
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Hunting").click()
    expect(page).to_have_url(f"{console.url}/console/hunting")
    expect(page.locator("#hunt")).to_have_attribute("data-schema", "loaded")  # completion lists are ready


def run(page: Any, query: str) -> None:
    """Type the query into the editor (replacing its text) and run it with Ctrl+Enter."""
    page.locator(EDITOR).fill(query)
    page.locator(EDITOR).press("Control+Enter")


def rows_shown(page: Any) -> list[list[str]]:
    expect(page.locator("#results-panel")).to_be_visible()
    return [r.locator("td").all_inner_texts() for r in page.locator("#results tbody tr").all()]


def workspace_id(console: Console, tenant: str) -> str:
    with console.runtime.database.session() as session:
        found = find_tenant(session, ref=console.tenants[tenant])
        assert found is not None
        return list_workspaces(session, tenant_id=found.id)[0].id


def tally(events: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Computer -> (logons, failed logons) of the events."""
    found: dict[str, tuple[int, int]] = {}
    for event in events:
        logons, failed = found.get(event["Computer"], (0, 0))
        found[event["Computer"]] = (logons + 1, failed + (event["EventID"] == 4625))
    return found


def test_render_timechart_draws_the_series_as_an_accessible_svg_chart(page: Any, console: Console) -> None:
    open_hunting(page, console)
    run(
        page,
        "SecurityEvent\n| summarize Logons = count() by bin(TimeGenerated, 1h), Computer\n| render timechart",
    )
    chart = page.locator("#chart svg[role=img]")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute(
        "aria-label", re.compile(r"^timechart of Logons by TimeGenerated: 3 series")
    )
    series = page.locator("#chart svg g.series")
    assert sorted(series.evaluate_all("gs => gs.map(g => g.dataset.series)")) == ["host0", "host1", "host2"]
    assert sorted(page.locator("#chart svg g.legend text").all_text_contents()) == ["host0", "host1", "host2"]
    points = page.locator("#chart svg g.series circle").count()
    assert points == len(rows_shown(page)) > 3  # one point per (hour, computer) row
    titles = page.locator("#chart svg .axis-title").all_text_contents()
    assert titles == ["TimeGenerated", "Logons"]
    fallback = page.locator("#chart details table tbody tr")
    assert fallback.count() == points  # the chart's data as a table for those who cannot see it
    screenshot(page, "hunting-timechart")


def test_render_options_title_the_chart_and_choose_its_columns(page: Any, console: Console) -> None:
    open_hunting(page, console)
    run(
        page,
        "SecurityEvent | summarize Logons = count(), Failed = countif(EventID == 4625) by Computer"
        ' | render columnchart with (title="Failed logons", ycolumns=Failed, ytitle="Failures", legend=hidden)',
    )
    chart = page.locator("#chart svg.chart-columnchart")
    expect(chart).to_have_attribute(
        "aria-label", re.compile("^Failed logons: columnchart of Failed by Computer")
    )
    expect(page.locator("#chart .chart-title")).to_have_text("Failed logons")
    assert chart.locator(".axis-title").all_text_contents() == ["Computer", "Failures"]
    assert chart.locator("g.series").evaluate_all("gs => gs.map(g => g.dataset.series)") == ["Failed"]
    expect(chart.locator("g.legend")).to_have_count(0)


@pytest.mark.parametrize(("visualization", "shape"), [("columnchart", "rect"), ("piechart", "path")])
def test_bar_and_pie_charts_draw_one_shape_per_category(
    page: Any, console: Console, visualization: str, shape: str
) -> None:
    open_hunting(page, console)
    run(page, f"SecurityEvent | summarize Logons = count() by Computer | render {visualization}")
    chart = page.locator(f"#chart svg.chart-{visualization}")
    expect(chart).to_have_attribute("aria-label", re.compile(f"^{visualization} of Logons by Computer"))
    expect(chart.locator(f"g.series {shape}")).to_have_count(3)
    assert sorted(chart.locator("g.legend text").all_text_contents()) == (
        ["Logons"] if visualization == "columnchart" else ["host0", "host1", "host2"]
    )
    screenshot(page, f"hunting-{visualization}")


def test_the_time_range_is_sent_as_the_timespan(page: Any, console: Console) -> None:
    open_hunting(page, console)
    run(page, "SecurityEvent | count")
    expect(page.locator("#row-count")).to_have_text("1 row")
    assert rows_shown(page) == [[str(len(EVENTS["a"][1]))]]  # every event is within the last 24 hours
    page.get_by_label("Time range").select_option(label="Last hour")
    page.get_by_role("button", name=re.compile("^Run")).click()
    expect(page.locator("#results tbody td")).to_have_text("1")  # the one event 5 minutes old
    page.get_by_label("Time range").select_option(label="Custom…")
    minute = "%Y-%m-%dT%H:%M"
    page.get_by_label("From (UTC)").fill((NOW - timedelta(hours=2)).strftime(minute))
    page.get_by_label("To (UTC)").fill((NOW + timedelta(minutes=1)).strftime(minute))
    page.get_by_role("button", name=re.compile("^Run")).click()
    expect(page.locator("#results tbody td")).to_have_text(
        "3"
    )  # 1 event in the last hour, 2 in the one before


def test_a_kql_error_is_underlined_where_the_engine_reports_it(page: Any, console: Console) -> None:
    open_hunting(page, console)
    run(page, "SecurityEvent\n| where NoSuchColumn == 1")
    marked = page.locator("#kql-paint .tok-error")
    expect(marked).to_have_text("NoSuchColumn")
    expect(page.locator("#kql-error")).to_contain_text("NoSuchColumn")
    expect(page.locator("#kql-error")).to_contain_text("(line 2, column 9)")
    expect(page.locator("#status")).to_have_text("The query did not run.")
    screenshot(page, "hunting-error")
    page.locator(EDITOR).press("End")
    page.keyboard.type(" ")
    expect(marked).to_have_count(0)  # editing clears the mark


def test_autocomplete_a_table_an_operator_and_a_column_with_the_keyboard(page: Any, console: Console) -> None:
    open_hunting(page, console)
    editor = page.locator(EDITOR)
    editor.fill("")
    editor.press_sequentially("SecurityE")  # other pages' tests put SecurityAlert rows in the workspace
    expect(page.locator(SUGGESTIONS).first).to_contain_text("SecurityEvent")
    expect(editor).to_have_attribute("aria-expanded", "true")
    screenshot(page, "hunting-complete")
    page.keyboard.press("Enter")
    expect(editor).to_have_value("SecurityEvent")
    expect(page.locator("#kql-complete")).to_be_hidden()
    page.keyboard.press("Enter")
    page.keyboard.type("| wh")
    expect(page.locator(SUGGESTIONS)).to_have_count(1)
    page.keyboard.press("Tab")
    page.keyboard.type(" Compu")
    options = page.locator(SUGGESTIONS)
    expect(options.first).to_contain_text("Computer")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Tab")
    expect(editor).to_have_value("SecurityEvent\n| where Computer")
    page.keyboard.type(" == 'host1' | summarize dco")
    expect(options.first).to_contain_text("dcount")  # functions too
    page.keyboard.press("Escape")
    expect(page.locator("#kql-complete")).to_be_hidden()
    expect(editor).to_have_value("SecurityEvent\n| where Computer == 'host1' | summarize dco")
    assert page.locator("#kql-paint .tok-keyword").all_inner_texts() == ["where", "summarize"]
    assert page.locator("#kql-paint .tok-string").all_inner_texts() == ["'host1'"]


def test_the_grid_sorts_chooses_columns_and_exports_csv_and_json(page: Any, console: Console) -> None:
    open_hunting(page, console)
    run(page, "SecurityEvent | summarize Logons = count(), Failed = countif(EventID == 4625) by Computer")
    expect(page.locator("#row-count")).to_have_text("3 rows")
    page.get_by_role("button", name="Computer").click()
    page.get_by_role("button", name=re.compile("^Computer")).click()  # again: descending
    expect(page.locator("th[aria-sort=descending]")).to_have_text(re.compile("^Computer"))
    assert [r[0] for r in rows_shown(page)] == ["host2", "host1", "host0"]
    expected = sorted(tally(EVENTS["a"][1]).items(), reverse=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    exported = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert exported[0] == ["Computer", "Logons", "Failed"]
    assert exported[1:] == [[host, str(logons), str(failed)] for host, (logons, failed) in expected]
    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="Failed").uncheck()
    expect(page.locator("#results thead th")).to_have_count(2)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSON").click()
    assert json.loads(Path(download.value.path()).read_text(encoding="utf-8")) == [
        {"Computer": host, "Logons": logons} for host, (logons, _) in expected
    ]
    screenshot(page, "hunting-grid")


def test_a_cut_result_says_so_and_the_grid_says_how_many_rows_it_draws(page: Any, console: Console) -> None:
    open_hunting(page, console)
    run(page, f"range x from 1 to {ROW_LIMIT + 500} step 1")
    expect(page.locator("#limits")).to_be_visible()
    expect(page.locator("#limits")).to_contain_text("Partial result")
    expect(page.locator("#row-count")).to_have_text(
        f"{ROW_LIMIT} rows (the first 1000 shown; exports carry all)"
    )
    assert page.locator("#results tbody tr").count() == 1000
    run(page, "range x from 1 to 3 step 1")
    expect(page.locator("#row-count")).to_have_text("3 rows")
    expect(page.locator("#limits")).to_be_hidden()


def test_a_user_of_tenant_b_gets_no_tenant_a_tables_in_autocomplete(page: Any, console: Console) -> None:
    open_hunting(page, console, "b")
    editor = page.locator(EDITOR)
    editor.fill("")
    editor.press_sequentially("Ten")
    expect(page.locator(SUGGESTIONS).first).to_contain_text("TenantBSecret_CL")
    page.keyboard.press("Escape")
    editor.fill("")
    editor.press_sequentially("Sec")
    offered = page.locator("#kql-complete:not([hidden]) li").all_inner_texts()
    assert not [o for o in offered if "SecurityEvent" in o]  # tenant a's table holds no data of b's
    theirs = workspace_id(console, "a")
    answers = [page.request.get(f"{console.url}/v1/workspaces/{ref}/metadata") for ref in (theirs, "missing")]
    assert [a.status for a in answers] == [404, 404]  # another tenant's workspace is "not found"
    assert answers[0].json()["error"]["code"] == answers[1].json()["error"]["code"]


def test_a_user_without_data_read_is_told_and_queries_nothing(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "viewer")  # incidents only: no Data.Read
    page.goto(f"{console.url}/console/hunting")
    expect(page.locator("#hunt")).to_have_attribute("data-schema", "failed")
    expect(page.locator("#status")).to_contain_text("Suggestions are unavailable")
    run(page, "SecurityEvent | count")
    expect(page.locator("#kql-error")).to_contain_text("Data.Read")
    expect(page.locator("#results-panel")).to_be_hidden()
