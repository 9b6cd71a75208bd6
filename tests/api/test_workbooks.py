"""Dashboards and saved queries over HTTP: create, read, replace and delete them as JSON or YAML;
invalid documents refused with the field (and a tile's KQL line and column); the built-in SOC
overview offered read-only to every tenant; private items seen by their owner only, shared ones by
the whole tenant, changed only by their owner or a tenant administrator; tenant b never sees
tenant a's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from tests.api.conftest import Platform
from watchkeeper.audit import Actor
from watchkeeper.directory import create_app as register_app

SOC = "builtin-soc-overview"
DOCUMENT: dict[str, Any] = {
    "name": "Logons",
    "description": "Who logs on where",
    "parameters": [{"name": "TimeRange", "type": "timerange", "default": "P7D"}],
    "tiles": [
        {"title": "Logons per host", "query": "SecurityEvent | summarize count() by Computer", "visualization": "barchart"},
        {"title": "Logons", "query": "SecurityEvent | count", "visualization": "stat", "width": 1},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def colleague(platform: Platform) -> str:
    """A second app of tenant a that may query (Data.Read) but administers nothing."""
    with platform.runtime.database.session() as session:
        made = register_app(session, tenant_id=platform.tenants["a"].id, name="colleague", roles=["Data.Read"],
                            actor=Actor("system", "tests"))  # fmt: skip
    platform.tenants["a"].apps["colleague"] = made
    return "colleague"


def call(platform: Platform, method: str, path: str, tenant: str = "a", app: str = "reader",
         **options: Any) -> httpx.Response:  # fmt: skip
    return httpx.request(method, f"{platform.url}{path}", headers=platform.headers(tenant, app) |
                         options.pop("headers", {}), timeout=30, **options)  # fmt: skip


def create(platform: Platform, document: dict[str, Any], **options: Any) -> dict[str, Any]:
    response = call(platform, "POST", "/api/dashboards", json=document, **options)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(platform: Platform, tenant: str = "a", app: str = "reader") -> list[str]:
    response = call(platform, "GET", "/api/dashboards", tenant, app)
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["value"]]


def test_a_dashboard_is_created_read_replaced_and_deleted(platform: Platform) -> None:
    made = create(platform, DOCUMENT)
    assert (made["name"], made["shared"], made["builtin"], made["editable"]) == ("Logons", False, False, True)
    assert made["definition"]["tiles"][0]["visualization"] == "barchart"
    assert made["id"] in listed(platform)
    changed = {**DOCUMENT, "name": "Logons by host", "shared": True}
    response = call(platform, "PUT", f"/api/dashboards/{made['id']}", json=changed)
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["shared"]) == ("Logons by host", True)
    got = call(platform, "GET", f"/api/dashboards/{made['id']}").json()
    assert got["definition"]["name"] == "Logons by host"
    assert "shared" not in got["definition"]
    assert call(platform, "DELETE", f"/api/dashboards/{made['id']}").status_code == 204
    assert call(platform, "GET", f"/api/dashboards/{made['id']}").status_code == 404


def test_a_yaml_document_is_accepted(platform: Platform) -> None:
    text = yaml.safe_dump({**DOCUMENT, "name": "From YAML"})
    response = call(
        platform, "POST", "/api/dashboards", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["definition"]["tiles"][1]["title"] == "Logons"


def test_every_problem_of_a_document_is_named_with_its_field(platform: Platform) -> None:
    bad = {
        "name": "",
        "tilez": [],
        "tiles": [{"title": "x", "query": "SecurityEvent", "visualization": "donut"}],
    }
    response = call(platform, "POST", "/api/dashboards", json=bad)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalidRequest"
    targets = {d["target"] for d in error["details"]}
    assert targets == {"name", "tilez", "tiles[0].visualization"}
    assert "tiles[0].visualization" in error["message"]


def test_a_tile_whose_kql_does_not_compile_is_refused_with_line_and_column(platform: Platform) -> None:
    tiles = [{"title": "ok", "query": "SecurityEvent | count", "visualization": "stat"},
             {"title": "bad", "query": "SecurityEvent\n| where NoSuchColumn > 1", "visualization": "table"}]  # fmt: skip
    response = call(platform, "POST", "/api/dashboards", json={"name": "Broken", "tiles": tiles})
    assert response.status_code == 400
    (detail,) = response.json()["error"]["details"]
    assert (detail["target"], detail["line"], detail["column"]) == ("tiles[1].query", 2, 9)
    assert "NoSuchColumn" in detail["message"]


def test_malformed_yaml_and_unknown_media_types_are_refused(platform: Platform) -> None:
    response = call(platform, "POST", "/api/dashboards", content="name: [unclosed",
                    headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert response.status_code == 400
    assert "not valid YAML" in response.json()["error"]["message"]
    response = call(platform, "POST", "/api/dashboards", content="x", headers={"Content-Type": "text/csv"})
    assert response.status_code == 400
    assert "application/yaml" in response.json()["error"]["message"]


def test_the_soc_overview_is_offered_to_every_tenant_read_only(platform: Platform) -> None:
    assert SOC in listed(platform, "a")
    assert SOC in listed(platform, "b")
    soc = call(platform, "GET", f"/api/dashboards/{SOC}", "b").json()
    assert (soc["builtin"], soc["editable"], soc["name"]) == (True, False, "SOC overview")
    titles = [t["title"] for t in soc["definition"]["tiles"]]
    assert {"Incidents by severity", "Incidents by status", "Alerts over time", "Rule health"} <= set(titles)
    response = call(platform, "PUT", f"/api/dashboards/{SOC}", json=DOCUMENT)
    assert response.status_code == 403
    assert "save a copy" in response.json()["error"]["message"]
    assert call(platform, "DELETE", f"/api/dashboards/{SOC}").status_code == 403


def test_private_dashboards_are_their_owners_and_shared_ones_the_tenants(
    platform: Platform, colleague: str
) -> None:
    private = create(platform, {**DOCUMENT, "name": "Mine only"})
    shared = create(platform, {**DOCUMENT, "name": "For the team", "shared": True})
    seen = listed(platform, "a", colleague)
    assert shared["id"] in seen
    assert private["id"] not in seen
    assert call(platform, "GET", f"/api/dashboards/{private['id']}", app=colleague).status_code == 404
    theirs = call(platform, "GET", f"/api/dashboards/{shared['id']}", app=colleague).json()
    assert theirs["editable"] is False
    refused = call(platform, "PUT", f"/api/dashboards/{shared['id']}", app=colleague, json=DOCUMENT)
    assert refused.status_code == 403
    assert call(platform, "DELETE", f"/api/dashboards/{shared['id']}", app=colleague).status_code == 403
    # a tenant administrator (AuditLog.Read.All) may remove a shared dashboard, not see a private one
    assert call(platform, "GET", f"/api/dashboards/{private['id']}", app="all").status_code == 404
    assert call(platform, "DELETE", f"/api/dashboards/{shared['id']}", app="all").status_code == 204


def test_tenant_b_never_sees_tenant_as_dashboards(platform: Platform) -> None:
    shared = create(platform, {**DOCUMENT, "name": "Tenant a team view", "shared": True})
    assert shared["id"] not in listed(platform, "b")
    for method in ("GET", "DELETE"):
        response = call(platform, method, f"/api/dashboards/{shared['id']}", "b")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"dashboard '{shared['id']}' was not found"
    assert call(platform, "PUT", f"/api/dashboards/{shared['id']}", "b", json=DOCUMENT).status_code == 404


def test_callers_without_data_read_are_refused(platform: Platform) -> None:
    assert call(platform, "GET", "/api/dashboards", app="hunter").status_code == 403
    assert call(platform, "POST", "/api/dashboards", app="nobody", json=DOCUMENT).status_code == 403


def test_dashboard_writes_are_audited(platform: Platform) -> None:
    made = create(platform, {**DOCUMENT, "name": "Audited"})
    call(platform, "DELETE", f"/api/dashboards/{made['id']}")
    graph = platform.headers("a", "admin", "https://graph.microsoft.com/.default")
    entries = []
    for action in ("dashboard.create", "dashboard.delete"):
        response = httpx.get(f"{platform.url}/api/audit", params={"action": action}, headers=graph)
        assert response.status_code == 200, response.text
        entries += [(e["action"], e["target"], e["actor"]) for e in response.json()["value"]]
    reader = platform.tenants["a"].apps["reader"].client_id
    assert ("dashboard.create", made["id"], reader) in entries
    assert ("dashboard.delete", made["id"], reader) in entries


# ---------------------------------------------------------------- saved queries

QUERY = {
    "name": "Failed logons",
    "query": "SecurityEvent | where EventID == 4625",
    "description": "brute force?",
}


def test_a_saved_query_is_created_listed_changed_and_deleted(platform: Platform) -> None:
    response = call(platform, "POST", "/api/savedQueries?workspace=main", json=QUERY)
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["workspaceId"], made["owner"], made["shared"]) == (
        platform.workspace("a"),
        made["owner"],
        False,
    )
    names = [q["name"] for q in call(platform, "GET", "/api/savedQueries?workspace=main").json()["value"]]
    assert "Failed logons" in names
    other = [q["id"] for q in call(platform, "GET", "/api/savedQueries?workspace=other").json()["value"]]
    assert made["id"] not in other
    changed = call(
        platform, "PUT", f"/api/savedQueries/{made['id']}", json={"shared": True, "name": "Failures"}
    )
    assert (changed.json()["name"], changed.json()["shared"], changed.json()["query"]) == (
        "Failures", True, QUERY["query"])  # fmt: skip
    assert call(platform, "DELETE", f"/api/savedQueries/{made['id']}").status_code == 204
    assert call(platform, "GET", f"/api/savedQueries/{made['id']}").status_code == 404


def test_a_saved_query_with_a_syntax_error_is_refused_with_its_position(platform: Platform) -> None:
    response = call(platform, "POST", "/api/savedQueries?workspace=main",
                    json={"name": "broken", "query": "SecurityEvent\n| where (EventID == 1"})  # fmt: skip
    assert response.status_code == 400
    (detail,) = response.json()["error"]["details"]
    assert (detail["target"], detail["line"]) == ("query", 2)
    missing = call(platform, "POST", "/api/savedQueries?workspace=main", json={"query": "SecurityEvent"})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"][0]["target"] == "name"


def test_saved_queries_are_private_or_shared_and_stay_in_their_tenant(
    platform: Platform, colleague: str
) -> None:
    private = call(
        platform, "POST", "/api/savedQueries?workspace=main", json={**QUERY, "name": "private"}
    ).json()
    shared = call(platform, "POST", "/api/savedQueries?workspace=main",
                  json={**QUERY, "name": "shared", "shared": True}).json()  # fmt: skip
    seen = [
        q["id"]
        for q in call(platform, "GET", "/api/savedQueries?workspace=main", app=colleague).json()["value"]
    ]
    assert shared["id"] in seen
    assert private["id"] not in seen
    assert (
        call(
            platform, "PUT", f"/api/savedQueries/{shared['id']}", app=colleague, json={"name": "x"}
        ).status_code
        == 403
    )
    # tenant b: its own workspace "main" lists none of a's; a's workspace id is not found
    theirs = call(platform, "GET", "/api/savedQueries?workspace=main", "b").json()["value"]
    assert shared["id"] not in [q["id"] for q in theirs]
    response = call(platform, "GET", f"/api/savedQueries?workspace={platform.workspace('a')}", "b")
    assert response.status_code == 404
    assert call(platform, "GET", f"/api/savedQueries/{shared['id']}", "b").status_code == 404
    assert call(platform, "DELETE", f"/api/savedQueries/{shared['id']}", "b").status_code == 404


def test_every_builtin_tile_compiles_against_the_sentinel_tables() -> None:
    from watchkeeper.schema.catalog import Catalog
    from watchkeeper.workbooks import builtin_dashboards, parse_document

    for dashboard in builtin_dashboards():
        assert parse_document(dashboard.definition, Catalog.sentinel()).tiles


def test_a_document_over_the_size_limit_is_refused_unread(platform: Platform) -> None:
    from watchkeeper.workbooks.validation import MAX_DOCUMENT

    huge = "# padding\n" * (MAX_DOCUMENT // 10 + 1)
    response = call(
        platform, "POST", "/api/dashboards", content=huge, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].endswith("the document is larger than 256 KB")
