"""The ingestion and health page in a real browser against a real server: per table the rows and
megabytes per day (charts and numbers), the last event and the last stored batch, the average and
worst lag, a table that stopped receiving data flagged; the records ingestion refused, by table,
source and reason, with the latest examples shown as text; and a tenant's user sees only the
tenant's own tables. Screenshots go to tests/console/artifacts/.

The module's tenants (``ingest-a``, ``ingest-b``) are its own, so that other pages' tests keep
their figures. Their batches go through the real ingestion path (``Workspace.ingest_parsed``: typing,
``IngestionErrors``, ``Usage``); only the batch "stored three days ago" is written as the ``Usage``
row that storing it then would have left, since a test cannot wait three days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.console.conftest import ACTOR, PASSWORD, Console, screenshot
from tests.console.test_console import sign_in
from watchkeeper.directory import create_tenant, create_user, create_workspace
from watchkeeper.ingest.parsers.base import Parsed

expect: Any = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra").expect

SIGNINS, SYSLOG = 30, 12
# a sender's record that is not syslog: longer than the page shows, with markup that must stay text
HOSTILE = "<img src=x onerror=\"document.title='owned'\">" + "A" * 600
STOPPED = "DeviceNetworkEvents"


def _parsed_a(now: datetime) -> Parsed:
    parsed = Parsed()
    for n in range(SIGNINS):
        parsed.add("SigninLogs", {"TimeGenerated": (now - timedelta(minutes=10)).isoformat(),
                                  "UserPrincipalName": f"user{n}@contoso.com", "ResultType": "0"})  # fmt: skip
    for n in range(SYSLOG):
        parsed.add("Syslog", {"TimeGenerated": (now - timedelta(hours=2)).isoformat(), "Computer": "web-01",
                              "ProcessID": 100 + n, "SyslogMessage": f"message {n}"})  # fmt: skip
    parsed.add("Syslog", {"TimeGenerated": now.isoformat(), "Computer": "web-02", "ProcessID": "sshd[812]"})
    parsed.reject("collector:514", HOSTILE, "not an RFC 5424 or RFC 3164 syslog message")
    return parsed


def _stopped_usage(now: datetime) -> list[dict[str, Any]]:
    """The Usage rows a DeviceNetworkEvents batch stored three days ago left (and nothing since)."""
    at = now - timedelta(days=3)
    return [{"TimeGenerated": at, "DataType": STOPPED, "Records": 500, "Quantity": 0.25, "QuantityUnit": "MBytes",
             "StartTime": at - timedelta(minutes=5), "EndTime": at - timedelta(minutes=1),
             "AvgLatencyInSeconds": 180.0, "TotalBatches": 1, "IsBillable": True}]  # fmt: skip


def _tenant(console: Console, key: str) -> Any:
    with console.runtime.database.session() as session:
        tenant = create_tenant(session, name=f"console-{key}", actor=ACTOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
        create_user(session, tenant_id=tenant.id, username="analyst", password=PASSWORD, roles=["Data.Read"],
                    actor=ACTOR)  # fmt: skip
    console.tenants[key] = tenant.name
    return console.runtime.workspaces.get(workspace)


@dataclass
class Ingested:
    console: Console
    now: datetime  # when the module's batches were sent (the lag is measured from their events)


@pytest.fixture(scope="module")
def ingested(console: Console) -> Ingested:
    """Tenant ingest-a: sign-ins 10 minutes old, syslog 2 hours old, two refused records, a table
    silent for three days; tenant ingest-b: one custom table of its own."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = _tenant(console, "ingest-a")
    tally = first.ingest_parsed(_parsed_a(now), source="collector:514", input_format="syslog")
    assert tally.rejected == 2
    assert tally.tables == {"SigninLogs": SIGNINS, "Syslog": SYSLOG}
    first.ingest("Usage", _stopped_usage(now))
    second = _tenant(console, "ingest-b")
    only_b = Parsed(tables={"TenantBOnly_CL": [{"TimeGenerated": now.isoformat(), "Secret_s": "b"}]})
    second.ingest_parsed(only_b, source="b-app", input_format="json")
    return Ingested(console, now)


