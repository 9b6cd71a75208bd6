"""The Log Analytics query route over real HTTP, with real tokens."""

from __future__ import annotations

import contextlib
import ssl

import httpx
import pytest

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


def test_additional_workspaces_are_refused_not_ignored(client: httpx.Client, platform: Platform) -> None:
    response = query(client, platform, "SecurityEvent | count", workspaces=[platform.workspace("a", "other")])
    assert response.status_code == 400
    assert "workspaces" in response.json()["error"]["message"]
    same = query(client, platform, "SecurityEvent | count", workspaces=[platform.workspace("a")])
    assert same.json()["tables"][0]["rows"] == [[3]]


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


def test_values_are_typed_in_the_thin_shape(client: httpx.Client, platform: Platform) -> None:
    text = "SecurityEvent | where Computer == 'h0' | project TimeGenerated, EventID, d = dynamic({'k': 'v'}), t = 90s"
    table = query(client, platform, text).json()["tables"][0]
    assert table["columns"] == [{"name": "TimeGenerated", "type": "datetime"}, {"name": "EventID", "type": "int"},
                                {"name": "d", "type": "dynamic"}, {"name": "t", "type": "timespan"}]  # fmt: skip
    assert table["rows"] == [["2025-12-01T08:00:00Z", 4624, '{"k":"v"}', "00:01:30"]]


def test_get_query_takes_the_query_from_the_url(client: httpx.Client, platform: Platform) -> None:
    response = client.get(f"/v1/workspaces/{platform.workspace('a')}/query",
                          params={"query": "SecurityEvent | count", "timespan": "2025-12-01T00:00:00Z/P1D"},
                          headers=platform.headers("a", "reader"))  # fmt: skip
    assert response.json()["tables"][0]["rows"] == [[3]]


def test_statistics_when_preferred(client: httpx.Client, platform: Platform) -> None:
    plain = query(client, platform, "SecurityEvent | take 2")
    assert "statistics" not in plain.json()
    response = client.post(f"/v1/workspaces/{platform.workspace('a')}/query", json={"query": "SecurityEvent | take 2"},
                           headers={**platform.headers("a", "reader"), "Prefer": "wait=30,include-statistics=true"})  # fmt: skip
    statistics = response.json()["statistics"]["query"]
    assert statistics["datasetStatistics"] == [{"tableRowCount": 2}]
    assert 0 < statistics["executionTime"] < 30


def test_response_thinning_off_answers_in_kusto_v1(client: httpx.Client, platform: Platform) -> None:
    # Kqlmagic's loganalytics:// connection sends this and parses Kusto's V1 body (clients.md §8)
    response = client.post(f"/v1/workspaces/{platform.workspace('a')}/query",
                           json={"query": "SecurityEvent | summarize n = count()"},
                           headers={**platform.headers("a", "reader"), "Prefer": "ai.response-thinning=false, wait=20"})  # fmt: skip
    tables = response.json()["Tables"]
    assert tables[0]["Columns"] == [{"ColumnName": "n", "DataType": "Int64", "ColumnType": "long"}]
    assert tables[0]["Rows"] == [[3]]
    assert [row[2] for row in tables[-1]["Rows"]] == ["PrimaryResult", "@ExtendedProperties", "QueryStatus"]


