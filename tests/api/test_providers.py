"""The generic webhook provider over HTTP: ``POST /api/providers/{name}/alerts`` takes one alert or
a batch, answers with the alerts it made, is idempotent on providerAlertId, names the bad field in
a 400, and keeps tenants apart (another tenant's provider is not found; no role, no intake)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Platform
from watchkeeper.audit import Actor
from watchkeeper.cases import find_alert, list_alerts
from watchkeeper.directory import find_workspace
from watchkeeper.flows.providers import add_provider

GRAPH = "https://graph.microsoft.com/.default"
URL = "/api/providers/edr/alerts"
ALERT: dict[str, Any] = {
    "providerAlertId": "edr-1", "title": "Beacon to a known C2", "severity": "High",
    "createdDateTime": "2026-01-05T10:00:00Z", "category": "CommandAndControl", "mitreTechniques": ["T1071.001"],
    "entities": [{"Type": "host", "HostName": "ws-7"}],
    "evidence": [{"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "203.0.113.9",
                  "createdDateTime": "2026-01-05T10:00:00Z", "verdict": "malicious", "remediationStatus": "none",
                  "roles": ["commandAndControl"]}],
}  # fmt: skip


@pytest.fixture(scope="module")
def webhook(platform: Platform) -> str:
    """Tenant a's webhook provider ``edr`` into its main workspace."""
    runtime = platform.runtime
    with runtime.database.session() as session:
        workspace = find_workspace(session, tenant_id=platform.tenants["a"].id, ref="main")
    assert workspace is not None
    add_provider(
        runtime, Actor("system", "tests"), workspace, name="edr", kind="webhook", settings={}, secrets={}
    )
    return "edr"


def post(
    client: httpx.Client, platform: Platform, body: Any, tenant: str = "a", app: str = "all"
) -> httpx.Response:
    return client.post(URL, json=body, headers=platform.headers(tenant, app, GRAPH))


def test_a_posted_alert_is_stored_with_its_evidence_and_posting_it_again_changes_nothing(
    client: httpx.Client, platform: Platform, webhook: str
) -> None:
    first = post(client, platform, ALERT)
    assert first.status_code == 201, first.text
    (item,) = first.json()["value"]
    assert (item["providerAlertId"], item["outcome"]) == ("edr-1", "created")
    with platform.runtime.database.session() as session:
        stored = find_alert(session, tenant_id=platform.tenants["a"].id, alert_id=item["id"])
    assert stored is not None
    assert (stored.title, stored.severity, stored.techniques) == (
        "Beacon to a known C2",
        "High",
        ["T1071.001"],
    )
    assert stored.properties["evidence"][0]["ipAddress"] == "203.0.113.9"
    assert (stored.properties["productName"], stored.incident_id is not None) == ("edr", True)
    again = post(client, platform, {"value": [ALERT]})
    assert (again.status_code, again.json()) == (200, {"value": [], "unchanged": 1})
    resolved = post(client, platform, {**ALERT, "status": "resolved"})
    assert [i["outcome"] for i in resolved.json()["value"]] == ["updated"]


def test_a_batch_lands_whole_and_more_than_100_is_refused(
    client: httpx.Client, platform: Platform, webhook: str
) -> None:
    batch = [{**ALERT, "providerAlertId": f"batch-{i}", "groupKey": "ws-7"} for i in range(3)]
    answer = post(client, platform, {"value": batch})
    assert answer.status_code == 201
    assert len({i["incidentId"] for i in answer.json()["value"]}) == 1  # one group key, one incident
    too_many = post(client, platform, {"value": [ALERT] * 101})
    assert too_many.status_code == 400
    assert "at most 100" in too_many.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ALERT, "severity": "severe"}, "severity"),
        ({"value": [ALERT, {**ALERT, "title": ""}]}, "value[1].title"),
        ({k: v for k, v in ALERT.items() if k != "providerAlertId"}, "providerAlertId"),
        ({**ALERT, "createdDateTime": "yesterday"}, "createdDateTime"),
        ({**ALERT, "evidence": [{"ipAddress": "1.2.3.4"}]}, "evidence[0]"),
        ({**ALERT, "mitreTechniques": ["Execution"]}, "mitreTechniques[0]"),
        ({**ALERT, "sevrity": "high"}, "sevrity"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(
    client: httpx.Client, platform: Platform, webhook: str, body: Any, field: str
) -> None:
    answer = post(client, platform, body)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(f"{field}:")


def test_another_tenant_or_a_missing_role_gets_nothing_in(
    client: httpx.Client, platform: Platform, webhook: str
) -> None:
    alert = {**ALERT, "providerAlertId": "intruder"}
    assert post(client, platform, alert, tenant="b").status_code == 404
    assert client.post("/api/providers/nope/alerts", json=alert,
                       headers=platform.headers("a", "all", GRAPH)).status_code == 404  # fmt: skip
    assert post(client, platform, alert, app="nobody").status_code == 403
    assert client.post(URL, json=alert).status_code == 401
    for tenant in ("a", "b"):
        with platform.runtime.database.session() as session:
            held = list_alerts(session, tenant_id=platform.tenants[tenant].id)
        assert all(a.properties.get("providerAlertId") != "intruder" for a in held)


def test_a_body_that_is_not_json_is_a_400(client: httpx.Client, platform: Platform, webhook: str) -> None:
    answer = client.post(URL, content=b"{not json", headers=platform.headers("a", "all", GRAPH))
    assert answer.status_code == 400
    assert "not JSON" in answer.json()["error"]["message"]
