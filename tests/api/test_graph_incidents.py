"""Graph's incidents over HTTP with the real msgraph-sdk: listing with ``$expand=alerts`` and filters,
an incident's alerts, PATCH (status, classification and determination mapped onto our model,
assignedTo, customTags; resolving needs a classification), comments, roles and tenant isolation."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.security.alert_classification import AlertClassification
from msgraph.generated.models.security.alert_determination import AlertDetermination
from msgraph.generated.models.security.incident import Incident
from msgraph.generated.models.security.incident_status import IncidentStatus

from tests.api.conftest import Platform
from tests.api.test_graph_alerts import GRAPH, _draft, _rule, graph, headers, raise_in

pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]


@dataclass
class Incidents:
    mine: str  # tenant a: two alerts of rule inc-g2 (grouped)
    alerts: list[str]
    second: str  # tenant a: one alert of rule inc2-g2
    theirs: str  # tenant b's


def _incident_of(platform: Platform, tenant: str, alert_id: str) -> str:
    response = httpx.get(
        f"{platform.url}/v1.0/security/alerts_v2/{alert_id}", headers=headers(platform, tenant)
    )
    return str(response.json()["incidentId"])


@pytest.fixture(scope="module")
def seeded(platform: Platform) -> Incidents:
    rule = _rule("inc-g2")
    alerts = raise_in(platform, "a", rule, [_draft(rule, "Beacon", "Medium")])
    mine = _incident_of(platform, "a", alerts[0])
    other = _rule("inc2-g2")
    (second_alert,) = raise_in(platform, "a", other, [_draft(other, "Second", "High")])
    theirs_rule = _rule("inc-g2-b")
    (theirs_alert,) = raise_in(platform, "b", theirs_rule, [_draft(theirs_rule, "Theirs", "Low")])
    return Incidents(
        mine, alerts, _incident_of(platform, "a", second_alert), _incident_of(platform, "b", theirs_alert)
    )


def _options(**query: object) -> RequestConfiguration:  # type: ignore[type-arg]
    from msgraph.generated.security.incidents.incidents_request_builder import IncidentsRequestBuilder

    return RequestConfiguration(
        query_parameters=IncidentsRequestBuilder.IncidentsRequestBuilderGetQueryParameters(**query)
    )


def test_list_with_expanded_alerts_and_a_filter(platform: Platform, seeded: Incidents) -> None:
    found = graph(
        platform,
        lambda c: c.security.incidents.get(_options(filter="severity eq 'medium'", expand=["alerts"])),
    )
    assert found is not None
    mine = next(i for i in found.value or [] if i.id == seeded.mine)
    assert mine.display_name == "Beacon"
    assert mine.status == IncidentStatus.Active
    assert [a.id for a in mine.alerts or []] == seeded.alerts
    assert all(i.severity.value == "medium" for i in found.value or [])  # type: ignore[union-attr]
    assert seeded.second not in {i.id for i in found.value or []}


def test_an_incidents_alerts(platform: Platform, seeded: Incidents) -> None:
    alerts = graph(platform, lambda c: c.security.incidents.by_incident_id(seeded.second).alerts.get())
    assert alerts is not None
    assert [a.title for a in alerts.value or []] == ["Second"]


def test_patch_maps_graph_values_onto_the_incident(
    platform: Platform, seeded: Incidents, client: httpx.Client
) -> None:
    url = f"/v1.0/security/incidents/{seeded.second}"
    refused = client.patch(url, json={"status": "resolved"}, headers=headers(platform))
    assert refused.status_code == 400
    assert "needs a classification" in refused.json()["error"]["message"]
    change = Incident(status=IncidentStatus.Resolved, classification=AlertClassification.FalsePositive,
                      determination=AlertDetermination.NotEnoughDataToValidate, assigned_to="ana@contoso.com",
                      custom_tags=["triaged"])  # fmt: skip
    updated = graph(platform, lambda c: c.security.incidents.by_incident_id(seeded.second).patch(change))
    assert updated is not None
    assert updated.status == IncidentStatus.Resolved
    assert (updated.classification, updated.determination) == (
        AlertClassification.FalsePositive, AlertDetermination.NotEnoughDataToValidate)  # fmt: skip
    assert (updated.assigned_to, updated.custom_tags) == ("ana@contoso.com", ["triaged"])
    with platform.runtime.database.session() as session:
        from watchkeeper.cases import find_incident

        stored = find_incident(session, tenant_id=platform.tenants["a"].id, ref=seeded.second)
    assert stored is not None
    assert (stored.status, stored.classification, stored.classification_reason) == (
        "Closed", "FalsePositive", "InaccurateData")  # fmt: skip
    assert (stored.owner, stored.labels) == ("ana@contoso.com", ["triaged"])
    bad = client.patch(url, json={"status": "closed"}, headers=headers(platform))
    assert bad.status_code == 400
    assert "status must be one of active, inProgress, resolved" in bad.json()["error"]["message"]


def test_comments_on_an_incident(platform: Platform, seeded: Incidents, client: httpx.Client) -> None:
    response = client.post(f"/beta/security/incidents/{seeded.mine}/comments", json={"comment": "escalated"},
                           headers=headers(platform))  # fmt: skip
    assert response.status_code == 200
    assert [c["comment"] for c in response.json()["value"]] == ["escalated"]
    incident = client.get(f"/v1.0/security/incidents/{seeded.mine}", headers=headers(platform)).json()
    assert [c["comment"] for c in incident["comments"]] == ["escalated"]
    audit = client.get(
        "/api/audit", params={"action": "incident.comment"}, headers=platform.headers("a", "all", GRAPH)
    )
    assert any(e["target"] == seeded.mine for e in audit.json()["value"])


def test_another_tenants_incident_is_not_found(
    platform: Platform, seeded: Incidents, client: httpx.Client
) -> None:
    with pytest.raises(ODataError) as missing:
        graph(platform, lambda c: c.security.incidents.by_incident_id(seeded.theirs).get())
    assert missing.value.response_status_code == 404
    for method, path in (("GET", f"/v1.0/security/incidents/{seeded.theirs}/alerts"),
                         ("PATCH", f"/v1.0/security/incidents/{seeded.theirs}"),
                         ("POST", f"/v1.0/security/incidents/{seeded.theirs}/comments")):  # fmt: skip
        response = client.request(
            method,
            path,
            json={"assignedTo": "x"} if method == "PATCH" else {"comment": "x"},
            headers=headers(platform),
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "itemNotFound"
    listed = client.get("/v1.0/security/incidents", params={"$top": "1000"}, headers=headers(platform)).json()
    assert seeded.theirs not in {i["id"] for i in listed["value"]}


@pytest.mark.parametrize(("app", "method", "path"), [
    ("nobody", "GET", "/v1.0/security/incidents"), ("nobody", "GET", "/beta/security/incidents/x/alerts"),
    ("nobody", "PATCH", "/v1.0/security/incidents/x"), ("nobody", "POST", "/v1.0/security/incidents/x/comments"),
])  # fmt: skip
def test_a_token_without_the_role_is_refused(
    platform: Platform, client: httpx.Client, app: str, method: str, path: str
) -> None:
    response = client.request(method, path, json={}, headers=headers(platform, "a", app))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "accessDenied"
