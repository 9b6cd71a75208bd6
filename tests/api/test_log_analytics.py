"""The Log Analytics query route over real HTTP, with real tokens."""

from __future__ import annotations

import ssl

import httpx

from tests.api.conftest import ROW_LIMIT, Platform


def query(client: httpx.Client, platform: Platform, text: str, *, tenant: str = "a", workspace: str = "main",
          app: str = "reader", **extra: object) -> httpx.Response:  # fmt: skip
    return client.post(f"/v1/workspaces/{platform.workspace(tenant, workspace)}/query",
                       json={"query": text, **extra}, headers=platform.headers(tenant, app))  # fmt: skip


def test_query_answers_in_the_log_analytics_shape(client: httpx.Client, platform: Platform) -> None:
    response = query(
        client, platform, "SecurityEvent | summarize n = count() by Computer | order by Computer asc"
    )
    assert response.status_code == 200
    assert response.json() == {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [{"name": "Computer", "type": "string"}, {"name": "n", "type": "long"}],
                "rows": [["h0", 1], ["h1", 1], ["h2", 1]],
            }
        ]
    }


def test_a_workspace_can_be_named_by_its_name_within_the_tenant(
    client: httpx.Client, platform: Platform
) -> None:
    response = client.post("/v1/workspaces/other/query", json={"query": "Heartbeat | project Computer"},
                           headers=platform.headers("a", "reader"))  # fmt: skip
    assert response.json()["tables"][0]["rows"] == [["beat"]]


def test_timespan_limits_time_generated(client: httpx.Client, platform: Platform) -> None:
    inside = query(
        client, platform, "SecurityEvent | count", timespan="2025-12-01T00:00:00Z/2025-12-02T00:00:00Z"
    )
    assert inside.json()["tables"][0]["rows"] == [[3]]
    outside = query(client, platform, "SecurityEvent | count", timespan="2025-12-02T00:00:00Z/P1D")
    assert outside.json()["tables"][0]["rows"] == [[0]]
    bad = query(client, platform, "SecurityEvent | count", timespan="yesterday")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "BadArgumentError"


def test_bad_kql_is_400_with_position_and_no_traceback(client: httpx.Client, platform: Platform) -> None:
    response = query(client, platform, "SecurityEvent\n| where Computr == 'x'")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadArgumentError"
    assert "Computr" in error["message"]
    assert (error["line"], error["column"]) == (2, 9)
    assert error["innererror"]["code"] == "SemanticError"
    assert "Traceback" not in response.text


def test_missing_query_is_a_log_analytics_400(client: httpx.Client, platform: Platform) -> None:
    response = client.post(f"/v1/workspaces/{platform.workspace('a')}/query", json={"timespan": "PT1H"},
                           headers=platform.headers("a", "reader"))  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadArgumentError"
    assert "query" in response.json()["error"]["message"]


def test_row_limit_gives_a_partial_error(client: httpx.Client, platform: Platform) -> None:
    response = query(client, platform, "range x from 1 to 200 step 1")
    assert response.status_code == 200
    body = response.json()
    assert len(body["tables"][0]["rows"]) == ROW_LIMIT
    assert body["error"]["code"] == "PartialError"


def test_time_limit_is_504(client: httpx.Client, platform: Platform) -> None:
    response = query(client, platform, "range x from 1 to 3000000000 step 1 | summarize dcount(x)")
    assert response.status_code == 504
    assert response.json()["error"]["innererror"]["code"] == "QueryTimeout"


def test_no_token_is_401_and_no_role_is_403_in_graph_shape(client: httpx.Client, platform: Platform) -> None:
    path = f"/v1/workspaces/{platform.workspace('a')}/query"
    anonymous = client.post(path, json={"query": "print 1"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    garbage = client.post(path, json={"query": "print 1"}, headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401
    denied = client.post(path, json={"query": "print 1"}, headers=platform.headers("a", "nobody"))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "accessDenied"
    assert "Data.Read" in denied.json()["error"]["message"]


def test_another_tenants_workspace_is_not_found(client: httpx.Client, platform: Platform) -> None:
    theirs = client.post(f"/v1/workspaces/{platform.workspace('b')}/query", json={"query": "SecurityEvent"},
                         headers=platform.headers("a", "all"))  # fmt: skip
    missing = client.post("/v1/workspaces/00000000-0000-4000-8000-000000000000/query",
                          json={"query": "SecurityEvent"}, headers=platform.headers("a", "all"))  # fmt: skip
    assert theirs.status_code == missing.status_code == 404
    assert "b-secret" not in theirs.text
    # the answer for another tenant's workspace reads exactly like the one for no workspace at all
    assert theirs.json()["error"]["code"] == missing.json()["error"]["code"]


def test_the_same_api_answers_over_https(platform: Platform) -> None:
    trust = ssl.create_default_context(cafile=str(platform.ca_cert))
    with httpx.Client(base_url=platform.https_url, verify=trust, timeout=30) as https:
        form = {"grant_type": "client_credentials", "client_id": platform.tenants["a"].apps["reader"].client_id,
                "client_secret": platform.tenants["a"].apps["reader"].client_secret,
                "scope": f"{platform.https_url}/.default"}  # fmt: skip
        token = https.post(f"/{platform.tenants['a'].id}/oauth2/v2.0/token", data=form).json()["access_token"]
        response = https.post(f"/v1/workspaces/{platform.workspace('a')}/query", json={"query": "SecurityEvent | count"},
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert response.json()["tables"][0]["rows"] == [[3]]
