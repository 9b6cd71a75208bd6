"""The audit log API over real HTTP: what each protocol's queries, refusals and token requests leave
behind, tenant scoping, and paging."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import Platform

DEFENDER = "https://api.securitycenter.microsoft.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
FIELDS = {"id", "at", "tenantId", "actorKind", "actor", "action", "target", "outcome", "detail", "requestId"}


def audit(client: httpx.Client, platform: Platform, *, tenant: str = "a", top: int | None = None,
          skiptoken: str | None = None, **params: Any) -> httpx.Response:  # fmt: skip
    """``GET /api/audit`` as tenant's admin; ``top`` and ``skiptoken`` are ``$top`` and ``$skiptoken``."""
    paging = {"$top": top, "$skiptoken": skiptoken}
    params |= {key: value for key, value in paging.items() if value is not None}
    return client.get("/api/audit", params=params, headers=platform.headers(tenant, "admin", GRAPH))


def every_entry(
    client: httpx.Client, platform: Platform, *, tenant: str = "a", top: int | None = None, **params: Any
) -> list[dict[str, Any]]:
    """All pages, following ``@odata.nextLink`` verbatim."""
    entries: list[dict[str, Any]] = []
    page = audit(client, platform, tenant=tenant, top=top, **params).json()
    entries += page["value"]
    while "@odata.nextLink" in page:
        page = client.get(page["@odata.nextLink"], headers=platform.headers(tenant, "admin", GRAPH)).json()
        entries += page["value"]
    return entries


def by_request(
    client: httpx.Client, platform: Platform, response: httpx.Response, **params: Any
) -> dict[str, Any]:
    """The audit entry of the request that got ``response``."""
    request_id = response.headers["x-ms-request-id"]
    found = [e for e in every_entry(client, platform, **params) if e["requestId"] == request_id]
    assert len(found) == 1, found
    return found[0]


def marker_query() -> str:
    return f'print marker = "{uuid.uuid4()}"'


@pytest.mark.parametrize(
    ("path", "body", "scope", "app", "protocol"),
    [
        (
            "/v1/workspaces/main/query",
            "query",
            "https://api.loganalytics.io/.default",
            "reader",
            "log-analytics",
        ),
        ("/api/advancedqueries/run", "Query", DEFENDER, "hunter", "defender-advanced-hunting"),
        ("/v1.0/security/runHuntingQuery", "Query", GRAPH, "hunter", "graph-hunting"),
    ],
)
def test_a_query_through_each_protocol_is_audited(
    client: httpx.Client, platform: Platform, path: str, body: str, scope: str, app: str, protocol: str
) -> None:
    text = marker_query()
    response = client.post(path, json={body: text}, headers=platform.headers("a", app, scope))
    assert response.status_code == 200
    entry = by_request(client, platform, response, action="query.run")
    assert set(entry) == FIELDS
    tenant = platform.tenants["a"]
    assert entry["tenantId"] == tenant.id
    assert (entry["actorKind"], entry["actor"]) == ("app", tenant.apps[app].client_id)
    assert entry["target"] == platform.workspace("a", "main")
    assert entry["outcome"] == "success"
    assert entry["detail"]["query"] == text
    assert entry["detail"]["workspace"] == "main"
    assert entry["detail"]["protocol"] == protocol
    assert entry["at"].endswith("Z")


def test_a_failed_query_is_audited_as_a_failure(client: httpx.Client, platform: Platform) -> None:
    text = f"{marker_query()} | where nosuchcolumn == 1"
    response = client.post("/api/advancedqueries/run", json={"Query": text},
                           headers=platform.headers("a", "hunter", DEFENDER))  # fmt: skip
    assert response.status_code == 400
    entry = by_request(client, platform, response, action="query.run")
    assert entry["outcome"] == "failure"
    assert entry["detail"]["query"] == text
    assert entry["detail"]["error"] == "KqlBindError"


def test_a_denied_request_is_audited(client: httpx.Client, platform: Platform) -> None:
    response = client.post("/v1.0/security/runHuntingQuery", json={"Query": "print 1"},
                           headers=platform.headers("a", "reader", GRAPH))  # fmt: skip
    assert response.status_code == 403
    entry = by_request(client, platform, response, action="request.denied")
    assert entry["outcome"] == "denied"
    assert entry["actor"] == platform.tenants["a"].apps["reader"].client_id
    assert entry["target"] == "POST /v1.0/security/runHuntingQuery"
    assert entry["detail"]["needs"] == ["ThreatHunting.Read.All"]


