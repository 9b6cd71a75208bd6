"""The HTTP query route, exercised over real HTTP against a running server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import ROW_LIMIT, RunningServer


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def test_query_answers_in_the_log_analytics_shape(client: httpx.Client) -> None:
    response = client.post(
        "/v1/workspaces/default/query",
        json={
            "query": "SecurityEvent | summarize n = count() by Computer | order by Computer asc",
            "timespan": "P1D",
        },
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


def test_datetimes_are_iso_and_dynamic_values_are_json_text(client: httpx.Client) -> None:
    query = 'SecurityEvent | take 1 | project TimeGenerated, d = dynamic({"a": [1, 2]}), ok = true, t = 1d'
    table = client.post("/v1/workspaces/default/query", json={"query": query}).json()["tables"][0]
    assert [c["type"] for c in table["columns"]] == ["datetime", "dynamic", "bool", "timespan"]
    when, dynamic, ok, span = table["rows"][0]
    assert when.startswith("2025-12-01T08:00:00")
    assert when.endswith("Z")
    assert dynamic == '{"a":[1,2]}'
    assert ok is True
    assert span == "1.00:00:00"


def test_bad_kql_is_400_with_position_and_no_traceback(client: httpx.Client) -> None:
    response = client.post(
        "/v1/workspaces/default/query", json={"query": "SecurityEvent\n| where Computr == 'x'"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadArgumentError"
    assert "Computr" in error["message"]
    assert (error["line"], error["column"]) == (2, 9)
    assert error["innererror"]["code"] == "SemanticError"
    assert "Traceback" not in response.text


def test_syntax_error_has_a_syntax_inner_code(client: httpx.Client) -> None:
    response = client.post("/v1/workspaces/default/query", json={"query": "SecurityEvent | where"})
    assert response.status_code == 400
    assert response.json()["error"]["innererror"]["code"] == "SyntaxError"


def test_named_workspaces_and_unknown_ones(client: httpx.Client) -> None:
    other = client.post("/v1/workspaces/other/query", json={"query": "Heartbeat | project Computer"})
    assert other.status_code == 200
    assert other.json()["tables"][0]["rows"] == [["beat"]]
    for name in ("missing", "%2E%2E", "bad name"):
        response = client.post(f"/v1/workspaces/{name}/query", json={"query": "print 1"})
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "WorkspaceNotFoundError"


def test_missing_query_or_broken_json_is_400(client: httpx.Client) -> None:
    missing = client.post("/v1/workspaces/default/query", json={"timespan": "PT1H"})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "BadArgumentError"
    assert "query" in missing.json()["error"]["message"]
    broken = client.post(
        "/v1/workspaces/default/query", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert "Traceback" not in broken.text


def test_get_route_and_default_shortcut(client: httpx.Client) -> None:
    got = client.get("/v1/workspaces/default/query", params={"query": "SecurityEvent | count"})
    assert got.json()["tables"][0]["rows"] == [[3]]
    shortcut = client.post("/v1/query", json={"query": "SecurityEvent | count"})
    assert shortcut.json()["tables"][0]["rows"] == [[3]]


def test_row_limit_gives_a_partial_error(client: httpx.Client) -> None:
    response = client.post("/v1/workspaces/default/query", json={"query": "range x from 1 to 200 step 1"})
    assert response.status_code == 200
    body = response.json()
    assert len(body["tables"][0]["rows"]) == ROW_LIMIT
    assert body["error"]["code"] == "PartialError"
    assert "row limit" in body["error"]["message"]


def test_time_limit_is_504(client: httpx.Client) -> None:
    query = "range x from 1 to 3000000000 step 1 | summarize dcount(x)"
    response = client.post("/v1/workspaces/default/query", json={"query": query})
    assert response.status_code == 504
    assert response.json()["error"]["innererror"]["code"] == "QueryTimeout"
    assert "time limit" in response.json()["error"]["message"]


def test_health_and_landing_page(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    home = client.get("/")
    assert home.status_code == 200
    assert "text/html" in home.headers["content-type"]
    assert "/v1/workspaces/default/query" in home.text


def test_operation_ids_are_tag_dash_name(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert {op["operationId"] for op in operations} >= {
        "query-run",
        "query-get",
        "query-run-default",
        "health-get",
    }
    for op in operations:
        assert re.fullmatch(r"[a-z]+-[a-z-]+", op["operationId"])
        assert op["operationId"].startswith(op["tags"][0] + "-")