def open_ingestion(page: Any, console: Console, tenant: str) -> None:
    """Sign in and follow the navigation's Ingestion link; wait for the figures."""
    sign_in(page, console, tenant, "analyst")
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Ingestion").click()
    expect(page).to_have_url(f"{console.url}/console/ingestion")
    expect(page.locator("#tables")).to_have_attribute("aria-busy", "false")


def table_rows(page: Any) -> dict[str, list[str]]:
    """Table name -> the row's other cells as shown."""
    rows = page.locator("#tables tbody tr[data-table]")
    return {r.get_attribute("data-table"): r.locator("td").all_inner_texts() for r in rows.all()}


def test_tables_show_rows_megabytes_lag_and_a_stopped_table(page: Any, ingested: Ingested) -> None:
    open_ingestion(page, ingested.console, "ingest-a")
    shown = table_rows(page)
    assert sorted(shown) == sorted(["SigninLogs", "Syslog", STOPPED])
    rows, mb, last_event, last_stored, avg_lag, max_lag, status = shown["SigninLogs"]
    assert (rows, status) == (str(SIGNINS), "Receiving")
    assert float(mb) > 0
    assert re.fullmatch(r"(9\.\d|10\.\d) min", avg_lag)
    assert avg_lag == max_lag
    assert last_event == (ingested.now - timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M UTC")
    assert last_stored.endswith("UTC")
    assert shown["Syslog"][0] == str(SYSLOG)
    assert re.fullmatch(r"(1|2)\.\d h", shown["Syslog"][4])
    assert shown[STOPPED][0] == "500"
    assert shown[STOPPED][6] == "Stopped"
    assert shown[STOPPED][4] == "3.0 min"
    expect(page.locator("#status")).to_have_text("3 tables received data; 1 stopped; 2 records rejected.")
    for chart in ("#rows-chart", "#mb-chart"):
        series = page.locator(f"{chart} svg g.series").evaluate_all("gs => gs.map(g => g.dataset.series)")
        assert sorted(series) == sorted(["SigninLogs", "Syslog", STOPPED])
    screenshot(page, "ingestion")


def test_rejected_records_are_counted_by_reason_with_examples_as_text(page: Any, ingested: Ingested) -> None:
    open_ingestion(page, ingested.console, "ingest-a")
    expect(page.locator("#rejected")).to_have_attribute("aria-busy", "false")
    rejected = [r.locator("td").all_inner_texts() for r in page.locator("#rejected tbody tr").all()]
    reasons = {(table, source, reason) for table, source, reason, count, _ in rejected if count == "1"}
    assert reasons == {
        (
            "Syslog",
            "collector:514",
            "column ProcessID (int): invalid literal for int() with base 10: 'sshd[812]'",
        ),
        ("(not read)", "collector:514", "not an RFC 5424 or RFC 3164 syslog message"),
    }
    raw = page.locator("#examples pre.raw")
    expect(raw).to_have_count(2)
    hostile = raw.filter(has_text="<img src=x")
    expect(hostile).to_have_text(
        re.compile(r"^<img src=x onerror=.*A+ … \[6\d\d characters, the first 400 shown\]$")
    )
    assert page.locator("#examples img").count() == 0
    assert page.title() != "owned"
    screenshot(page, "ingestion-rejected")


def test_a_tenant_b_user_sees_only_tenant_b_tables(page: Any, ingested: Ingested) -> None:
    open_ingestion(page, ingested.console, "ingest-b")
    assert list(table_rows(page)) == ["TenantBOnly_CL"]
    expect(page.locator("#rejected tbody")).to_have_text("No record was rejected in this range.")
    assert page.locator("#workspace option").count() == 1


def test_a_user_without_data_read_is_told(page: Any, console: Console) -> None:
    sign_in(page, console, "a", "viewer")  # incidents only
    page.goto(f"{console.url}/console/ingestion")
    expect(page.locator("#status")).to_contain_text("Data.Read")
    expect(page.locator("#tables tbody tr[data-table]")).to_have_count(0)
