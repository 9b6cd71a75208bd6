"""Advanced hunting over real HTTP with real tokens: Defender's ``POST /api/advancedqueries/run`` and
Graph's ``POST /v1.0/security/runHuntingQuery``.

The shared ``platform`` holds events of 2025-12-01, long before the last 30 days, so the default
window of both protocols leaves them out; Graph reaches them with ``Timespan``. A second, smaller
server (``hunting_server``) has recent events, a ``default`` workspace, a tenant without workspaces
and a 1 s ceiling on query time (Defender asks for 200 s; the server's ``query_timeout_max`` wins).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import ROW_LIMIT, WHEN, Platform, free_port, serve
from watchkeeper.api import create_app
from watchkeeper.audit import Actor
from watchkeeper.directory import create_app as register_app
from watchkeeper.directory import create_tenant, create_workspace
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

DEFENDER = "https://api.securitycenter.microsoft.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
RUN = "/api/advancedqueries/run"
HUNT = "/v1.0/security/runHuntingQuery"
DECEMBER = "2025-12-01T00:00:00Z/2025-12-02T00:00:00Z"  # the day the shared platform's events happened
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def defender(client: httpx.Client, platform: Platform, text: str, *, tenant: str = "a", app: str = "hunter",
             **params: str) -> httpx.Response:  # fmt: skip
    return client.post(
        RUN, json={"Query": text}, params=params, headers=platform.headers(tenant, app, DEFENDER)
    )


def graph(client: httpx.Client, platform: Platform, text: str, *, tenant: str = "a", app: str = "hunter",
          timespan: str | None = DECEMBER, **params: str) -> httpx.Response:  # fmt: skip
    body = {"Query": text} | ({"Timespan": timespan} if timespan is not None else {})
    return client.post(HUNT, json=body, params=params, headers=platform.headers(tenant, app, GRAPH))


EVERY_TYPE = (
    'print s="x", i=int(7), l=long(8), d=1.5, b=true, t=datetime(2025-12-01 08:00:00), '
    'f=datetime(2025-12-01 08:00:00.25), dyn=dynamic({"a":[1,2]}), g=guid(74be27de-1e4e-49d9-b579-fe0b331d3642), '
    "ts=1d+2h, nothing=int(null), nan=real(nan), inf=real(-inf)"
)
EVERY_SCHEMA = [("s", "String"), ("i", "Int32"), ("l", "Int64"), ("d", "Double"), ("b", "Boolean"),
                ("t", "DateTime"), ("f", "DateTime"), ("dyn", "Object"), ("g", "Guid"), ("ts", "TimeSpan"),
                ("nothing", "Int32"), ("nan", "Double"), ("inf", "Double")]  # fmt: skip
EVERY_ROW = {"s": "x", "i": 7, "l": 8, "d": 1.5, "b": True, "t": "2025-12-01T08:00:00Z",
             "f": "2025-12-01T08:00:00.25Z", "dyn": {"a": [1, 2]}, "g": "74be27de-1e4e-49d9-b579-fe0b331d3642",
             "ts": "1.02:00:00", "nothing": None, "nan": "NaN", "inf": "-Infinity"}  # fmt: skip


# ---------------------------------------------------------------------------- shapes


def test_defender_answers_schema_and_results_with_dotnet_types(
    client: httpx.Client, platform: Platform
) -> None:
    response = defender(client, platform, EVERY_TYPE)
    assert response.status_code == 200
    assert response.json() == {
        "Schema": [{"Name": n, "Type": t} for n, t in EVERY_SCHEMA],
        "Results": [EVERY_ROW],
    }
    # dynamic is a JSON value, not text; datetimes are UTC with Z
    assert '"dyn":{"a":[1,2]}' in response.text
    assert '"t":"2025-12-01T08:00:00Z"' in response.text
    assert "Warning" not in response.headers


def test_graph_answers_hunting_query_results(client: httpx.Client, platform: Platform) -> None:
    response = graph(
        client, platform, "SecurityEvent | summarize n = count() by Computer | order by Computer asc"
    )
    assert response.status_code == 200
    assert response.json() == {
        "@odata.context": f"{platform.url}/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
        "schema": [{"name": "Computer", "type": "String"}, {"name": "n", "type": "Int64"}],
        "results": [{"Computer": "h0", "n": 1}, {"Computer": "h1", "n": 1}, {"Computer": "h2", "n": 1}],
    }
    typed = graph(client, platform, EVERY_TYPE).json()
    assert typed["schema"] == [{"name": n, "type": t} for n, t in EVERY_SCHEMA]
    assert typed["results"] == [EVERY_ROW]


def test_defender_tables_answer_to_timestamp(client: httpx.Client, platform: Platform) -> None:
    device = defender(client, platform, "DeviceProcessEvents | project Timestamp, FileName | take 1")
    assert device.status_code == 200
    assert device.json()["Schema"] == [
        {"Name": "Timestamp", "Type": "DateTime"},
        {"Name": "FileName", "Type": "String"},
    ]


# ---------------------------------------------------------------------------- time windows


def test_the_default_window_is_the_last_30_days(client: httpx.Client, platform: Platform) -> None:
    assert datetime.now(UTC) - WHEN > timedelta(days=30)  # the seeded events are older than that
    assert defender(client, platform, "SecurityEvent | count").json()["Results"] == [{"Count": 0}]
    assert graph(client, platform, "SecurityEvent | count", timespan=None).json()["results"] == [{"Count": 0}]
    assert graph(client, platform, "SecurityEvent | count", timespan="P30D").json()["results"] == [
        {"Count": 0}
    ]


@pytest.mark.parametrize(
    ("timespan", "count"),
    [
        (DECEMBER, 3),
        ("2025-12-01T00:00:00Z", 3),  # a single start: up to now
        ("P1D/2025-12-02T00:00:00Z", 3),
        ("2025-12-01T07:00:00Z/PT2H", 3),
        ("2025-12-01T09:00:00Z/PT2H", 0),
        ("2025-12-02T00:00:00Z", 0),
    ],
)
def test_graph_timespan_forms(client: httpx.Client, platform: Platform, timespan: str, count: int) -> None:
    response = graph(client, platform, "SecurityEvent | count", timespan=timespan)
    assert response.json()["results"] == [{"Count": count}]


def test_a_bad_timespan_is_a_graph_400(client: httpx.Client, platform: Platform) -> None:
    response = graph(client, platform, "SecurityEvent | count", timespan="last week")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalidRequest"
    assert "last week" in response.json()["error"]["message"]


# ---------------------------------------------------------------------------- errors


def test_kql_errors_carry_line_and_column(client: httpx.Client, platform: Platform) -> None:
    text = "SecurityEvent\n| where Computr == 'x'"
    answer = defender(client, platform, text)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"code", "message", "target"}
    assert error["code"] == "BadRequest"
    assert "Computr" in error["message"]
    assert "line 2, column 9" in error["message"]
    assert GUID.match(error["target"])
    graphed = graph(client, platform, text)
    assert graphed.status_code == 400
    assert graphed.json()["error"]["code"] == "invalidRequest"
    assert "line 2, column 9" in graphed.json()["error"]["message"]
    syntax = defender(client, platform, "SecurityEvent | where (")
    assert syntax.status_code == 400
    assert "line 1, column" in syntax.json()["error"]["message"]
    assert "Traceback" not in answer.text + graphed.text + syntax.text


def test_a_missing_query_is_400_in_each_shape(client: httpx.Client, platform: Platform) -> None:
    answer = client.post(RUN, json={"query": "print 1"}, headers=platform.headers("a", "hunter", DEFENDER))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "InvalidRequestBody"
    assert "Query" in answer.json()["error"]["message"]
    graphed = client.post(HUNT, json={"Timespan": "P1D"}, headers=platform.headers("a", "hunter", GRAPH))
    assert graphed.status_code == 400
    assert graphed.json()["error"]["code"] == "invalidRequest"


def test_the_row_limit_cuts_and_says_so(client: httpx.Client, platform: Platform) -> None:
    answer = defender(client, platform, "range x from 1 to 200 step 1")
    assert answer.status_code == 200
    assert len(answer.json()["Results"]) == ROW_LIMIT
    assert str(ROW_LIMIT) in answer.json()["Warnings"][0]
    assert answer.headers["Warning"].startswith("199 watchkeeper")
    graphed = graph(client, platform, "range x from 1 to 200 step 1").json()
    assert len(graphed["results"]) == ROW_LIMIT
    assert str(ROW_LIMIT) in graphed["@watchkeeper.warnings"][0]


def test_graph_query_past_the_time_limit_is_cancelled(client: httpx.Client, platform: Platform) -> None:
    response = graph(client, platform, "range x from 1 to 3000000000 step 1 | summarize dcount(x)")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "serviceNotAvailable"
    assert "cancelled" in response.json()["error"]["message"]


def test_no_token_is_401_and_no_role_is_403(client: httpx.Client, platform: Platform) -> None:
    anonymous = client.post(RUN, json={"Query": "print 1"})
    # authentication failures answer in Graph's shape on every route
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert set(anonymous.json()["error"]) == {"code", "message", "innerError"}
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    forged = client.post(RUN, json={"Query": "print 1"}, headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401
    denied = defender(client, platform, "print 1", app="reader")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "accessDenied"
    assert "AdvancedQuery.Read.All" in denied.json()["error"]["message"]
    graph_anonymous = client.post(HUNT, json={"Query": "print 1"})
    assert graph_anonymous.status_code == 401
    assert graph_anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"
    graph_denied = graph(client, platform, "print 1", app="reader")
    assert graph_denied.status_code == 403
    assert graph_denied.json()["error"]["code"] == "accessDenied"
    assert "ThreatHunting.Read.All" in graph_denied.json()["error"]["message"]


# ---------------------------------------------------------------------------- workspaces and tenants


def test_the_oldest_workspace_is_the_default_and_others_can_be_named(
    client: httpx.Client, platform: Platform
) -> None:
    # tenant a has `main` (created first) and `other`; neither is called `default`
    assert graph(client, platform, "SecurityEvent | count").json()["results"] == [{"Count": 3}]
    by_parameter = graph(client, platform, "Heartbeat | project Computer", workspace="other")
    assert by_parameter.json()["results"] == [{"Computer": "beat"}]
    by_header = client.post(HUNT, json={"Query": "Heartbeat | project Computer", "Timespan": DECEMBER},
                            headers=platform.headers("a", "hunter", GRAPH) | {"x-wk-workspace": "other"})  # fmt: skip
    assert by_header.json()["results"] == [{"Computer": "beat"}]
    by_id = graph(client, platform, "SecurityEvent | count", workspace=platform.workspace("a"))
    assert by_id.json()["results"] == [{"Count": 3}]


def test_another_tenants_data_is_never_visible(client: httpx.Client, platform: Platform) -> None:
    theirs = graph(client, platform, "SecurityEvent | project Computer", tenant="b")
    assert theirs.json()["results"] == [{"Computer": "b-secret"}]
    ours = graph(client, platform, "SecurityEvent | project Computer", app="all")
    assert "b-secret" not in ours.text
    foreign = graph(client, platform, "SecurityEvent", workspace=platform.workspace("b"))
    missing = graph(client, platform, "SecurityEvent", workspace="00000000-0000-4000-8000-000000000000")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"]["code"] == missing.json()["error"]["code"] == "itemNotFound"
    assert "b-secret" not in foreign.text
    defender_foreign = defender(client, platform, "SecurityEvent", workspace=platform.workspace("b"))
    assert defender_foreign.status_code == 404
    assert defender_foreign.json()["error"]["code"] == "NotFound"


# ---------------------------------------------------------------------------- a server with recent events


@dataclass
class HuntingServer:
    url: str
    tenants: dict[str, str]  # name -> id
    secrets: dict[str, tuple[str, str]]  # tenant name -> (client id, secret) of its hunter
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def headers(self, tenant: str, scope: str = DEFENDER) -> dict[str, str]:
        if (tenant, scope) not in self.tokens:
            client_id, secret = self.secrets[tenant]
            form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                    "scope": scope}  # fmt: skip
            answer = httpx.post(f"{self.url}/{self.tenants[tenant]}/oauth2/v2.0/token", data=form)
            self.tokens[(tenant, scope)] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[(tenant, scope)]}"}


def _provision_hunters(runtime: Runtime, now: datetime) -> HuntingServer:
    actor = Actor("system", "tests")
    tenants, secrets, stores = {}, {}, {}
    with runtime.database.session() as session:
        layout = {"hunters": ["archive", "default"], "ordered": ["zulu", "alpha"], "empty": []}
        for name, workspaces in layout.items():
            tenant = create_tenant(session, name=name, actor=actor)
            tenants[name] = tenant.id
            for workspace in workspaces:  # in this order: `archive` and `zulu` are the older ones
                stores[workspace] = create_workspace(
                    session, tenant_id=tenant.id, name=workspace, actor=actor
                )
            app = register_app(session, tenant_id=tenant.id, name="hunter", actor=actor,
                               roles=["AdvancedQuery.Read.All", "ThreatHunting.Read.All"])  # fmt: skip
            secrets[name] = (app.client_id, app.client_secret)
    events = [(now - timedelta(days=1), "recent.exe"), (now - timedelta(days=40), "old.exe")]
    runtime.workspaces.get(stores["default"]).ingest(
        "DeviceProcessEvents", [{"TimeGenerated": t, "DeviceName": "d1", "FileName": f} for t, f in events]
    )
    for name in ("archive", "zulu", "alpha"):
        runtime.workspaces.get(stores[name]).ingest(
            "DeviceProcessEvents", [{"TimeGenerated": now - timedelta(days=2), "FileName": f"{name}.exe"}]
        )
    return HuntingServer("", tenants, secrets)


@pytest.fixture(scope="module")
def hunting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HuntingServer]:
    data_dir: Path = tmp_path_factory.mktemp("hunting")
    runtime = Runtime(Settings(data_dir=data_dir, query_timeout_max=1.0))
    found = _provision_hunters(runtime, datetime.now(UTC))
    port = free_port()
    server, thread = serve(create_app(runtime=runtime), port)
    found.url = f"http://127.0.0.1:{port}"
    yield found
    server.should_exit = True
    thread.join(timeout=15)
    runtime.close()


def test_defender_sees_the_last_30_days_by_timestamp(hunting_server: HuntingServer) -> None:
    text = "DeviceProcessEvents | project Timestamp, FileName"
    response = httpx.post(
        f"{hunting_server.url}{RUN}", json={"Query": text}, headers=hunting_server.headers("hunters")
    )
    assert response.status_code == 200
    results = response.json()["Results"]
    assert [row["FileName"] for row in results] == ["recent.exe"]  # old.exe is 40 days old
    stamp = datetime.fromisoformat(results[0]["Timestamp"])
    assert timedelta(hours=23) < datetime.now(UTC) - stamp < timedelta(hours=25)
    assert results[0]["Timestamp"].endswith("Z")


def test_the_workspace_named_default_wins_over_the_oldest(hunting_server: HuntingServer) -> None:
    text = "DeviceProcessEvents | project FileName | order by FileName asc"
    headers = hunting_server.headers("hunters", GRAPH)
    chosen = httpx.post(
        f"{hunting_server.url}{HUNT}", json={"Query": text, "Timespan": "P60D"}, headers=headers
    )
    assert chosen.json()["results"] == [{"FileName": "old.exe"}, {"FileName": "recent.exe"}]
    named = httpx.post(f"{hunting_server.url}{HUNT}?workspace=archive", json={"Query": text}, headers=headers)
    assert named.json()["results"] == [{"FileName": "archive.exe"}]


def test_without_a_default_the_oldest_workspace_is_chosen(hunting_server: HuntingServer) -> None:
    # tenant `ordered` created `zulu` before `alpha`: age decides, not the name
    response = httpx.post(f"{hunting_server.url}{RUN}", json={"Query": "DeviceProcessEvents | project FileName"},
                          headers=hunting_server.headers("ordered"))  # fmt: skip
    assert response.json()["Results"] == [{"FileName": "zulu.exe"}]


def test_a_tenant_without_workspaces_is_a_404_in_each_shape(hunting_server: HuntingServer) -> None:
    answer = httpx.post(
        f"{hunting_server.url}{RUN}", json={"Query": "print 1"}, headers=hunting_server.headers("empty")
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NotFound"
    assert "no workspace" in answer.json()["error"]["message"]
    graphed = httpx.post(f"{hunting_server.url}{HUNT}", json={"Query": "print 1"},
                         headers=hunting_server.headers("empty", GRAPH))  # fmt: skip
    assert graphed.status_code == 404
    assert graphed.json()["error"]["code"] == "itemNotFound"


def test_defender_query_past_the_server_ceiling_is_cancelled(hunting_server: HuntingServer) -> None:
    text = "range x from 1 to 3000000000 step 1 | summarize dcount(x)"
    started = datetime.now(UTC)
    response = httpx.post(f"{hunting_server.url}{RUN}", json={"Query": text}, headers=hunting_server.headers("hunters"),
                          timeout=60)  # fmt: skip
    assert datetime.now(UTC) - started < timedelta(seconds=30)  # not Defender's 200 s: the server's 1 s
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert "timeout" in error["message"]
    assert "1 s" in error["message"]
