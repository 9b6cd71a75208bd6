"""Tenant isolation and roles over every route that needs a token, as one table.

Each row of ``CASES`` says how to call one route against a workspace (by id or name), what the
route's protocol answers for a workspace the caller cannot see, and what the owner's answer
contains; the Graph security routes (alerts, incidents, indicators, actions, subscriptions, secure
score, providers) have theirs in ``test_graph_isolation.py``. A route added to ``ROUTERS`` without a
row in either table fails ``test_every_route_with_a_token_has_a_case``.

The properties checked for every row:

* the owner (tenant a) reaches its workspace (so every refusal below is a refusal, not a bad call);
* tenant b, even with every role, gets the protocol's "not found" for tenant a's workspace, and
  the answer is the same, byte for byte once request ids and timestamps are normalised, as the one
  for a workspace that exists nowhere: b learns nothing, not even that the workspace exists;
* a token without the route's role gets 403 and no token 401, both in Graph's error shape.

Routes whose tenant comes from the token alone (the audit log, the incident feed) have a row without
a refusal: only their roles are checked here, their contents by their own tests below and in
``test_incident_events.py``.

Then KQL that names other workspaces, tokens that are forged, expired, for another audience or
unsigned, one tenant's credentials at another tenant's token endpoint, and the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import string
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.dependencies.models import Dependant

from tests.api.conftest import APPS, LOG_ANALYTICS, Platform
from tests.api.test_route_security import CONSOLE_SHELL, PUBLIC, api_routes
from watchkeeper.api.deps import RoleCheck

DEFENDER = "https://api.securitycenter.microsoft.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
KUSTO = "https://help.kusto.windows.net/.default"
MONITOR = "https://monitor.azure.com/.default"
DECEMBER = "2025-12-01T00:00:00Z/2025-12-02T00:00:00Z"  # the day the platform's events happened
QUERY = "SecurityEvent | project Computer | order by Computer asc"
A_ROWS = ('"h0"', '"h1"', '"h2"', '"beat"')  # the values only tenant a's workspaces hold, as JSON strings

Send = Callable[[httpx.Client, str, dict[str, str]], httpx.Response]


@dataclass(frozen=True)
class RouteCase:
    """One way to reach one route's workspace. ``refused`` is (status, error code) the protocol
    answers for a workspace the caller cannot see; ``None`` for a route whose tenant comes from the
    token alone. ``evidence`` is in the owner's answer."""

    operation: str
    via: str
    scope: str
    send: Send
    refused: tuple[int, str] | None
    evidence: str | None
    batched: bool = False

    @property
    def id(self) -> str:
        return f"{self.operation}[{self.via}]"


# ---------------------------------------------------------------------------- how each route is called


