"""Graph's incidents under ``/v1.0`` and ``/beta`` (``../shared/specs/graph-security-api.md``
sections 0, 1 and 4): ``security/incidents`` (list with OData options and ``$expand=alerts``),
``security/incidents/{id}`` (get, with ``$expand=alerts``; PATCH of status, assignedTo,
classification, determination, customTags, resolvingComment, displayName, severity -> 200 with
the incident), ``security/incidents/{id}/alerts`` and ``POST security/incidents/{id}/comments``
(-> 200 with the incident's comments). Roles ``SecurityIncident.Read.All`` /
``SecurityIncident.ReadWrite.All``. How Graph's values map onto our incident model:
:mod:`watchkeeper.api.protocols.graph_incidents`.

Incidents are the caller's tenant's: another tenant's is ``itemNotFound``, as a missing one.
Changes and comments go through the cases flows (audited, mirrored to ``SecurityIncident``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.api.protocols.graph_alerts import alert_json
from watchkeeper.api.protocols.graph_incidents import incident_changes, incident_comment_json, incident_json
from watchkeeper.api.protocols.odata import collection_body, context_url, project, query_params
from watchkeeper.api.routes.graph_alerts import JsonBody, context_for, versions
from watchkeeper.cases import IncidentRead, find_incident
from watchkeeper.cases.queries import (
    ALERT_FIELDS,
    INCIDENT_FIELDS,
    alerts_page,
    incident_alerts,
    incident_comments,
    incidents_page,
)
from watchkeeper.directory import WorkspaceRead, find_workspace
from watchkeeper.errors import InvalidRequestError, NotFoundError
from watchkeeper.flows.cases import change_incident, comment_on_incident
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime
from watchkeeper.state.odata import parse_options

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["graph"])

IncidentReader = Annotated[Principal, Depends(RoleCheck("SecurityIncident.Read.All",
                                                        "SecurityIncident.ReadWrite.All", api="graph"))]  # fmt: skip
IncidentWriter = Annotated[Principal, Depends(RoleCheck("SecurityIncident.ReadWrite.All", api="graph"))]
EXPANDABLE = ("alerts",)


def _incident(runtime: Runtime, tenant_id: str, incident_id: str) -> tuple[IncidentRead, WorkspaceRead]:
    with runtime.database.reading() as session:
        # by id only: a number is a workspace's, and Graph's incidents are the tenant's
        found = (
            None if incident_id.isdigit() else find_incident(session, tenant_id=tenant_id, ref=incident_id)
        )
        workspace = find_workspace(session, tenant_id=tenant_id, ref=found.workspace_id) if found else None
    if found is None or workspace is None:
        raise NotFoundError("incident", incident_id)
    return found, workspace


def _shapes(
    runtime: Runtime, request: Request, tenant_id: str, incidents: list[IncidentRead], *, expand: bool
) -> list[dict[str, Any]]:
    """The incidents' Graph JSON, with their comments, and their alerts when expanded."""
    with runtime.database.reading() as session:
        alerts = (
            incident_alerts(session, tenant_id=tenant_id, incident_ids=[i.id for i in incidents])
            if expand
            else {}
        )
        comments = {
            i.id: incident_comments(session, tenant_id=tenant_id, incident_id=i.id) for i in incidents
        }
    context = context_for(runtime, request, [a for found in alerts.values() for a in found])
    return [incident_json(i, context, comments=comments[i.id], alerts=alerts.get(i.id) if expand else None)
            for i in incidents]  # fmt: skip


@versions("GET", "/security/incidents", "incidents-list", on=router)
def list_incidents(request: Request, runtime: RuntimeDep, principal: IncidentReader) -> dict[str, Any]:
    """The tenant's incidents, newest first, with OData options (``$expand=alerts``)."""
    query = parse_options(query_params(request), fields=INCIDENT_FIELDS, expandable=EXPANDABLE)
    with runtime.database.reading() as session:
        incidents, page = incidents_page(session, tenant_id=principal.tenant_id, query=query)
    items = _shapes(runtime, request, principal.tenant_id, incidents, expand="alerts" in query.expand)
    return collection_body(request, items, page, context="security/incidents", select=_with_expanded(query))