def test_batch_answers_each_request_on_its_own(client: httpx.Client, platform: Platform) -> None:
    def request(id_: str, text: str, workspace: str | None = None, **extra: object) -> dict[str, object]:
        return {"id": id_, "headers": {"Content-Type": "application/json"}, "method": "POST", "path": "/query",
                "workspace": workspace or platform.workspace("a"), "body": {"query": text, "timespan": None},
                **extra}  # fmt: skip

    requests = [
        request("count", "SecurityEvent | count"),
        request("stats", "SecurityEvent | count", headers={"Prefer": "include-statistics=true"}),
        request("bad", "SecurityEvent | wher x"),
        request("theirs", "SecurityEvent", workspace=platform.workspace("b")),
        request("cut", "range x from 1 to 200 step 1"),
        request("path", "print 1", path="/metadata"),
        request("empty", "", body={"timespan": "PT1H"}),
    ]
    response = client.post("/v1/$batch", json={"requests": requests}, headers=platform.headers("a", "reader"))
    assert response.status_code == 200
    answers = {item["id"]: item for item in response.json()["responses"]}
    assert [item["id"] for item in response.json()["responses"]] == [r["id"] for r in requests]
    assert answers["count"] == {"id": "count", "status": 200, "body": {"tables": [
        {"name": "PrimaryResult", "columns": [{"name": "Count", "type": "long"}], "rows": [[3]]}]}}  # fmt: skip
    assert answers["stats"]["body"]["statistics"]["query"]["datasetStatistics"] == [{"tableRowCount": 1}]
    assert answers["bad"]["status"] == 400
    assert answers["bad"]["body"]["error"]["innererror"]["innererror"]["line"] == 1
    assert answers["theirs"]["status"] == 404
    assert "b-secret" not in response.text
    assert answers["cut"]["status"] == 200
    assert answers["cut"]["body"]["error"]["code"] == "PartialError"
    assert answers["path"]["status"] == 400
    assert answers["empty"]["status"] == 400
    assert "query" in answers["empty"]["body"]["error"]["message"]


def test_batch_requests_are_audited_one_by_one(client: httpx.Client, platform: Platform) -> None:
    from watchkeeper.audit import list_entries

    requests = [{"id": str(i), "method": "POST", "path": "/query", "workspace": "main",
                 "body": {"query": f"print batch_marker = {i}"}} for i in range(2)]  # fmt: skip
    client.post("/v1/$batch", json={"requests": requests}, headers=platform.headers("a", "reader"))
    with platform.runtime.database.session() as session:
        entries = list_entries(
            session, tenant_id=platform.tenants["a"].id, action="query.run", limit=50
        ).entries
    texts = [e.detail["query"] for e in entries]
    assert "print batch_marker = 0" in texts
    assert "print batch_marker = 1" in texts


def test_batch_size_is_limited(client: httpx.Client, platform: Platform) -> None:
    from watchkeeper.api.routes.log_analytics import BATCH_LIMIT

    one = {"id": "1", "method": "POST", "path": "/query", "workspace": "main", "body": {"query": "print 1"}}
    too_many = [{**one, "id": str(i)} for i in range(BATCH_LIMIT + 1)]
    response = client.post("/v1/$batch", json={"requests": too_many}, headers=platform.headers("a", "reader"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadArgumentError"
    assert str(BATCH_LIMIT) in response.json()["error"]["message"]
    denied = client.post("/v1/$batch", json={"requests": [one]}, headers=platform.headers("a", "hunter"))
    assert denied.status_code == 403


def test_metadata_lists_the_tables_that_hold_data(client: httpx.Client, platform: Platform) -> None:
    response = client.get(f"/v1/workspaces/{platform.workspace('a')}/metadata",
                          headers={**platform.headers("a", "reader"), "Prefer": "ai.response-thinning=false"})  # fmt: skip
    body = response.json()
    assert [t["name"] for t in body["tables"]] == platform.tables_with_data("a")
    [table] = [t for t in body["tables"] if t["name"] == "SecurityEvent"]
    assert table["timespanColumn"] == "TimeGenerated"
    assert {"name": "EventID", "type": "int"} in table["columns"]
    assert body["workspaces"][0]["id"] == platform.workspace("a")
    theirs = client.get(
        f"/v1/workspaces/{platform.workspace('b')}/metadata", headers=platform.headers("a", "all")
    )
    assert theirs.status_code == 404
    assert "b-secret" not in theirs.text


def test_too_many_concurrent_queries_is_429_with_retry_after(
    client: httpx.Client, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = platform.runtime.gate
    monkeypatch.setattr(gate, "wait", 0.2)
    with contextlib.ExitStack() as held:
        for _ in range(gate.limit):  # the tenant's every slot is taken by queries still running
            held.enter_context(gate.slot(platform.tenants["a"].id))
        response = query(client, platform, "print 1")
        other_tenant = query(client, platform, "print 1", tenant="b")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "ThrottledError"
    assert other_tenant.status_code == 200
    assert query(client, platform, "print 1").status_code == 200
