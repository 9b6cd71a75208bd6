"""A token opens the API it was issued for, as with Entra ID: a Graph token does not open the Log
Analytics API, a Log Analytics token does not open Graph. A token for this server's own URL opens
every API it serves."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.api.conftest import LOG_ANALYTICS, Platform

GRAPH = "https://graph.microsoft.com/.default"
DEFENDER = "https://api.securitycenter.microsoft.com/.default"
KUSTO = "https://help.kusto.windows.net/.default"
INGESTION = "https://monitor.azure.com/.default"

Call = Callable[[httpx.Client, Platform, dict[str, str]], httpx.Response]


def _logs(client: httpx.Client, platform: Platform, headers: dict[str, str]) -> httpx.Response:
    return client.post(
        f"/v1/workspaces/{platform.workspace('a')}/query", json={"query": "print 1"}, headers=headers
    )


def _kusto(client: httpx.Client, platform: Platform, headers: dict[str, str]) -> httpx.Response:
    return client.post("/v2/rest/query", json={"db": "main", "csl": "print 1"}, headers=headers)


def _defender(client: httpx.Client, platform: Platform, headers: dict[str, str]) -> httpx.Response:
    return client.post("/api/advancedqueries/run", json={"Query": "print 1"}, params={"workspace": "main"},
                       headers=headers)  # fmt: skip


def _graph(client: httpx.Client, platform: Platform, headers: dict[str, str]) -> httpx.Response:
    return client.post("/v1.0/security/runHuntingQuery", json={"Query": "print 1"}, params={"workspace": "main"},
                       headers=headers)  # fmt: skip


def _audit(client: httpx.Client, platform: Platform, headers: dict[str, str]) -> httpx.Response:
    return client.get("/api/audit", params={"$top": 1}, headers=headers)


# route -> the scopes whose tokens it takes
ROUTES: dict[str, tuple[Call, set[str]]] = {
    "log analytics": (_logs, {LOG_ANALYTICS}),
    "kusto": (_kusto, {KUSTO, LOG_ANALYTICS}),
    "defender hunting": (_defender, {DEFENDER}),
    "graph hunting": (_graph, {GRAPH}),
    "audit": (_audit, {GRAPH}),
}
SCOPES = [LOG_ANALYTICS, KUSTO, DEFENDER, GRAPH, INGESTION]


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("scope", SCOPES)
def test_a_token_opens_the_api_it_was_issued_for(
    client: httpx.Client, platform: Platform, route: str, scope: str
) -> None:
    call, accepted = ROUTES[route]
    response = call(client, platform, platform.headers("a", "all", scope))
    if scope in accepted:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert "audience" in error["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_token_for_this_server_opens_every_api(
    client: httpx.Client, platform: Platform, route: str
) -> None:
    call, _ = ROUTES[route]
    response = call(client, platform, platform.headers("a", "all", f"{platform.url}/.default"))
    assert response.status_code == 200, response.text