def test_token_issuance_and_refusal_are_audited(client: httpx.Client, platform: Platform) -> None:
    tenant = platform.tenants["a"]
    app = tenant.apps["nobody"]
    form = {"grant_type": "client_credentials", "client_id": app.client_id, "scope": GRAPH}
    issued = client.post(f"/{tenant.id}/oauth2/v2.0/token", data=form | {"client_secret": app.client_secret})
    refused = client.post(f"/{tenant.id}/oauth2/v2.0/token", data=form | {"client_secret": "wrong"})
    assert (issued.status_code, refused.status_code) == (200, 401)
    granted = by_request(client, platform, issued, action="token.issue")
    assert (granted["outcome"], granted["actor"], granted["target"]) == (
        "success",
        app.client_id,
        "https://graph.microsoft.com",
    )
    denied = by_request(client, platform, refused, action="token.issue")
    assert (denied["outcome"], denied["actor"]) == ("denied", app.client_id)
    assert denied["detail"]["error"] == "invalid_client"
    assert "wrong" not in str(denied)
    assert app.client_secret not in str(granted)


def test_a_tenant_admin_sees_only_their_tenant(client: httpx.Client, platform: Platform) -> None:
    text = marker_query()
    client.post(
        "/api/advancedqueries/run", json={"Query": text}, headers=platform.headers("a", "hunter", DEFENDER)
    )
    ours = every_entry(client, platform, tenant="a", top=1000)
    theirs = every_entry(client, platform, tenant="b", top=1000)
    assert any(e["detail"].get("query") == text for e in ours)
    assert theirs, "tenant b has entries of its own (its apps' tokens at least)"
    assert {e["tenantId"] for e in theirs} == {platform.tenants["b"].id}
    assert {e["id"] for e in ours}.isdisjoint(e["id"] for e in theirs)
    assert text not in str(theirs)


def test_paging_returns_every_entry_exactly_once(client: httpx.Client, platform: Platform) -> None:
    for _ in range(5):  # enough entries for several pages
        client.post(
            "/api/advancedqueries/run",
            json={"Query": "print 1"},
            headers=platform.headers("a", "hunter", DEFENDER),
        )
    whole = audit(client, platform, top=1000).json()
    assert "@odata.nextLink" not in whole
    paged = every_entry(client, platform, top=3)
    newest = int(paged[0]["id"])
    expected = [e["id"] for e in whole["value"] if int(e["id"]) <= newest]
    assert [e["id"] for e in paged] == expected  # same entries, same order, none twice
    assert len(expected) > 6
    assert [int(i) for i in expected] == sorted((int(i) for i in expected), reverse=True)


def test_filters_by_action_and_time(client: httpx.Client, platform: Platform) -> None:
    tokens = audit(client, platform, action="token.issue").json()["value"]
    assert tokens
    assert {e["action"] for e in tokens} == {"token.issue"}
    future = audit(client, platform, since="2999-01-01T00:00:00Z").json()
    assert future == {"value": []}
    latest = tokens[0]["at"]
    recent = audit(client, platform, action="token.issue", since=latest).json()["value"]
    assert tokens[0]["id"] in {e["id"] for e in recent}
    assert all(e["at"] >= latest for e in recent)


def test_bad_paging_parameters_are_graph_400s(client: httpx.Client, platform: Platform) -> None:
    too_many = audit(client, platform, top=1001)
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "invalidRequest"
    forged = audit(client, platform, skiptoken="not-a-cursor")
    assert forged.status_code == 400
    assert "skiptoken" in forged.json()["error"]["message"]
    bad_time = audit(client, platform, since="yesterday")
    assert bad_time.status_code == 400


def test_the_audit_log_needs_its_role(client: httpx.Client, platform: Platform) -> None:
    anonymous = client.get("/api/audit")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
    denied = client.get("/api/audit", headers=platform.headers("a", "hunter", GRAPH))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "accessDenied"
    assert "AuditLog.Read.All" in denied.json()["error"]["message"]


def test_probing_another_tenants_workspace_is_audited_in_the_callers_tenant(
    client: httpx.Client, platform: Platform
) -> None:
    theirs = platform.workspace("a")
    query = client.post(f"/v1/workspaces/{theirs}/query", json={"query": marker_query()},
                        headers=platform.headers("b", "reader"))  # fmt: skip
    schema = client.get(f"/v1/workspaces/{theirs}/metadata", headers=platform.headers("b", "reader"))
    assert query.status_code == schema.status_code == 404
    probe = by_request(client, platform, query, tenant="b", action="query.run")
    assert (probe["outcome"], probe["target"], probe["detail"]["error"]) == (
        "failure",
        theirs,
        "NotFoundError",
    )
    assert probe["tenantId"] == platform.tenants["b"].id
    looked = by_request(client, platform, schema, tenant="b", action="query.metadata")
    assert (looked["outcome"], looked["target"]) == ("failure", theirs)
    # the workspace's owner does not see the probe as an entry of its own
    request_ids = {e["requestId"] for e in every_entry(client, platform, tenant="a")}
    assert not {query.headers["x-ms-request-id"], schema.headers["x-ms-request-id"]} & request_ids


def test_reading_a_workspace_schema_is_audited(client: httpx.Client, platform: Platform) -> None:
    schema = client.get("/v1/workspaces/main/metadata", headers=platform.headers("a", "reader"))
    assert schema.status_code == 200
    entry = by_request(client, platform, schema, action="query.metadata")
    assert (entry["outcome"], entry["target"]) == ("success", platform.workspace("a"))
