"""Graph's alerts under ``/v1.0`` and ``/beta`` (``../shared/specs/graph-security-api.md`` sections
0 to 3): ``security/alerts_v2`` (list with OData options, get, PATCH of status, assignedTo,
classification and determination -> 200 with the alert, ``POST .../comments`` -> 200 with the
alert's comments; roles ``SecurityAlert.Read.All`` / ``SecurityAlert.ReadWrite.All``) and the
legacy ``security/alerts`` (list with ``$top`` at most 1000 and ``$skip`` at most 500, get, PATCH
that must name the alert's ``vendorInformation`` provider and vendor -> 204, or 200 with the alert
under ``Prefer: return=representation``; roles ``SecurityEvents.Read.All`` /
``SecurityEvents.ReadWrite.All``).

Alerts are the caller's tenant's: another tenant's alert is ``itemNotFound``, as a missing one.
Every change and comment goes through the cases flows: audited, and mirrored to the workspace's
``SecurityAlert`` table. Errors answer in Graph's shape.

Legacy PATCH: ``status`` (``newAlert``, ``inProgress``, ``resolved``), ``feedback``
(``truePositive``, ``falsePositive``, ``benignPositive``, ``unknown``: the alert's classification),
``assignedTo``, and ``comments`` (those not on the alert yet are added as comments) are stored;
``closedDateTime`` is accepted but the server records when an alert is resolved itself; ``tags``
are not stored and are refused with 400.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for, request_origin
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.api.protocols.graph_alerts import (
    AlertContext,
    alert_json,
    comment_json,
    legacy_alert_json,
    legacy_vendor,
)
from watchkeeper.api.protocols.odata import collection_body, context_url, project, query_params
from watchkeeper.cases import AlertRead, find_alert
from watchkeeper.cases.queries import (
    ALERT_FIELDS,
    LEGACY_ALERT_FIELDS,
    alert_comments,
    alerts_page,
    rule_kinds,
)
from watchkeeper.directory import WorkspaceRead, find_workspace
from watchkeeper.errors import InvalidRequestError, NotFoundError
from watchkeeper.flows.cases import change_alert, comment_on_alert
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime
from watchkeeper.state.odata import parse_options

__all__ = ["JsonBody", "context_for", "late_members", "router", "versions"]

router = protocol_router(GraphErrors(), tags=["graph"])
AlertReader = Annotated[Principal, Depends(RoleCheck("SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All",
                                                     api="graph"))]  # fmt: skip
AlertWriter = Annotated[Principal, Depends(RoleCheck("SecurityAlert.ReadWrite.All", api="graph"))]
EventsReader = Annotated[Principal, Depends(RoleCheck("SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All",
                                                      api="graph"))]  # fmt: skip
EventsWriter = Annotated[Principal, Depends(RoleCheck("SecurityEvents.ReadWrite.All", api="graph"))]
JsonBody = Annotated[Any, Body()]

LEGACY_MAX_TOP, LEGACY_MAX_SKIP = 1000, 500
_LEGACY_EDITABLE = (
    "assignedTo",
    "closedDateTime",
    "comments",
    "feedback",
    "status",
    "tags",
    "vendorInformation",
)
_LEGACY_STATUS = {"newalert": "new", "inprogress": "inProgress", "resolved": "resolved"}
_FEEDBACK = {"truepositive": "truePositive", "falsepositive": "falsePositive",
             "benignpositive": "informationalExpectedActivity", "unknown": "unknown"}  # fmt: skip


def versions(
    method: str, path: str, name: str, *, on: APIRouter = router
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a handler on ``on`` at ``/v1.0{path}`` and ``/beta{path}`` (operation ids ``graph-{name}`` and
    ``graph-{name}-beta``): Graph serves these resources under both versions."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        for prefix, suffix in (("/v1.0", ""), ("/beta", "-beta")):
            router.add_api_route(
                f"{prefix}{path}", handler, methods=[method], operation_id=f"graph-{name}{suffix}"
            )
        return handler

    return register


def late_members(request: Request) -> bool:
    """Whether the caller asked for evolvable enum members (``Prefer: include-unknown-enum-members``)."""
    return "include-unknown-enum-members" in _preferences(request)


def _preferences(request: Request) -> set[str]:
    return {p.strip().lower() for h in request.headers.getlist("prefer") for p in h.split(",")}


def context_for(runtime: Runtime, request: Request, alerts: list[AlertRead]) -> AlertContext:
    """What the Graph shapes of ``alerts`` need (their rules' kinds, their comments)."""
    with runtime.database.reading() as session:
        kinds = rule_kinds(session, [a.rule_ref for a in alerts])
        comments = alert_comments(session, [a.id for a in alerts])
        session.expunge_all()
    return AlertContext(origin=request_origin(request), late_members=late_members(request), rule_kinds=kinds,
                        comments=comments)  # fmt: skip


def _alert(runtime: Runtime, tenant_id: str, alert_id: str) -> tuple[AlertRead, WorkspaceRead]:
    with runtime.database.reading() as session:
        found = find_alert(session, tenant_id=tenant_id, alert_id=alert_id)
        workspace = find_workspace(session, tenant_id=tenant_id, ref=found.workspace_id) if found else None
    if found is None or workspace is None:
        raise NotFoundError("alert", alert_id)
    return found, workspace


def _one(
    runtime: Runtime, request: Request, alert: AlertRead, shape: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    return shape(alert, context_for(runtime, request, [alert]))


def _list(runtime: Runtime, request: Request, principal: Principal, *, legacy: bool) -> dict[str, Any]:
    fields = LEGACY_ALERT_FIELDS if legacy else ALERT_FIELDS
    query = parse_options(query_params(request), fields=fields, max_top=LEGACY_MAX_TOP if legacy else 1000,
                          max_skip=LEGACY_MAX_SKIP if legacy else None)  # fmt: skip
    with runtime.database.reading() as session:
        alerts, page = alerts_page(session, tenant_id=principal.tenant_id, query=query, fields=fields)
    context = context_for(runtime, request, alerts)
    shape = legacy_alert_json if legacy else alert_json
    items = [shape(a, context) for a in alerts]
    return collection_body(request, items, page, context="security/alerts" if legacy else "security/alerts_v2",
                           select=query.select)  # fmt: skip


# ---------------------------------------------------------------------------- alerts_v2


@versions("GET", "/security/alerts_v2", "alerts-v2-list")
def list_alerts_v2(request: Request, runtime: RuntimeDep, principal: AlertReader) -> dict[str, Any]:
    """The tenant's alerts (``security.alert``), newest first, with OData options."""
    return _list(runtime, request, principal, legacy=False)


@versions("GET", "/security/alerts_v2/{alert_id}", "alerts-v2-get")
def get_alert_v2(
    request: Request, runtime: RuntimeDep, principal: AlertReader, alert_id: str
) -> dict[str, Any]:
    """One alert; ``$select`` picks its properties."""
    select = parse_options(_select_only(request), fields=ALERT_FIELDS).select
    alert, _ = _alert(runtime, principal.tenant_id, alert_id)
    return project(_one(runtime, request, alert, alert_json), select)


def _select_only(request: Request) -> dict[str, str]:
    options = query_params(request)
    extra = sorted(set(options) - {"$select"})
    if extra:
        raise InvalidRequestError(f"query option {extra[0]} does not apply to a single item; $select does")
    return options


@versions("PATCH", "/security/alerts_v2/{alert_id}", "alerts-v2-update")
def update_alert_v2(
    request: Request, runtime: RuntimeDep, principal: AlertWriter, alert_id: str, body: JsonBody
) -> dict[str, Any]:
    """Change status, assignedTo, classification and/or determination; 200 with the alert."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object of alert properties")
    changes = {k: v for k, v in body.items() if not k.startswith("@odata.")}
    if not all(v is None or isinstance(v, str) for v in changes.values()):
        raise InvalidRequestError("status, assignedTo, classification and determination take strings")
    _, workspace = _alert(runtime, principal.tenant_id, alert_id)
    changed = change_alert(runtime, actor_for(principal, request), workspace, alert_id, changes)
    if changed is None:
        raise NotFoundError("alert", alert_id)
    return _one(runtime, request, changed, alert_json)


@versions("POST", "/security/alerts_v2/{alert_id}/comments", "alerts-v2-comment")
def comment_alert_v2(
    request: Request, runtime: RuntimeDep, principal: AlertWriter, alert_id: str, body: JsonBody
) -> JSONResponse:
    """Add a comment (``{"comment": "..."}``; the SDK sends a one-item list); 200 with the alert's
    comments as a collection of ``alertComment``."""
    texts = _comment_texts(body)
    alert, workspace = _alert(runtime, principal.tenant_id, alert_id)
    for text in texts:
        comment_on_alert(runtime, actor_for(principal, request), workspace, alert.id, text)
    comments = context_for(runtime, request, [alert]).comments.get(alert.id, [])
    context = context_url(request, "Collection(microsoft.graph.security.alertComment)")
    return JSONResponse({"@odata.context": context, "value": [comment_json(c) for c in comments]})


def _comment_texts(body: Any) -> list[str]:
    items = body if isinstance(body, list) else [body]
    texts = [i.get("comment") for i in items if isinstance(i, dict)]
    if not items or len(texts) != len(items) or not all(isinstance(t, str) for t in texts):
        raise InvalidRequestError('the body must be {"comment": "..."} (or a list of them)')
    return [str(t) for t in texts]


# ---------------------------------------------------------------------------- legacy alerts


@versions("GET", "/security/alerts", "alerts-list")
def list_legacy_alerts(request: Request, runtime: RuntimeDep, principal: EventsReader) -> dict[str, Any]:
    """The tenant's alerts in the legacy ``alert`` schema; ``$top`` at most 1000, ``$skip`` at most 500."""
    return _list(runtime, request, principal, legacy=True)


@versions("GET", "/security/alerts/{alert_id}", "alerts-get")
def get_legacy_alert(
    request: Request, runtime: RuntimeDep, principal: EventsReader, alert_id: str
) -> dict[str, Any]:
    """One alert in the legacy schema."""
    select = parse_options(_select_only(request), fields=LEGACY_ALERT_FIELDS).select
    alert, _ = _alert(runtime, principal.tenant_id, alert_id)
    return project(_one(runtime, request, alert, legacy_alert_json), select)


@versions("PATCH", "/security/alerts/{alert_id}", "alerts-update")
def update_legacy_alert(
    request: Request, runtime: RuntimeDep, principal: EventsWriter, alert_id: str, body: JsonBody
) -> Response:
    """Change an alert through the legacy schema (``vendorInformation`` provider and vendor required);
    204, or 200 with the alert when the caller prefers ``return=representation``."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object of alert properties")
    alert, workspace = _alert(runtime, principal.tenant_id, alert_id)
    _check_vendor(body.get("vendorInformation"), legacy_vendor(alert))
    changes, comments = _legacy_changes(body, alert, context_for(runtime, request, [alert]))
    actor = actor_for(principal, request)
    for text in comments:
        comment_on_alert(runtime, actor, workspace, alert.id, text)
    changed = change_alert(runtime, actor, workspace, alert.id, changes) if changes else None
    if "return=representation" not in _preferences(request):
        return Response(status_code=204)
    latest, _ = _alert(runtime, principal.tenant_id, alert_id) if changed is None else (changed, workspace)
    return JSONResponse(_one(runtime, request, latest, legacy_alert_json))


def _check_vendor(given: Any, expected: Mapping[str, Any]) -> None:
    if not isinstance(given, dict) or not given.get("provider") or not given.get("vendor"):
        raise InvalidRequestError(
            "a legacy alert update must include vendorInformation with provider and vendor"
        )
    for key in ("provider", "vendor"):
        if str(given[key]).lower() != str(expected[key]).lower():
            raise InvalidRequestError(f"vendorInformation.{key} {given[key]!r} is not this alert's "
                                      f"({expected[key]!r})")  # fmt: skip


def _legacy_changes(
    body: Mapping[str, Any], alert: AlertRead, context: AlertContext
) -> tuple[dict[str, str | None], list[str]]:
    """(changes for the alert, comments to add) from a legacy PATCH body."""
    unknown = sorted(k for k in body if k not in _LEGACY_EDITABLE and not k.startswith("@odata."))
    if unknown or "tags" in body:
        name = unknown[0] if unknown else "tags"
        raise InvalidRequestError(f"legacy alert property {name!r} cannot be updated here (assignedTo, "
                                  "closedDateTime, comments, feedback, status can; tags are not stored)")  # fmt: skip
    changes: dict[str, str | None] = {}
    if "assignedTo" in body:
        changes["assignedTo"] = _string("assignedTo", body["assignedTo"], allow_none=True)
    for name, target, members in (
        ("status", "status", _LEGACY_STATUS),
        ("feedback", "classification", _FEEDBACK),
    ):
        if name in body:
            value = _string(name, body[name], allow_none=False) or ""
            if value.lower() not in members:
                raise InvalidRequestError(f"{name} must be one of {', '.join(members)}, not {value!r}")
            changes[target] = members[value.lower()]
    if "closedDateTime" in body and body["closedDateTime"] is not None:
        _string("closedDateTime", body["closedDateTime"], allow_none=False)
    have = {c.comment for c in context.comments.get(alert.id, ())}
    return changes, [c for c in _comment_list(body.get("comments")) if c not in have]


def _string(name: str, value: Any, *, allow_none: bool) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or len(value) > 256:
        raise InvalidRequestError(f"{name} must be a string of at most 256 characters")
    return value


def _comment_list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequestError("comments must be a list of strings")
    return list(dict.fromkeys(value))
