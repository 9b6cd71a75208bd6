"""Tenant isolation and roles over the routes that address a resource by id (the Graph security
routes of issue #6, and the console's API of issue #8), as one table.

Each row of ``GRAPH_CASES`` says how to call one operation and which of tenant a's resources it
addresses (an alert, an incident, a threat indicator or its external id, a security action, a
subscription, a secure score snapshot, a control profile, an alert provider, an analytics rule named
within the caller's own workspace, a dashboard, a saved query, an incident's task), or none for a
route whose tenant comes from the token alone (lists and creates). ``test_isolation.py`` counts these
rows with its own: a guarded route without a row in either table fails there.

The properties checked:

* the owner (tenant a, app ``all``) reaches its resource (so every refusal below is a refusal);
* tenant b, even with every role, gets ``404 itemNotFound`` for tenant a's resource, the same
  answer byte for byte (request ids and times normalised) as for an id of the same shape that
  exists nowhere, and nothing of tenant a in it; a write b attempts leaves a's resource as it was;
* a task is reached only through its own incident: b naming a's task under b's own incident, under
  a's, or under none gets the same "not found";
* where a resource belongs to the app that made it (tiIndicators: ``OwnedBy``; subscriptions),
  another app of tenant a gets the same "not found";
* a's dashboards and saved queries are shared (a's other apps see them), so b's "not found" is
  tenant isolation, not privacy;
* lists show b none of a's resources, not even when a ``$filter`` names a's id, and
  ``$expand=alerts`` on b's incidents never brings a's alerts; what b creates is b's;
* control profiles have global ids: b reads and changes its own state of a control, never a's;
* a token without the route's role gets 403 and no token 401, in Graph's error shape.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
import pytest

from tests.api.conftest import Platform
from tests.api.test_isolation import (
    ROLES_BY_OPERATION,
    _apps_without,
    assert_graph_error,
    normalised,
    tenant_a_secrets,
)
from tests.notifications.receiver import running_receiver
from watchkeeper.audit import Actor
from watchkeeper.cases import list_alerts, raise_alerts
from watchkeeper.cases.tasks import create_task
from watchkeeper.detections.alerting import AlertDraft
from watchkeeper.detections.library import find_rule, save_rules
from watchkeeper.detections.models import DetectionRule, IncidentConfiguration, RuleTest
from watchkeeper.detections.scheduler import Window
from watchkeeper.directory import ROLES, find_workspace
from watchkeeper.directory import create_app as register_app
from watchkeeper.flows.actions import ActionRequest, Requester, request_action
from watchkeeper.flows.intel import submit_indicators
from watchkeeper.flows.posture import ControlChange, change_control, take_snapshot
from watchkeeper.flows.providers import add_provider
from watchkeeper.notifications import Owner, SubscriptionCreate
from watchkeeper.notifications.service import create_subscription
from watchkeeper.schema.catalog import Catalog
from watchkeeper.workbooks import (
    SavedQueryCreate,
    Viewer,
    create_dashboard,
    create_saved_query,
    parse_document,
)

GRAPH = "https://graph.microsoft.com/.default"
LOG_ANALYTICS = "https://api.loganalytics.io/.default"  # the dashboards' and saved queries' API
SYSTEM = Actor("system", "tests")
NOW = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
TI = "/beta/security/tiIndicators"
ACTIONS = "/beta/security/securityActions"
CONTROLS = "/v1.0/security/secureScoreControlProfiles"
CONTROL = "AuditLoggingEnabled"  # a control whose state tenant a sets (ids are global)
VENDOR = {"provider": "watchkeeper", "vendor": "watchkeeper"}  # a rule alert's legacy vendorInformation
NOT_FOUND = (404, "itemNotFound")
TWIN = "isolation-twin"  # a second app of tenant a holding every role

Body = Callable[[str], Any]


@dataclass(frozen=True)
class GraphCase:
    """One way to call one Graph operation: ``path`` with ``{ref}`` for the resource, ``body(ref)``
    its JSON. ``kind`` is the kind of tenant a's resource ``ref`` names (``None``: the route takes no
    resource; ``lists`` then says what it lists, or it creates). ``refused`` is (status, code)
    tenant b gets for a's resource and for a missing one (``None``: b gets its own view, as for
    control profiles); ``ok`` the owner's status and ``evidence`` what the owner's answer holds
    (the resource's id if not said). ``writes``: the operation changes the resource (the owner's
    call gets a fresh one; b's must change nothing). ``per_app``: the resource is the app's that
    made it, not its tenant's; ``filters``: the list takes ``$filter``. ``scope``: the API the
    route's tokens are for. ``path`` may also name tenant a's incident as ``{a_incident}``."""

    operation: str
    method: str
    path: str
    body: Body | None = None
    kind: str | None = None
    refused: tuple[int, str] | None = NOT_FOUND
    ok: int = 200
    evidence: str | None = None
    writes: bool = False
    per_app: bool = False
    lists: str | None = None
    filters: bool = True
    scope: str = GRAPH

    @property
    def id(self) -> str:
        return self.operation

    def send(self, client: httpx.Client, ref: str, headers: dict[str, str], **params: str) -> httpx.Response:
        payload = {} if self.body is None else {"json": self.body(ref)}
        # the path's own query (``?workspace=``) and ``params`` together (httpx's params replace it)
        path, _, query = self.path.format(ref=ref, **_PARENTS).partition("?")
        merged = dict(parse_qsl(query)) | params
        return client.request(self.method, path, params=merged, headers=headers, **payload)


# ---------------------------------------------------------------------------- how each route is called


def _both(operation: str, method: str, path: str, body: Body | None = None, **case: Any) -> list[GraphCase]:
    """The operation under ``/v1.0`` and ``/beta``."""
    return [GraphCase(operation + suffix, method, prefix + path, body, **case)
            for prefix, suffix in (("/v1.0", ""), ("/beta", "-beta"))]  # fmt: skip


def _later(_ref: str) -> dict[str, str]:
    expires = datetime.now(UTC) + timedelta(days=2)
    return {"expirationDateTime": expires.isoformat().replace("+00:00", "Z")}


def _posted_alert(_ref: str) -> dict[str, Any]:
    return {"providerAlertId": f"isolation-{uuid.uuid4()}", "title": "Posted to a provider", "severity": "High",
            "createdDateTime": "2026-01-06T09:00:00Z", "entities": [{"Type": "host", "HostName": "ws-iso"}]}  # fmt: skip


def _indicator(**extra: Any) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    return {"targetProduct": "Azure Sentinel", "action": "alert", "description": "isolation probe",
            "expirationDateTime": expires, "threatType": "C2", "tlpLevel": "green",
            "domainName": f"probe-{uuid.uuid4().hex[:8]}.example", **extra}  # fmt: skip


def _target(_ref: str) -> dict[str, str]:
    """What every entry of ``updateTiIndicators`` must carry besides its id (Graph's rule)."""
    return {"targetProduct": "Azure Sentinel", "expirationDateTime": _indicator()["expirationDateTime"]}


# ``{a_incident}`` in a row's path: the incident tenant a's seeded tasks are on (set by ``seeds``)
_PARENTS: dict[str, str] = {}
# the notification URL of the receiver that answers the subscription handshake (set by ``_receiver``)
_RECEIVER: dict[str, str] = {}


def _subscription(_ref: str) -> dict[str, Any]:
    return {"resource": "security/alerts_v2", "changeType": "created", "notificationUrl": _RECEIVER["url"],
            "clientState": "b-state", **_later(_ref)}  # fmt: skip


ALERT_CHANGE = {"status": "inProgress", "assignedTo": "mallory@tenant-b.example"}
COMMENT = {"comment": "written by another tenant"}
CONTROL_CHANGE = {"state": "Reviewed", "comment": "b reviewed it", "assignedTo": "b-owner@tenant-b.example",
                  "vendorInformation": {"provider": "SecureScore", "vendor": "Microsoft"}}  # fmt: skip
V2, LEGACY, INCIDENTS = "/security/alerts_v2", "/security/alerts", "/security/incidents"
# a rule by id within the caller's own workspace ``main`` (tenant a's workspace named by b: test_isolation.py)
RULES, MAIN = "/api/rules", "?workspace=main"
DASHBOARDS, SAVED = "/api/dashboards", "/api/savedQueries"
DASHBOARD_BY_B = {"name": "Dashboard by another tenant",
                  "tiles": [{"title": "Logons", "query": "SecurityEvent | count", "visualization": "stat"}]}  # fmt: skip
TASKS, A_TASK = "/api/incidents/{ref}/tasks", "/api/incidents/{a_incident}/tasks/{ref}"
TASK_CHANGE = {"title": "renamed by another tenant", "status": "Completed"}
SUBSCRIPTION, CONTROLS_PATH = "/v1.0/subscriptions/{ref}", "/security/secureScoreControlProfiles"

GRAPH_CASES: list[GraphCase] = [
    # alerts (v2 and legacy) and incidents, addressed by id
    *_both("graph-alerts-v2-get", "GET", V2 + "/{ref}", kind="alert"),
    *_both("graph-alerts-v2-update", "PATCH", V2 + "/{ref}", lambda _: ALERT_CHANGE, kind="alert", writes=True),
    *_both("graph-alerts-v2-comment", "POST", V2 + "/{ref}/comments", lambda _: COMMENT, kind="alert", writes=True,
           evidence="written by another tenant"),
    *_both("graph-alerts-get", "GET", LEGACY + "/{ref}", kind="alert"),
    *_both("graph-alerts-update", "PATCH", LEGACY + "/{ref}", lambda _: {"status": "inProgress", "vendorInformation": VENDOR},
           kind="alert", writes=True, ok=204),
    *_both("graph-incidents-get", "GET", INCIDENTS + "/{ref}", kind="incident"),
    *_both("graph-incidents-alerts", "GET", INCIDENTS + "/{ref}/alerts", kind="incident"),
    *_both("graph-incidents-update", "PATCH", INCIDENTS + "/{ref}", lambda _: {"assignedTo": "mallory@tenant-b.example"},
           kind="incident", writes=True),
    *_both("graph-incidents-comment", "POST", INCIDENTS + "/{ref}/comments", lambda _: COMMENT, kind="incident",
           writes=True, evidence="written by another tenant"),
    # subscriptions: the creating app's
    GraphCase("subscriptions-get", "GET", SUBSCRIPTION, kind="subscription", per_app=True),
    GraphCase("subscriptions-renew", "PATCH", SUBSCRIPTION, _later, kind="subscription", per_app=True, writes=True),
    GraphCase("subscriptions-delete", "DELETE", SUBSCRIPTION, kind="subscription", per_app=True, writes=True, ok=204),
    GraphCase("subscriptions-deliveries", "GET", "/api/subscriptions/{ref}/deliveries", kind="subscription",
              per_app=True, evidence='"value"'),
    # security actions and the alert providers' webhook
    GraphCase("securityActions-get", "GET", ACTIONS + "/{ref}", kind="action"),
    GraphCase("securityActions-cancel", "POST", ACTIONS + "/{ref}/cancelSecurityAction", kind="action", writes=True,
              ok=204),
    GraphCase("providers-post_alerts", "POST", "/api/providers/{ref}/alerts", _posted_alert, kind="provider",
              writes=True, ok=201, evidence='"created"'),
    # analytics rules ("rule-off": a disabled one, for enable)
    GraphCase("rules-get", "GET", RULES + "/{ref}" + MAIN, kind="rule"),
    GraphCase("rules-enable", "POST", RULES + "/{ref}/enable" + MAIN, kind="rule-off", writes=True,
              evidence='"enabled":true'),
    GraphCase("rules-disable", "POST", RULES + "/{ref}/disable" + MAIN, kind="rule", writes=True,
              evidence='"enabled":false'),
    GraphCase("rules-run", "POST", RULES + "/{ref}/run" + MAIN, kind="rule", writes=True,
              evidence='"status":"succeeded"'),
    GraphCase("rules-tests", "GET", RULES + "/{ref}/tests" + MAIN, kind="rule", evidence="a-only rule test"),
    GraphCase("rules-tests-run", "POST", RULES + "/{ref}/tests/run" + MAIN, kind="rule", evidence='"passed":true'),
    # dashboards and saved queries (tenant a's are shared with its whole tenant)
    GraphCase("workbooks-get-dashboard", "GET", DASHBOARDS + "/{ref}", kind="dashboard", scope=LOG_ANALYTICS),
    GraphCase("workbooks-replace-dashboard", "PUT", DASHBOARDS + "/{ref}", lambda _: DASHBOARD_BY_B, kind="dashboard",
              writes=True, scope=LOG_ANALYTICS),
    GraphCase("workbooks-delete-dashboard", "DELETE", DASHBOARDS + "/{ref}", kind="dashboard", writes=True, ok=204,
              scope=LOG_ANALYTICS),
    GraphCase("workbooks-get-saved-query", "GET", SAVED + "/{ref}", kind="saved_query", scope=LOG_ANALYTICS),
    GraphCase("workbooks-change-saved-query", "PUT", SAVED + "/{ref}", lambda _: {"name": "changed by another tenant"},
              kind="saved_query", writes=True, scope=LOG_ANALYTICS),
    GraphCase("workbooks-delete-saved-query", "DELETE", SAVED + "/{ref}", kind="saved_query", writes=True, ok=204,
              scope=LOG_ANALYTICS),
    # an incident's tasks: a's incident, a's task under a's incident (under b's own or none:
    # test_a_task_is_reached_only_through_its_own_incident)
    GraphCase("incident-tasks-list", "GET", TASKS, kind="incident"),
    GraphCase("incident-tasks-create", "POST", TASKS, lambda _: {"title": "added by another tenant"}, kind="incident",
              writes=True, ok=201),
    GraphCase("incident-tasks-update", "PATCH", A_TASK, lambda _: TASK_CHANGE, kind="task", writes=True),
    # secure score: snapshots are the tenant's; control ids are global, each tenant has its own state
    *_both("graph-secure-scores-get", "GET", "/security/secureScores/{ref}", kind="score"),
    *_both("graph-secure-score-controls-get", "GET", CONTROLS_PATH + "/{ref}", kind="control", refused=None),
    *_both("graph-secure-score-controls-update", "PATCH", CONTROLS_PATH + "/{ref}", lambda _: CONTROL_CHANGE,
           kind="control", refused=None, writes=True, ok=204),
    # threat indicators: the submitting app's within its tenant
    GraphCase("tiIndicators-get", "GET", TI + "/{ref}", kind="indicator", per_app=True),
    GraphCase("tiIndicators-patch", "PATCH", TI + "/{ref}", lambda _: {"description": "changed by b"},
              kind="indicator", per_app=True, writes=True, ok=204),
    GraphCase("tiIndicators-delete", "DELETE", TI + "/{ref}", kind="indicator", per_app=True, writes=True, ok=204),
    # the batch actions answer 206 with a result per entry; the entry naming a's indicator is "not found"
    GraphCase("tiIndicators-update", "POST", TI + "/updateTiIndicators",
              lambda ref: {"value": [{"id": ref, "description": "changed by b", **_target(ref)}]},
              kind="indicator", per_app=True, writes=True, refused=(206, "itemNotFound")),
    GraphCase("tiIndicators-deleteMany", "POST", TI + "/deleteTiIndicators", lambda ref: {"value": [ref]},
              kind="indicator", per_app=True, writes=True, refused=(206, "404"), evidence="deleted 1"),
    GraphCase("tiIndicators-deleteByExternalId", "POST", TI + "/deleteTiIndicatorsByExternalId",
              lambda ref: {"value": [ref]}, kind="external", per_app=True, writes=True, refused=(206, "404"),
              evidence="deleted 1"),
    # lists: the token's tenant's (and app's) resources
    *_both("graph-alerts-v2-list", "GET", V2, lists="alert", refused=None),
    *_both("graph-alerts-list", "GET", LEGACY, lists="alert", refused=None),
    *_both("graph-incidents-list", "GET", INCIDENTS, lists="incident", refused=None),
    *_both("graph-secure-scores-list", "GET", "/security/secureScores", lists="score", refused=None),
    *_both("graph-secure-score-controls-list", "GET", CONTROLS_PATH, lists="control", refused=None, filters=False),
    GraphCase("subscriptions-list", "GET", "/v1.0/subscriptions", lists="subscription", refused=None, per_app=True,
              filters=False),
    GraphCase("securityActions-list", "GET", ACTIONS, lists="action", refused=None),
    GraphCase("securityActions-blocklist", "GET", "/api/blocklist", lists="blocked", refused=None, filters=False),
    GraphCase("tiIndicators-list", "GET", TI, lists="indicator", refused=None, per_app=True),
    GraphCase("rules-list", "GET", RULES + MAIN, lists="rule", refused=None, filters=False),
    GraphCase("workbooks-list-dashboards", "GET", DASHBOARDS, lists="dashboard", refused=None, filters=False,
              scope=LOG_ANALYTICS),
    GraphCase("workbooks-list-saved-queries", "GET", SAVED + MAIN, lists="saved_query", refused=None, filters=False,
              scope=LOG_ANALYTICS),
    # creates: what the token's tenant makes is its own
    GraphCase("subscriptions-create", "POST", "/v1.0/subscriptions", _subscription, refused=None, ok=201),
    GraphCase("securityActions-create", "POST", ACTIONS, lambda _: {
        "name": "blockIp", "parameters": [{"name": "IP", "value": "192.0.2.201"}]}, refused=None, ok=201),
    GraphCase("tiIndicators-create", "POST", TI, lambda _: _indicator(), refused=None, ok=201),
    GraphCase("tiIndicators-submit", "POST", TI + "/submitTiIndicators", lambda _: {"value": [_indicator()]},
              refused=None),
    GraphCase("workbooks-create-dashboard", "POST", DASHBOARDS, lambda _: DASHBOARD_BY_B, refused=None, ok=201,
              scope=LOG_ANALYTICS),
    GraphCase("workbooks-create-saved-query", "POST", SAVED + MAIN,
              lambda _: {"name": "b's own query", "query": "SecurityEvent | take 1"}, refused=None, ok=201,
              scope=LOG_ANALYTICS),
]  # fmt: skip
ADDRESSED = [case for case in GRAPH_CASES if case.kind is not None and case.refused is not None]
CONTROL_CASES = [case for case in GRAPH_CASES if case.kind == "control"]
LISTS = [case for case in GRAPH_CASES if case.lists is not None]
CREATES = [case for case in GRAPH_CASES if case.kind is None and case.lists is None]
# where each created resource's id is in a create's answer
_CREATED_ID: dict[str, Callable[[dict[str, Any]], str]] = {
    "subscriptions-create": lambda body: body["id"],
    "securityActions-create": lambda body: body["id"],
    "tiIndicators-create": lambda body: body["id"],
    "tiIndicators-submit": lambda body: body["value"][0]["id"],
    "workbooks-create-dashboard": lambda body: body["id"],
    "workbooks-create-saved-query": lambda body: body["id"],
}
# where the one who made it reads a resource a create made
_READ_BACK = {"subscriptions-create": SUBSCRIPTION, "securityActions-create": ACTIONS + "/{ref}",
              "tiIndicators-create": TI + "/{ref}", "tiIndicators-submit": TI + "/{ref}",
              "workbooks-create-dashboard": DASHBOARDS + "/{ref}", "workbooks-create-saved-query": SAVED + "/{ref}"}  # fmt: skip


# ---------------------------------------------------------------------------- tenant a's resources


@dataclass
class Seeds:
    """One resource of each kind in tenant a (its ids by kind), the values only tenant a has, and
    fresh resources on demand for the owner's writes."""

    platform: Platform
    ids: dict[str, str]
    values: list[str]
    b_ids: dict[str, str]  # tenant b's own alert and incident
    made: list[str] = field(default_factory=list)  # ids of the fresh resources handed out

    def fresh(self, kind: str) -> str:
        """A new resource of ``kind`` in tenant a (a write by its owner changes only that one)."""
        if kind not in _MAKERS or kind == "control":  # global ids, and a's provider takes many posts
            return _MAKERS[kind](self.platform) if kind in _MAKERS else self.ids[kind]
        self.made.append(_MAKERS[kind](self.platform))
        return self.made[-1]

    def secrets(self) -> list[str]:
        """What b must never see of tenant a (control ids are global: every tenant has them)."""
        ids = [ref for kind, ref in self.ids.items() if kind != "control"]
        return list(dict.fromkeys([*tenant_a_secrets(self.platform, ()), *ids, *self.values, *self.made,
                                   *_A_BLOCKED]))  # fmt: skip


def _app_actor(platform: Platform, app: str = "all") -> Actor:
    return Actor("app", platform.tenants["a"].apps[app].client_id, platform.tenants["a"].id)


def _raise_alert(platform: Platform, tenant: str = "a", title: str = "a-only alert title") -> tuple[str, str]:
    """An alert of a rule that makes incidents in the tenant's main workspace: (alert id, incident id)."""
    rule = DetectionRule(rule_id="isolation-g9", name="isolation rule g9", source_format="sentinel",
                         query="SecurityEvent", incident=IncidentConfiguration(create_incident=True))  # fmt: skip
    draft = AlertDraft(rule=rule, window=Window(NOW - timedelta(hours=1), NOW), title=title,
                       description=f"{tenant}-only description", severity="High", rows=1, tactics=("Execution",),
                       techniques=("T1059",), entities=({"Type": "host", "HostName": f"{tenant}-only-host"},),
                       first_event=NOW - timedelta(minutes=30), last_event=NOW - timedelta(minutes=5))  # fmt: skip
    with platform.runtime.database.session() as session:
        workspace = find_workspace(session, tenant_id=platform.tenants[tenant].id, ref="main")
        assert workspace is not None
        save_rules(
            session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, rules=[rule], actor=SYSTEM
        )
        stored = find_rule(
            session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, ref=rule.rule_id
        )
        assert stored is not None
        (alert,) = raise_alerts(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id,
                                rule_ref=stored.id, drafts=[draft], actor=SYSTEM, now=NOW)  # fmt: skip
    assert alert.incident_id is not None
    return alert.id, alert.incident_id


def _submit(platform: Platform, **extra: Any) -> Any:
    a = platform.tenants["a"]
    (made,) = submit_indicators(platform.runtime, _app_actor(platform), a.id, a.apps["all"].client_id,
                                [_indicator(**extra)])  # fmt: skip
    assert not isinstance(made, Exception), made
    return made


# the addresses tenant a's blockIp actions put on its blocklist
_A_BLOCKED: list[str] = []


def _block(platform: Platform) -> str:
    address = f"100.79.{random.randint(0, 255)}.{random.randint(1, 254)}"
    _A_BLOCKED.append(address)
    who = Requester(_app_actor(platform), _object_id(platform, "a", "all"))
    return request_action(platform.runtime, who, ActionRequest("blockIp", [("IP", address)])).id


def _object_id(platform: Platform, tenant: str, app: str) -> str:
    claims = jwt.decode(platform.token(tenant, app, GRAPH), options={"verify_signature": False})
    return str(claims["oid"])


def _subscribe(platform: Platform) -> str:
    """A subscription of tenant a's ``all`` app, stored without the handshake. Its filter selects no
    incident, so the incidents this module changes queue no deliveries to its unreachable receiver
    (whose retries would only add background writes to the shared state database)."""
    a = platform.tenants["a"]
    owner = Owner(a.id, a.apps["all"].client_id, _object_id(platform, "a", "all"))
    spec = SubscriptionCreate.model_validate({
        "resource": "security/incidents?$filter=assignedTo eq 'a-only-nobody'", "changeType": "updated",
        "clientState": "a-only-client-state",
        "notificationUrl": "https://a-only-receiver.example/hooks", **_later("")})  # fmt: skip
    with platform.runtime.database.session() as session:
        return create_subscription(session, owner=owner, spec=spec, actor=_app_actor(platform)).id


def _a_viewer(platform: Platform) -> Viewer:
    a = platform.tenants["a"]
    return Viewer(a.id, a.apps["all"].client_id, False, _app_actor(platform))


def _dashboard(platform: Platform) -> str:
    """A dashboard of tenant a's ``all`` app, shared with its whole tenant."""
    tile = {"title": "a-only tile", "query": "SecurityEvent | count", "visualization": "stat"}
    document = parse_document({"name": "a-only dashboard", "tiles": [tile]}, Catalog.sentinel())
    with platform.runtime.database.session() as session:
        return create_dashboard(session, viewer=_a_viewer(platform), document=document, shared=True).id


def _saved_query(platform: Platform) -> str:
    """A saved query of tenant a's main workspace, shared with its whole tenant."""
    body = SavedQueryCreate(name="a-only saved query", query="SecurityEvent | where Computer == 'a-only-query-host'",
                            shared=True)  # fmt: skip
    with platform.runtime.database.session() as session:
        return create_saved_query(session, viewer=_a_viewer(platform), workspace_id=platform.workspace("a"),
                                  body=body).id  # fmt: skip


def _analytics_rule(platform: Platform, *, enabled: bool = True) -> str:
    """A rule in tenant a's main workspace that finds nothing, with one test: its library id."""
    probe = RuleTest(
        name="a-only rule test", events=(("SecurityEvent", ({"Computer": "x"},)),), expect_alerts=0
    )
    rule = DetectionRule(rule_id=f"isolation-{uuid.uuid4().hex[:12]}", name="a-only analytics rule",
                         source_format="sentinel", query="SecurityEvent | where Computer == 'a-only-rule-host'",
                         enabled=enabled, tests=(probe,))  # fmt: skip
    a, workspace = platform.tenants["a"].id, platform.workspace("a")
    with platform.runtime.database.session() as session:
        save_rules(session, tenant_id=a, workspace_id=workspace, rules=[rule], actor=SYSTEM)
        stored = find_rule(session, tenant_id=a, workspace_id=workspace, ref=rule.rule_id)
    assert stored is not None
    return stored.id


def _task(platform: Platform) -> str:
    """A task on tenant a's seeded incident (``{a_incident}``)."""
    with platform.runtime.database.session() as session:
        made = create_task(session, tenant_id=platform.tenants["a"].id, ref=_PARENTS["a_incident"],
                           title="a-only task title", actor=_app_actor(platform))  # fmt: skip
    assert made is not None
    return made.id


_MAKERS: dict[str, Callable[[Platform], str]] = {
    "alert": lambda platform: _raise_alert(platform)[0],
    "incident": lambda platform: _raise_alert(platform)[1],
    "indicator": lambda platform: _submit(platform).id,
    "external": lambda platform: _submit(platform, externalId=f"a-only-{uuid.uuid4()}").external_id,
    "action": _block,
    "subscription": _subscribe,
    "control": lambda _platform: "NetworkLogsCollected",  # the owner's own change, away from CONTROL
    "rule": _analytics_rule,
    "rule-off": lambda platform: _analytics_rule(platform, enabled=False),
    "dashboard": _dashboard,
    "saved_query": _saved_query,
    "task": _task,
}


@pytest.fixture(scope="module")
def seeds(platform: Platform) -> Seeds:
    a, runtime = platform.tenants["a"], platform.runtime
    with runtime.database.session() as session:
        a.apps[TWIN] = register_app(session, tenant_id=a.id, name=TWIN, roles=sorted(ROLES), actor=SYSTEM)
        workspace = find_workspace(session, tenant_id=a.id, ref="main")
    assert workspace is not None
    alert, incident = _raise_alert(platform)
    _PARENTS["a_incident"] = incident
    indicator = _submit(platform, externalId="a-only-external-id", url="http://a-only-indicator.example/x")
    action = _block(platform)
    provider = add_provider(runtime, SYSTEM, workspace, name="isolation-hook", kind="webhook", settings={},
                            secrets={}).name  # fmt: skip
    change_control(runtime, _app_actor(platform), CONTROL,
                   ControlChange(state="Ignored", assigned_to="a-only-owner@tenant-a.example",
                                 comment="a-only control comment"))  # fmt: skip
    score = take_snapshot(runtime, _app_actor(platform), a.id).id
    ids = {"alert": alert, "incident": incident, "indicator": indicator.id, "external": "a-only-external-id",
           "action": action, "subscription": _subscribe(platform), "score": score, "provider": provider,
           "control": CONTROL, "task": _task(platform), "rule": _analytics_rule(platform),
           "rule-off": _analytics_rule(platform, enabled=False), "dashboard": _dashboard(platform),
           "saved_query": _saved_query(platform)}  # fmt: skip
    values = ["a-only alert title", "a-only description", "a-only-host", "a-only-indicator.example",
              "a-only-client-state", "a-only-receiver.example", "a-only-owner@tenant-a.example",
              "a-only control comment", "a-only task title", "a-only-rule-host", "a-only analytics rule",
              "a-only dashboard", "a-only tile", "a-only saved query", "a-only-query-host"]  # fmt: skip
    b_alert, b_incident = _raise_alert(platform, "b", "b's own alert")
    return Seeds(platform, ids, values, {"alert": b_alert, "incident": b_incident})


@pytest.fixture(scope="module", autouse=True)
def _receiver(platform: Platform) -> Iterator[None]:
    """A receiver on 127.0.0.1 that answers the subscription handshake (http to loopback allowed)."""
    settings = platform.runtime.settings
    before, settings.notification_http_loopback = settings.notification_http_loopback, True
    with running_receiver() as receiver:
        _RECEIVER["url"] = receiver.url
        yield
    settings.notification_http_loopback = before


# ---------------------------------------------------------------------------- answers compared


def _outcome(response: httpx.Response) -> tuple[int, str]:
    """(status, error code); for a batch, its first entry's code."""
    body = response.json()
    if "error" in body:
        return response.status_code, body["error"]["code"]
    entry = body["value"][0]
    return response.status_code, str(entry["error"]["code"] if "error" in entry else entry["code"])


def _leaks(seeds: Seeds, response: httpx.Response, sent: str = "") -> list[str]:
    """Tenant a's values in the answer (its text and headers), once what the caller sent is taken out."""
    seen = response.text + json.dumps(dict(response.headers))
    seen = seen.replace(sent, "<sent>") if sent else seen
    return [secret for secret in seeds.secrets() if secret in seen]


def _nowhere(kind: str, ref: str) -> str:
    """An id of the same shape as ``ref`` that names nothing."""
    if kind == "score":  # {tenantId}_{yyyy-mm-dd}
        return f"{uuid.uuid4()}_{ref.rsplit('_', 1)[1]}"
    if kind in ("provider", "external"):
        return "".join(random.choices(string.ascii_lowercase, k=len(ref)))
    return str(uuid.uuid4())


def _as(platform: Platform, tenant: str, app: str = "all", scope: str = GRAPH) -> dict[str, str]:
    return platform.headers(tenant, app, scope)


# kind -> where the owner reads it, and the API of that route's tokens
_VIEWS = {"alert": ("/v1.0/security/alerts_v2/{ref}", GRAPH),
          "incident": ("/v1.0/security/incidents/{ref}?$expand=alerts", GRAPH), "indicator": (TI + "/{ref}", GRAPH),
          "action": (ACTIONS + "/{ref}", GRAPH), "subscription": (SUBSCRIPTION, GRAPH),
          "control": (CONTROLS + "/{ref}", GRAPH), "score": ("/v1.0/security/secureScores/{ref}", GRAPH),
          "rule": (RULES + "/{ref}" + MAIN, GRAPH), "rule-off": (RULES + "/{ref}" + MAIN, GRAPH),
          "dashboard": (DASHBOARDS + "/{ref}", LOG_ANALYTICS), "saved_query": (SAVED + "/{ref}", LOG_ANALYTICS),
          "task": ("/api/incidents/{a_incident}/tasks", GRAPH)}  # fmt: skip
# what else the owner looks at besides the resource: its blocklist, an incident's tasks
_ALSO = {"action": "/api/blocklist", "incident": TASKS}


def _rule_view(answer: httpx.Response) -> str:
    """A rule as its owner sees it, without what the scheduler's own runs of it change meanwhile."""
    rule = answer.json()
    for moving in ("lastRun", "last24Hours", "failingStreak"):
        rule.pop(moving)
    rule["latestRuns"] = [run for run in rule["latestRuns"] if run["kind"] != "scheduled"]
    return json.dumps(rule)


def _view(client: httpx.Client, seeds: Seeds, kind: str, ref: str) -> str:
    """The owner's view of one of tenant a's resources (compared before and after another's write)."""
    platform, owner = seeds.platform, _as(seeds.platform, "a")
    if kind == "provider":  # what was posted to a's provider
        with platform.runtime.database.session() as session:
            posted = [a.id for a in list_alerts(session, tenant_id=platform.tenants["a"].id, limit=100_000)
                      if str(a.properties.get("providerAlertId", "")).startswith("isolation-")]  # fmt: skip
        return json.dumps(sorted(posted))
    if kind == "external":
        return client.get(TI, params={"$filter": f"externalId eq '{ref}'"}, headers=owner).text
    path, scope = _VIEWS[kind]
    answer = client.get(path.format(ref=ref, **_PARENTS), headers=_as(platform, "a", scope=scope))
    assert answer.status_code == 200, answer.text
    also = client.get(_ALSO[kind].format(ref=ref), headers=owner).text if kind in _ALSO else ""
    return (_rule_view(answer) if kind.startswith("rule") else answer.text) + also


# ---------------------------------------------------------------------------- 1. the owner, then tenant b


@pytest.mark.parametrize("case", [c for c in GRAPH_CASES if c.kind is not None], ids=lambda c: c.id)
def test_the_owner_reaches_its_resource(client: httpx.Client, seeds: Seeds, case: GraphCase) -> None:
    assert case.kind is not None
    ref = seeds.fresh(case.kind) if case.writes else seeds.ids[case.kind]
    response = case.send(client, ref, _as(seeds.platform, "a", scope=case.scope))
    assert response.status_code == case.ok, response.text
    if case.ok != 204:
        assert (case.evidence or ref) in response.text


@pytest.mark.parametrize("app", ["all", "nobody"])
@pytest.mark.parametrize("case", ADDRESSED, ids=lambda c: c.id)
def test_another_tenant_learns_nothing_not_even_existence(
    client: httpx.Client, seeds: Seeds, case: GraphCase, app: str
) -> None:
    assert case.refused is not None
    expected = case.refused if app == "all" else (403, "accessDenied")
    _refused_alike(client, seeds, case, _as(seeds.platform, "b", app, case.scope), expected)


@pytest.mark.parametrize("case", [c for c in ADDRESSED if c.per_app], ids=lambda c: c.id)
def test_another_app_of_the_same_tenant_gets_not_found_too(
    client: httpx.Client, seeds: Seeds, case: GraphCase
) -> None:
    assert case.refused is not None
    _refused_alike(client, seeds, case, _as(seeds.platform, "a", TWIN, case.scope), case.refused)


def _refused_alike(
    client: httpx.Client, seeds: Seeds, case: GraphCase, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    """The caller gets ``expected`` for tenant a's resource, exactly as for one that exists nowhere,
    learns nothing of tenant a, and a's resource is as it was."""
    assert case.kind is not None
    theirs = seeds.ids[case.kind]
    nowhere = _nowhere(case.kind, theirs)
    before = _view(client, seeds, case.kind, theirs)
    answer, missing = case.send(client, theirs, headers), case.send(client, nowhere, headers)
    assert _outcome(answer) == expected, answer.text
    assert normalised(answer, theirs) == normalised(missing, nowhere)
    assert _leaks(seeds, answer, theirs) == []
    assert _view(client, seeds, case.kind, theirs) == before, "another's attempt changed the resource"


def test_a_task_is_reached_only_through_its_own_incident(client: httpx.Client, seeds: Seeds) -> None:
    """b naming a's task under b's own incident (one b may change), under a's incident or under none
    gets what a task that exists nowhere gets, and a's task stays as it was."""
    platform, task, own_incident = seeds.platform, seeds.ids["task"], seeds.b_ids["incident"]

    def change(incident: str, ref: str) -> httpx.Response:
        return client.patch(
            f"/api/incidents/{incident}/tasks/{ref}", json=TASK_CHANGE, headers=_as(platform, "b")
        )

    before, nowhere = _view(client, seeds, "task", task), str(uuid.uuid4())
    missing = normalised(change(own_incident, nowhere), nowhere)
    for incident in (own_incident, seeds.ids["incident"], str(uuid.uuid4())):
        answer = change(incident, task)
        assert _outcome(answer) == NOT_FOUND, answer.text
        assert normalised(answer, task) == missing
        assert _leaks(seeds, answer, task) == []
    assert _view(client, seeds, "task", task) == before, "another's attempt changed the task"
    # b's own task under b's own incident does change: the refusals above are about whose task it is
    made = client.post(
        f"/api/incidents/{own_incident}/tasks", json={"title": "b's task"}, headers=_as(platform, "b")
    )
    assert made.status_code == 201, made.text
    changed = change(own_incident, made.json()["id"])
    assert (changed.status_code, changed.json()["status"]) == (200, "Completed"), changed.text


@pytest.mark.parametrize("kind", ["dashboard", "saved_query"])
def test_what_tenant_a_shares_stays_within_tenant_a(client: httpx.Client, seeds: Seeds, kind: str) -> None:
    """Another app of tenant a reads a's shared dashboard and saved query: b's "not found" for them
    comes from the tenant boundary, not from their being private."""
    path, scope = _VIEWS[kind]
    where = path.format(ref=seeds.ids[kind])
    shared = client.get(where, headers=_as(seeds.platform, "a", TWIN, scope))
    assert shared.status_code == 200, shared.text
    assert seeds.ids[kind] in shared.text
    assert _outcome(client.get(where, headers=_as(seeds.platform, "b", "all", scope))) == NOT_FOUND


# ---------------------------------------------------------------------------- 2. global ids: control profiles


@pytest.mark.parametrize("case", CONTROL_CASES, ids=lambda c: c.id)
def test_a_control_profile_is_each_tenants_own(client: httpx.Client, seeds: Seeds, case: GraphCase) -> None:
    platform, control = seeds.platform, seeds.ids["control"]
    before = _view(client, seeds, "control", control)
    assert "a-only control comment" in before
    answer = case.send(client, control, _as(platform, "b"))
    assert answer.status_code == case.ok, answer.text
    assert _leaks(seeds, answer) == []
    theirs = client.get(f"{CONTROLS}/{control}", headers=_as(platform, "b"))
    assert theirs.json()["azureTenantId"] == platform.tenants["b"].id
    assert _leaks(seeds, theirs) == []
    if case.writes:  # b's change is b's
        assert theirs.json()["controlStateUpdates"][-1]["comment"] == "b reviewed it"
    assert _view(client, seeds, "control", control) == before


# ---------------------------------------------------------------------------- 3. lists and creates


def _listed_evidence(seeds: Seeds, kind: str) -> str:
    return {"blocked": _A_BLOCKED[0], "control": "a-only control comment"}.get(kind) or seeds.ids[kind]


@pytest.mark.parametrize("case", LISTS, ids=lambda c: c.id)
def test_a_list_shows_another_tenant_none_of_a_s_resources(
    client: httpx.Client, seeds: Seeds, case: GraphCase
) -> None:
    assert case.lists is not None
    platform, evidence = seeds.platform, _listed_evidence(seeds, case.lists)
    by_id = {"$filter": f"id eq '{seeds.ids.get(case.lists)}'"} if case.filters else {}
    mine = case.send(client, "", _as(platform, "a", scope=case.scope), **by_id)
    assert mine.status_code == 200, mine.text
    assert evidence in mine.text
    others = [("b", "all"), ("a", TWIN)] if case.per_app else [("b", "all")]
    for tenant, app in others:
        listed = case.send(client, "", _as(platform, tenant, app, case.scope))
        assert listed.status_code == 200, listed.text
        assert evidence not in listed.text
        if tenant == "b":
            assert _leaks(seeds, listed) == []
        if case.filters:
            named = case.send(client, "", _as(platform, tenant, app, case.scope), **by_id)
            assert (named.status_code, named.json()["value"]) == (200, []), named.text


@pytest.mark.parametrize("path", ["/v1.0/security/incidents", "/beta/security/incidents"])
def test_expanding_another_tenants_incidents_never_brings_a_s_alerts(
    client: httpx.Client, seeds: Seeds, path: str
) -> None:
    platform, b = seeds.platform, _as(seeds.platform, "b")
    listed = client.get(path, params={"$expand": "alerts", "$top": "1000"}, headers=b)
    assert listed.status_code == 200, listed.text
    assert seeds.b_ids["alert"] in listed.text  # b's own alerts are expanded
    assert _leaks(seeds, listed) == []
    named = client.get(
        path, params={"$expand": "alerts", "$filter": f"id eq '{seeds.ids['incident']}'"}, headers=b
    )
    assert (named.status_code, named.json()["value"]) == (200, [])
    own = client.get(f"{path}/{seeds.b_ids['incident']}", params={"$expand": "alerts"}, headers=b)
    assert [a["id"] for a in own.json()["alerts"]] == [seeds.b_ids["alert"]]
    assert _leaks(seeds, own) == []
    assert platform.tenants["b"].id in own.text


@pytest.mark.parametrize("case", CREATES, ids=lambda c: c.id)
def test_what_another_tenant_creates_is_its_own(client: httpx.Client, seeds: Seeds, case: GraphCase) -> None:
    platform = seeds.platform
    made = case.send(client, "", _as(platform, "b", scope=case.scope))
    assert made.status_code == case.ok, made.text
    assert _leaks(seeds, made) == []
    created = _CREATED_ID[case.operation](made.json())
    where = _READ_BACK[case.operation].format(ref=created)
    assert client.get(where, headers=_as(platform, "b", scope=case.scope)).status_code == 200
    hidden = client.get(where, headers=_as(platform, "a", scope=case.scope))
    assert (hidden.status_code, hidden.json()["error"]["code"]) == NOT_FOUND


# ---------------------------------------------------------------------------- 4. roles


FIRST_PER_ROUTE = list({case.operation: case for case in reversed(GRAPH_CASES)}.values())


def _ref(seeds: Seeds, case: GraphCase) -> str:
    return seeds.ids[case.kind] if case.kind is not None else ""


@pytest.mark.parametrize("case", FIRST_PER_ROUTE, ids=lambda c: c.operation)
def test_a_token_without_the_role_is_refused(client: httpx.Client, seeds: Seeds, case: GraphCase) -> None:
    needed = ROLES_BY_OPERATION[case.operation]
    assert needed, case.operation
    assert "nobody" in _apps_without(needed)
    ref = _ref(seeds, case)
    before = _view(client, seeds, case.kind, ref) if case.writes and case.kind else ""
    for app in _apps_without(needed):
        response = case.send(client, ref, _as(seeds.platform, "a", app, case.scope))
        error = assert_graph_error(response, 403, "accessDenied")
        assert all(role in error["message"] for role in needed), error["message"]
        assert _leaks(seeds, response, ref) == []
    assert (_view(client, seeds, case.kind, ref) if case.writes and case.kind else "") == before


@pytest.mark.parametrize("case", FIRST_PER_ROUTE, ids=lambda c: c.operation)
def test_no_token_is_401_with_a_bearer_challenge(client: httpx.Client, seeds: Seeds, case: GraphCase) -> None:
    response = case.send(client, _ref(seeds, case), {})
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert error["message"]
    assert _leaks(seeds, response, _ref(seeds, case)) == []