def _with_expanded(query: Any) -> tuple[str, ...] | None:
    return None if query.select is None else (*query.select, *query.expand)


@versions("GET", "/security/incidents/{incident_id}", "incidents-get", on=router)
def get_incident(
    request: Request, runtime: RuntimeDep, principal: IncidentReader, incident_id: str
) -> dict[str, Any]:
    """One incident (``$select``, ``$expand=alerts``)."""
    options = query_params(request)
    extra = sorted(set(options) - {"$select", "$expand"})
    if extra:
        raise InvalidRequestError(
            f"query option {extra[0]} does not apply to a single item; $select and $expand do"
        )
    query = parse_options(options, fields=INCIDENT_FIELDS, expandable=EXPANDABLE)
    incident, _ = _incident(runtime, principal.tenant_id, incident_id)
    (item,) = _shapes(runtime, request, principal.tenant_id, [incident], expand="alerts" in query.expand)
    return project(item, _with_expanded(query))


@versions("GET", "/security/incidents/{incident_id}/alerts", "incidents-alerts", on=router)
def list_incident_alerts(
    request: Request, runtime: RuntimeDep, principal: IncidentReader, incident_id: str
) -> dict[str, Any]:
    """The incident's alerts (``security.alert``), with OData options."""
    incident, _ = _incident(runtime, principal.tenant_id, incident_id)
    query = parse_options(query_params(request), fields=ALERT_FIELDS)
    with runtime.database.reading() as session:
        alerts, page = alerts_page(
            session, tenant_id=principal.tenant_id, query=query, incident_id=incident.id
        )
    context = context_for(runtime, request, alerts)
    items = [alert_json(a, context) for a in alerts]
    return collection_body(request, items, page, context=f"security/incidents('{incident.id}')/alerts",
                           select=query.select)  # fmt: skip


@versions("PATCH", "/security/incidents/{incident_id}", "incidents-update", on=router)
def update_incident(
    request: Request, runtime: RuntimeDep, principal: IncidentWriter, incident_id: str, body: JsonBody
) -> dict[str, Any]:
    """Change the incident; 200 with it. Resolving needs a classification (given or already set)."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object of incident properties")
    changes = incident_changes(body)
    incident, workspace = _incident(runtime, principal.tenant_id, incident_id)
    if (
        changes.get("status") == "Closed"
        and incident.status != "Closed"
        and not _classified(incident, changes)
    ):
        raise InvalidRequestError("resolving an incident needs a classification (truePositive, falsePositive or "
                                  "informationalExpectedActivity; unknown if undetermined)")  # fmt: skip
    changed = change_incident(runtime, actor_for(principal, request), workspace, incident.id, changes)
    if changed is None:
        raise NotFoundError("incident", incident_id)
    (item,) = _shapes(runtime, request, principal.tenant_id, [changed], expand=False)
    return item


def _classified(incident: IncidentRead, changes: dict[str, Any]) -> bool:
    return changes.get("classification", incident.classification) is not None


@versions("POST", "/security/incidents/{incident_id}/comments", "incidents-comment", on=router)
def comment_incident(
    request: Request, runtime: RuntimeDep, principal: IncidentWriter, incident_id: str, body: JsonBody
) -> JSONResponse:
    """Add a comment (``{"comment": "..."}``); 200 with the incident's comments (``alertComment``)."""
    items = body if isinstance(body, list) else [body]
    texts = [i.get("comment") for i in items if isinstance(i, dict)]
    if not items or len(texts) != len(items) or not all(isinstance(t, str) for t in texts):
        raise InvalidRequestError('the body must be {"comment": "..."} (or a list of them)')
    incident, workspace = _incident(runtime, principal.tenant_id, incident_id)
    for text in texts:
        comment_on_incident(runtime, actor_for(principal, request), workspace, incident.id, str(text))
    with runtime.database.session() as session:
        comments = incident_comments(session, tenant_id=principal.tenant_id, incident_id=incident.id)
    context = context_url(request, "Collection(microsoft.graph.security.alertComment)")
    return JSONResponse({"@odata.context": context, "value": [incident_comment_json(c) for c in comments]})