def _logs_post(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
    return client.post(f"/v1/workspaces/{ref}/query", json={"query": QUERY}, headers=headers)


def _logs_get(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
    return client.get(f"/v1/workspaces/{ref}/query", params={"query": QUERY}, headers=headers)


def _logs_also(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
    """The caller's own workspace, with ``ref`` among the additional ``workspaces``."""
    return client.post(
        "/v1/workspaces/main/query", json={"query": QUERY, "workspaces": [ref]}, headers=headers
    )


def _logs_metadata(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
    return client.get(f"/v1/workspaces/{ref}/metadata", headers=headers)


def _logs_batch(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
    item = {"id": "1", "method": "POST", "path": "/query", "workspace": ref, "body": {"query": QUERY}}
    return client.post("/v1/$batch", json={"requests": [item]}, headers=headers)


def _kusto(path: str, csl: str) -> Send:
    def send(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
        return client.post(path, json={"db": ref, "csl": csl}, headers=headers)

    return send


def _kusto_schema(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
    """A management command naming the database in its text (the request's db is the caller's own)."""
    csl = f".show database ['{ref}'] schema as json"
    return client.post("/v1/rest/mgmt", json={"db": "main", "csl": csl}, headers=headers)


def _hunting(path: str, body: dict[str, str], *, header: bool) -> Send:
    def send(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
        if header:
            return client.post(path, json=body, headers=headers | {"x-wk-workspace": ref})
        return client.post(path, json=body, params={"workspace": ref}, headers=headers)

    return send


# workspace reference -> the immutable id of a data collection rule of tenant a sending to it
# (filled by ``_ingestion_rules``); a reference without one gets an id no rule has
_RULES: dict[str, str] = {}


def _ingest(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
    rule = _RULES.get(ref, "dcr-" + hashlib.md5(ref.encode()).hexdigest())
    return client.post(f"/dataCollectionRules/{rule}/streams/Custom-Probe", content=b'[{"Msg": "probe"}]',
                       headers=headers | {"Content-Type": "application/json"})  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _ingestion_rules(platform: Platform) -> None:
    from watchkeeper.audit import Actor
    from watchkeeper.ingest.rules import StreamRoute, create_rule

    route = StreamRoute(stream="Custom-Probe", table="Probe_CL")
    with platform.runtime.database.session() as session:
        for ref, workspace in ((platform.workspace("a"), platform.workspace("a")),
                               ("other", platform.workspace("a", "other"))):  # fmt: skip
            _RULES[ref] = create_rule(session, tenant_id=platform.tenants["a"].id, workspace_id=workspace,
                                      name=f"probe-{len(_RULES)}", streams=[route], actor=Actor("system", "tests")
                                      ).immutable_id  # fmt: skip


def _coverage(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
    return client.get("/api/coverage", params={"workspace": ref}, headers=headers)


def _audit(client: httpx.Client, _ref: str, headers: dict[str, str]) -> httpx.Response:
    return client.get("/api/audit", params={"$top": 1000}, headers=headers)


RULE = "isolation-ws-rule"  # an analytics rule tenant a has in both its workspaces (``_analytics_rules``)


def _rules(method: str, suffix: str = "") -> Send:
    """A rules route of the workspace ``?workspace=`` names; ``suffix`` names tenant a's rule."""

    def send(client: httpx.Client, ref: str, headers: dict[str, str]) -> httpx.Response:
        return client.request(method, f"/api/rules{suffix}", params={"workspace": ref}, headers=headers)

    return send


@pytest.fixture(scope="module", autouse=True)
def _analytics_rules(platform: Platform) -> None:
    """``RULE`` in tenant a's two workspaces, with a test its file carries; it finds nothing (no run
    of it raises an alert)."""
    from watchkeeper.audit import Actor
    from watchkeeper.detections.library import save_rules
    from watchkeeper.detections.models import DetectionRule, RuleTest

    probe = RuleTest(
        name="isolation rule test", events=(("SecurityEvent", ({"Computer": "x"},)),), expect_alerts=0
    )
    rule = DetectionRule(rule_id=RULE, name="isolation workspace rule", source_format="sentinel",
                         query="SecurityEvent | where Computer == 'a-only-rule-host'", tables=("SecurityEvent",),
                         tests=(probe,))  # fmt: skip
    with platform.runtime.database.session() as session:
        for workspace in platform.tenants["a"].workspaces.values():
            save_rules(session, tenant_id=platform.tenants["a"].id, workspace_id=workspace, rules=[rule],
                       actor=Actor("system", "tests"))  # fmt: skip


EVENTS = "/api/incidents/events"


def _events(client: httpx.Client, _ref: str, headers: dict[str, str]) -> httpx.Response:
    """The incident feed of the token's tenant. A stream never ends: only its opening block is read
    (within a timeout) and answered as a response of its own; a refusal is read whole."""
    with client.stream("GET", EVENTS, headers=headers, timeout=10) as response:
        if response.status_code != 200:
            response.read()
            return response
        opening = []
        for line in response.iter_lines():
            if not line:
                break
            opening.append(line)
        return httpx.Response(200, headers={"content-type": response.headers["content-type"]},
                              text="\n".join(opening), request=response.request)  # fmt: skip


RUN = "/api/advancedqueries/run"
HUNT = "/v1.0/security/runHuntingQuery"
LA_NOT_FOUND = (404, "WorkspaceNotFoundError")
NOT_FOUND = (404, "itemNotFound")
# Kusto answers a database it cannot find with 400 BadRequest_EntityNotFound, as Kusto does (a 404
# reads as "no such endpoint" to azure-kusto-data); what matters is that it reads like a missing one.
KUSTO_NOT_FOUND = (400, "BadRequest_EntityNotFound")

CASES = [
    RouteCase("log-analytics-query", "path", LOG_ANALYTICS, _logs_post, LA_NOT_FOUND, "h0"),
    RouteCase("log-analytics-query", "workspaces", LOG_ANALYTICS, _logs_also, (400, "BadArgumentError"), None),
    RouteCase("log-analytics-query-get", "path", LOG_ANALYTICS, _logs_get, LA_NOT_FOUND, "h0"),
    RouteCase("log-analytics-metadata", "path", LOG_ANALYTICS, _logs_metadata, LA_NOT_FOUND, "SecurityEvent"),
    RouteCase("log-analytics-batch", "workspace", LOG_ANALYTICS, _logs_batch, LA_NOT_FOUND, "h0", batched=True),
    RouteCase("kusto-query-v2", "db", KUSTO, _kusto("/v2/rest/query", QUERY), KUSTO_NOT_FOUND, "h0"),
    RouteCase("kusto-query-v1", "db", KUSTO, _kusto("/v1/rest/query", QUERY), KUSTO_NOT_FOUND, "h0"),
    RouteCase("kusto-query-v1", "db-command", KUSTO, _kusto("/v1/rest/query", ".show tables"), KUSTO_NOT_FOUND,
              "SecurityEvent"),
    RouteCase("kusto-mgmt", "db", KUSTO, _kusto("/v1/rest/mgmt", ".show tables"), KUSTO_NOT_FOUND, "SecurityEvent"),
    RouteCase("kusto-mgmt", "db-query", KUSTO, _kusto("/v1/rest/mgmt", QUERY), KUSTO_NOT_FOUND, "h0"),
    RouteCase("kusto-mgmt", "command-text", KUSTO, _kusto_schema, KUSTO_NOT_FOUND, "SecurityEvent"),
    # Defender hunts the last 30 days only, which the platform's December events are not in: the
    # owner's evidence is the table's schema
    RouteCase("hunting-advanced-query", "parameter", DEFENDER, _hunting(RUN, {"Query": QUERY}, header=False),
              (404, "NotFound"), '"Computer"'),
    RouteCase("hunting-advanced-query", "header", DEFENDER, _hunting(RUN, {"Query": QUERY}, header=True),
              (404, "NotFound"), '"Computer"'),
    RouteCase("hunting-run-hunting-query", "parameter", GRAPH,
              _hunting(HUNT, {"Query": QUERY, "Timespan": DECEMBER}, header=False), (404, "itemNotFound"), "h0"),
    RouteCase("hunting-run-hunting-query", "header", GRAPH,
              _hunting(HUNT, {"Query": QUERY, "Timespan": DECEMBER}, header=True), (404, "itemNotFound"), "h0"),
    # a data collection rule of tenant a's workspace; its owner's answer is 204, no body to show
    RouteCase("logs-ingestion-upload", "rule", MONITOR, _ingest, (404, "NotFound"), None),
    # a workspace's ATT&CK coverage: its owner sees the tactics and rules
    RouteCase("detections-coverage", "parameter", GRAPH, _coverage, NOT_FOUND, '"rules"'),
    # a workspace's analytics rules, and tenant a's rule in it (b naming its own workspace with a's
    # rule: the "rule" rows of GRAPH_CASES); the owner's enable and disable leave the rule disabled
    RouteCase("rules-list", "parameter", GRAPH, _rules("GET"), NOT_FOUND, f'"ruleId":"{RULE}"'),
    RouteCase("rules-get", "parameter", GRAPH, _rules("GET", f"/{RULE}"), NOT_FOUND, "a-only-rule-host"),
    RouteCase("rules-enable", "parameter", GRAPH, _rules("POST", f"/{RULE}/enable"), NOT_FOUND, '"enabled":true'),
    RouteCase("rules-disable", "parameter", GRAPH, _rules("POST", f"/{RULE}/disable"), NOT_FOUND,
              '"enabled":false'),
    RouteCase("rules-run", "parameter", GRAPH, _rules("POST", f"/{RULE}/run"), NOT_FOUND, '"status":"succeeded"'),
    RouteCase("rules-tests", "parameter", GRAPH, _rules("GET", f"/{RULE}/tests"), NOT_FOUND, "isolation rule test"),
    RouteCase("rules-tests-run", "parameter", GRAPH, _rules("POST", f"/{RULE}/tests/run"), NOT_FOUND,
              '"passed":true'),
    # the audit log is the token's tenant's: no request can name another one (test_the_audit_log_...)
    RouteCase("audit-list", "token", GRAPH, _audit, None, None),
    # the incident feed streams the token's tenant's incidents (test_incident_events.py: another
    # tenant's never arrive, live or replayed)
    RouteCase("incident-events-stream", "token", GRAPH, _events, None, None),
]  # fmt: skip
ADDRESSED = [case for case in CASES if case.refused is not None]
FIRST_PER_ROUTE = list({case.operation: case for case in reversed(CASES)}.values())


# ---------------------------------------------------------------------------- the routes themselves
# (routes addressing Graph security resources: ``GRAPH_CASES`` of test_graph_isolation.py)


def _roles(dependant: Dependant) -> set[str]:
    found = {role for d in dependant.dependencies if isinstance(d.call, RoleCheck) for role in d.call.roles}
    return found.union(*(_roles(sub) for sub in dependant.dependencies))


ROLES_BY_OPERATION = {route.operation_id: _roles(route.dependant) for route in api_routes()}


def test_every_route_with_a_token_has_a_case(platform: Platform) -> None:
    served = {op["operationId"] for path in httpx.get(f"{platform.url}/openapi.json").json()["paths"].values()
              for op in path.values()}  # fmt: skip
    assert served <= {route.operation_id for route in api_routes()}, "a route the walk above misses"
    # the Graph resources' table (imported here: that module imports this one)
    from tests.api.test_graph_isolation import GRAPH_CASES

    # the console's page shells carry no tenant data: their scripts read it from the routes below
    # (test_route_security.py checks that each is a GET under /console/ answering HTML)
    ids = {str(route.operation_id) for route in api_routes()}
    guarded = {op for op in ids if not op.startswith(CONSOLE_SHELL)} - PUBLIC
    assert guarded == {case.operation for case in CASES} | {case.operation for case in GRAPH_CASES}
    # only the audit log and the incident feed are reached without naming a resource (both read the
    # token's tenant and nothing else); any other route of this table names a workspace
    assert {case.operation for case in CASES if case.refused is None} == {
        "audit-list",
        "incident-events-stream",
    }


def test_no_guarded_route_takes_a_tenant_from_its_path() -> None:
    """The tenant of a guarded request is the token's: a token of tenant a can never be pointed at
    tenant b through the URL. (Only the public token service has ``{tenant}`` in its paths.)"""
    assert [r.path for r in api_routes() if r.operation_id not in PUBLIC and "{tenant}" in r.path] == []
    assert {r.operation_id for r in api_routes() if "{tenant}" in r.path} <= PUBLIC


# ---------------------------------------------------------------------------- answers compared


def _outcome(case: RouteCase, response: httpx.Response) -> tuple[int, str]:
    """(status, error code); a batch's single request's own status and code."""
    body = response.json()
    if case.batched and response.status_code == 200:
        body = body["responses"][0]
        return body["status"], body["body"]["error"]["code"]
    return response.status_code, body["error"]["code"]


# values that differ between any two answers: request and correlation ids, times
_VOLATILE_KEYS = {"correlationId", "target", "date", "request-id", "client-request-id", "timestamp",
                  "activityId", "trace_id", "correlation_id"}  # fmt: skip
# content-length follows the body, which is compared once normalised (a time's digits vary in number)
_VOLATILE_HEADERS = {"date", "x-ms-request-id", "request-id", "content-length"}
_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?Z?")


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<volatile>" if k in _VOLATILE_KEYS else _without_volatile(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def normalised(response: httpx.Response, ref: str) -> tuple[int, dict[str, str], str]:
    """Status, headers and body with the workspace the caller sent, the request id, correlation ids
    and times replaced by placeholders (key order kept: the body compares byte for byte)."""
    text = response.text.replace(ref, "<ref>")
    text = text.replace(response.headers.get("x-ms-request-id", "<none>"), "<request-id>")
    body = json.dumps(_without_volatile(json.loads(_TIME.sub("<time>", text))))
    headers = {k: v.replace(ref, "<ref>") for k, v in response.headers.items() if k not in _VOLATILE_HEADERS}
    return response.status_code, headers, body


def tenant_a_secrets(platform: Platform, sent: Collection[str]) -> list[str]:
    """What tenant b must never see of tenant a: its id and name, its workspaces' ids (but the one
    the caller sent), its apps' client ids, and its rows."""
    tenant = platform.tenants["a"]
    ids = [
        tenant.id,
        tenant.name,
        *tenant.workspaces.values(),
        *(app.client_id for app in tenant.apps.values()),
    ]
    return [value for value in (*ids, *A_ROWS) if value not in sent]


def assert_nothing_of_tenant_a(
    platform: Platform, response: httpx.Response, sent: Collection[str] = ()
) -> None:
    seen = response.text + json.dumps(dict(response.headers))
    leaked = [secret for secret in tenant_a_secrets(platform, sent) if secret in seen]
    assert leaked == [], f"{response.request.url}: {leaked} in {seen}"


def _missing_name(platform: Platform, length: int) -> str:
    taken = {name for tenant in platform.tenants.values() for name in tenant.workspaces}
    while (name := "".join(random.choices(string.ascii_lowercase, k=length))) in taken:
        pass
    return name


def _refs(platform: Platform, naming: str) -> tuple[str, str]:
    """(tenant a's workspace, one that exists nowhere), the same length so that answers can match
    byte for byte. By name: ``other``, which only tenant a has (both have a ``main``)."""
    if naming == "id":
        return platform.workspace("a"), str(uuid.uuid4())
    return "other", _missing_name(platform, len("other"))


# ---------------------------------------------------------------------------- 1. the owner, then tenant b


@pytest.mark.parametrize("case", [c for c in ADDRESSED if c.evidence], ids=lambda c: c.id)
def test_the_owner_reaches_its_workspace(client: httpx.Client, platform: Platform, case: RouteCase) -> None:
    response = case.send(client, platform.workspace("a"), platform.headers("a", "all", case.scope))
    status = response.json()["responses"][0]["status"] if case.batched else response.status_code
    assert status == 200, response.text
    assert case.evidence is not None
    assert case.evidence in response.text


@pytest.mark.parametrize("app", ["all", "nobody"])
@pytest.mark.parametrize("naming", ["id", "name"])
@pytest.mark.parametrize("case", ADDRESSED, ids=lambda c: c.id)
def test_another_tenant_learns_nothing_not_even_existence(
    client: httpx.Client, platform: Platform, case: RouteCase, naming: str, app: str
) -> None:
    theirs, nowhere = _refs(platform, naming)
    headers = platform.headers("b", app, case.scope)
    answer, missing = case.send(client, theirs, headers), case.send(client, nowhere, headers)
    expected = case.refused if app == "all" else (403, "accessDenied")
    assert _outcome(case, answer) == expected, answer.text
    assert normalised(answer, theirs) == normalised(missing, nowhere)
    assert_nothing_of_tenant_a(platform, answer, sent={theirs})


# ---------------------------------------------------------------------------- 2. through a query


def _queries(platform: Platform) -> list[str]:
    """KQL that names tenant a's workspaces (by id and by name) or reads its files."""
    a_main, a_other = platform.workspace("a"), platform.workspace("a", "other")
    events = platform.data_dir / "workspaces" / a_main / "events.duckdb"
    return [
        f'workspace("{a_main}").SecurityEvent',
        f"union workspace('{a_main}').SecurityEvent",
        f'union SecurityEvent, workspace("{a_main}").SecurityEvent | project Computer',
        f'workspace("{a_other}").Heartbeat',
        'workspace("other").Heartbeat',
        f'app("{a_main}").SecurityEvent',
        f'database("{a_main}").SecurityEvent',
        'database("other").Heartbeat',
        f'cluster("{platform.url}").database("{a_main}").SecurityEvent',
        f'table("{a_main}.SecurityEvent")',
        "Heartbeat",
        f"externaldata (Computer: string) [@'{events}'] with (format='csv')",
        "SecurityEvent | project Computer",
    ]


def _as_b(protocol: str, client: httpx.Client, platform: Platform, text: str) -> httpx.Response:
    """``text`` run by tenant b (every role) on its own workspace through ``protocol``."""
    ours = platform.workspace("b")
    if protocol == "log-analytics":
        return client.post(
            f"/v1/workspaces/{ours}/query", json={"query": text}, headers=platform.headers("b", "all")
        )
    if protocol == "kusto":
        return client.post(
            "/v2/rest/query", json={"db": ours, "csl": text}, headers=platform.headers("b", "all", KUSTO)
        )
    body = {"Query": text, "Timespan": DECEMBER}  # Graph hunting, in the tenant's default workspace
    return client.post(HUNT, json=body, headers=platform.headers("b", "all", GRAPH))


@pytest.mark.parametrize("protocol", ["log-analytics", "kusto", "graph-hunting"])
def test_kql_naming_another_tenants_workspace_reads_nothing_of_it(
    client: httpx.Client, platform: Platform, protocol: str
) -> None:
    answered = []
    for text in _queries(platform):
        response = _as_b(protocol, client, platform, text)
        assert response.status_code in (200, 400, 403), f"{text}: {response.status_code} {response.text}"
        assert_nothing_of_tenant_a(platform, response, sent=set(platform.tenants["a"].workspaces.values()))
        answered += [text] if response.status_code == 200 else []
    # the queries that do run see tenant b's rows only
    assert answered == ["Heartbeat", "SecurityEvent | project Computer"]
    assert "b-secret" in _as_b(protocol, client, platform, "SecurityEvent | project Computer").text


# ---------------------------------------------------------------------------- 3. roles


def assert_graph_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Graph's error body, exactly: ``{"error": {"code", "message", "innerError": {...}}}``."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(response.json()) == {"error"}
    assert set(error) == {"code", "message", "innerError"}
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert error["code"] == code
    assert error["innerError"]["request-id"] == response.headers["x-ms-request-id"]
    return error


def _apps_without(roles: set[str]) -> list[str]:
    return [app for app, held in APPS.items() if not roles & set(held)]


@pytest.mark.parametrize("case", FIRST_PER_ROUTE, ids=lambda c: c.operation)
def test_a_token_without_the_role_is_refused(
    client: httpx.Client, platform: Platform, case: RouteCase
) -> None:
    needed = ROLES_BY_OPERATION[case.operation]
    assert needed, case.operation
    assert "nobody" in _apps_without(needed)
    for app in _apps_without(needed):
        response = case.send(client, platform.workspace("a"), platform.headers("a", app, case.scope))
        error = assert_graph_error(response, 403, "accessDenied")
        assert all(role in error["message"] for role in needed), error["message"]
        assert_nothing_of_tenant_a(platform, response, sent={platform.workspace("a")})


@pytest.mark.parametrize("case", FIRST_PER_ROUTE, ids=lambda c: c.operation)
def test_no_token_is_401_with_a_bearer_challenge(
    client: httpx.Client, platform: Platform, case: RouteCase
) -> None:
    response = case.send(client, platform.workspace("a"), {})
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert error["message"]
    assert_nothing_of_tenant_a(platform, response, sent={platform.workspace("a")})


# ---------------------------------------------------------------------------- 4. another tenant's token service


def _token_request(client: httpx.Client, tenant: str, client_id: str, secret: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "scope": LOG_ANALYTICS}  # fmt: skip
    return client.post(f"/{tenant}/oauth2/v2.0/token", data=form)


def test_one_tenants_credentials_get_nothing_from_another_tenant(
    client: httpx.Client, platform: Platform
) -> None:
    """Tenant a's app at tenant b's token endpoint is refused exactly like an app that exists nowhere."""
    registered = platform.tenants["a"].apps["all"]
    nowhere = str(uuid.uuid4())
    assert len(nowhere) == len(registered.client_id)
    for tenant in (platform.tenants["b"].id, platform.tenants["b"].name):
        theirs = _token_request(client, tenant, registered.client_id, registered.client_secret)
        missing = _token_request(client, tenant, nowhere, registered.client_secret)
        assert theirs.status_code == 401
        assert theirs.json()["error"] == "invalid_client"
        assert "access_token" not in theirs.json()
        assert normalised(theirs, registered.client_id) == normalised(missing, nowhere)
        assert_nothing_of_tenant_a(platform, theirs, sent={registered.client_id})
        assert registered.client_secret not in theirs.text


# ---------------------------------------------------------------------------- 5. the audit log


def _entries(
    client: httpx.Client, platform: Platform, tenant: str, app: str, **params: str
) -> httpx.Response:
    return client.get(
        "/api/audit", params={"$top": 1000, **params}, headers=platform.headers(tenant, app, GRAPH)
    )


def _cursor(before: int) -> str:
    """A ``$skiptoken`` as the server writes it (a page of entries older than ``before``)."""
    return base64.urlsafe_b64encode(f"before:{before}".encode()).decode().rstrip("=")


def test_the_audit_log_shows_a_tenant_only_its_own_entries(client: httpx.Client, platform: Platform) -> None:
    marker, a = f"isolation-{uuid.uuid4()}", platform.tenants["a"]
    _logs_post(client, platform.workspace("a"), platform.headers("a", "reader"))
    client.post(f"/v1/workspaces/{platform.workspace('a')}/query", json={"query": f'print m = "{marker}"'},
                headers=platform.headers("a", "reader"))  # fmt: skip
    _logs_post(client, platform.workspace("a"), platform.headers("a", "nobody"))  # a denial in a's log
    ours = _entries(client, platform, "a", "admin").json()["value"]
    assert any(marker in json.dumps(entry) for entry in ours)
    newest = max(int(entry["id"]) for entry in ours)
    views = [{}, {"action": "query.run"}, {"action": "token.issue"}, {"action": "request.denied"},
             {"since": "2000-01-01T00:00:00Z"}, {"$skiptoken": _cursor(newest + 1)}]  # fmt: skip
    for app in ("admin", "all"):
        for params in views:
            response = _entries(client, platform, "b", app, **params)
            assert response.status_code == 200, response.text
            assert {e["tenantId"] for e in response.json()["value"]} <= {platform.tenants["b"].id}
            assert {e["id"] for e in response.json()["value"]}.isdisjoint(e["id"] for e in ours)
            assert marker not in response.text
            # b's log does hold a's workspace and client ids where b itself sent them (the other
            # tests' attempts), and a's tenant id inside the secure score ids ({tenantId}_{day})
            # b asked for, so what is checked here is what b never sent
            text = re.sub(rf"{re.escape(a.id)}_\d{{4}}-\d\d-\d\d", "<score id b sent>", response.text)
            assert [s for s in (a.id, a.name, *A_ROWS) if s in text] == []
    assert _entries(client, platform, "b", "admin").json()["value"], "tenant b has entries of its own"


# ---------------------------------------------------------------------------- 6. tokens we did not issue


@pytest.fixture(scope="module")
def foreign_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def forge(how: str, platform: Platform, foreign: rsa.RSAPrivateKey, scope: str) -> str:
    """A token like tenant a's ``all`` app's, made ``how``; ``genuine`` is the same claims signed
    with the server's own key (the control: the harness makes tokens the server accepts)."""
    claims = jwt.decode(platform.token("a", "all", scope), options={"verify_signature": False})
    kid, ours = platform.runtime.keys.signing_key()
    now = int(time.time())
    public = ours.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    made: dict[str, Callable[[], str]] = {
        "genuine": lambda: jwt.encode(claims, ours, "RS256", headers={"kid": kid}),
        "foreign-key-our-kid": lambda: jwt.encode(claims, foreign, "RS256", headers={"kid": kid}),
        "foreign-key-own-kid": lambda: jwt.encode(claims, foreign, "RS256", headers={"kid": "attacker"}),
        "expired": lambda: jwt.encode(claims | {"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600},
                                      ours, "RS256", headers={"kid": kid}),
        "wrong-audience": lambda: jwt.encode(claims | {"aud": "https://evil.example"}, ours, "RS256",
                                             headers={"kid": kid}),
        "alg-none": lambda: _unsigned(claims, kid),
        "hs256-with-our-public-key": lambda: _hmac(claims, public, kid),
    }  # fmt: skip
    return made[how]()


def _hmac(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """HS256 keyed with the server's public key (PyJWT refuses to do that itself, so by hand)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signed = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signed}.{_b64(hmac.new(secret, signed.encode(), hashlib.sha256).digest())}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# how a token is forged -> what the refusal says (each refused for its own reason, not by accident)
FORGERIES = {
    "foreign-key-our-kid": "InvalidSignatureError",
    "foreign-key-own-kid": "not signed by a key of this server",
    "expired": "expired",
    "wrong-audience": "another audience",
    "alg-none": "not signed with RS256",
    "hs256-with-our-public-key": "not signed with RS256",
}
# one route per protocol (and the incident feed, a stream)
REPRESENTATIVES = [next(c for c in CASES if c.operation == op) for op in (
    "log-analytics-query", "kusto-query-v2", "hunting-advanced-query", "hunting-run-hunting-query", "audit-list",
    "incident-events-stream")]  # fmt: skip


@pytest.mark.parametrize("case", REPRESENTATIVES, ids=lambda c: c.operation)
def test_tokens_the_server_did_not_issue_are_401_in_graph_shape(
    client: httpx.Client, platform: Platform, foreign_key: rsa.RSAPrivateKey, case: RouteCase
) -> None:
    genuine = forge("genuine", platform, foreign_key, case.scope)
    control = case.send(client, platform.workspace("a"), {"Authorization": f"Bearer {genuine}"})
    assert control.status_code == 200, control.text
    for how, reason in FORGERIES.items():
        token = forge(how, platform, foreign_key, case.scope)
        response = case.send(client, platform.workspace("a"), {"Authorization": f"Bearer {token}"})
        error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"'), how
        assert token not in response.text + json.dumps(dict(response.headers)), how
        assert_nothing_of_tenant_a(platform, response, sent={platform.workspace("a")})
        assert reason in error["message"], (how, error["message"])
