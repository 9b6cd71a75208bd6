"""Security actions (beta, ``../shared/specs/graph-security-api.md`` sections 0 and 6) and the
built-in provider's blocklist download.

* ``GET /beta/security/securityActions`` (OData ``$filter $select $orderby $top $skip $count``) and
  ``GET .../{id}``: role SecurityActions.Read.All (or ReadWrite.All).
* ``POST /beta/security/securityActions``: create, 201 with the action as its provider left it;
  ``POST .../{id}/cancelSecurityAction``: 204. Role SecurityActions.ReadWrite.All.
* ``GET /api/blocklist?format=text|json``: the addresses ``blockIp`` actions put on the tenant's
  blocklist, one per line (``text``, for firewalls and proxies) or as JSON with their expiry.

A caller sees and cancels its own tenant's actions only; another tenant's is not found. Errors
answer in Graph's shape.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.api.protocols.graph_actions import CONTEXT, FIELDS, action_json, action_request
from watchkeeper.api.protocols.odata import collection_body, context_url, query_params
from watchkeeper.automation import SecurityActionRead
from watchkeeper.flows.actions import (
    Requester,
    action_providers,
    cancel_action,
    download_blocklist,
    list_actions,
    read_action,
    request_action,
)
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime
from watchkeeper.state.odata import parse_options

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["securityActions"])
ActionReader = Annotated[Principal, Depends(RoleCheck("SecurityActions.Read.All", "SecurityActions.ReadWrite.All",
                                                      api="graph"))]  # fmt: skip
ActionWriter = Annotated[Principal, Depends(RoleCheck("SecurityActions.ReadWrite.All", api="graph"))]
PATH = "/beta/security/securityActions"


def _requester(principal: Principal, request: Request) -> Requester:
    # Graph's user: the token's object id (the app's service principal for an app-only token)
    return Requester(actor_for(principal, request), principal.object_id)


def _json(runtime: Runtime, action: SecurityActionRead) -> dict[str, Any]:
    provider = action_providers(runtime).named(action.provider)
    return action_json(action, vendor=provider.vendor if provider is not None else action.provider)


def _entity(
    request: Request, runtime: Runtime, action: SecurityActionRead, status: int = 200
) -> JSONResponse:
    body = {"@odata.context": context_url(request, f"{CONTEXT}/$entity"), **_json(runtime, action)}
    return JSONResponse(body, status_code=status)


@router.get(PATH, operation_id="securityActions-list")
def list_security_actions(request: Request, runtime: RuntimeDep, principal: ActionReader) -> JSONResponse:
    """The tenant's security actions, one page at a time."""
    query = parse_options(query_params(request), fields=FIELDS)
    actions, page = list_actions(runtime, _requester(principal, request), query, FIELDS)
    items = [_json(runtime, action) for action in actions]
    return JSONResponse(collection_body(request, items, page, context=CONTEXT, select=query.select))


@router.post(PATH, operation_id="securityActions-create", status_code=201)
def create_security_action(
    request: Request, runtime: RuntimeDep, principal: ActionWriter, body: Annotated[Any, Body()]
) -> JSONResponse:
    """Ask for an action; its provider starts it at once."""
    action = request_action(runtime, _requester(principal, request), action_request(body))
    return _entity(request, runtime, action, status=201)


@router.get(PATH + "/{action_id}", operation_id="securityActions-get")
def get_security_action(
    request: Request, runtime: RuntimeDep, principal: ActionReader, action_id: str
) -> JSONResponse:
    """One action of the tenant, as its provider reports it now."""
    return _entity(request, runtime, read_action(runtime, _requester(principal, request), action_id))


@router.post(
    PATH + "/{action_id}/cancelSecurityAction", operation_id="securityActions-cancel", status_code=204
)
def cancel_security_action(
    request: Request, runtime: RuntimeDep, principal: ActionWriter, action_id: str
) -> Response:
    """Cancel an action: its provider undoes it."""
    cancel_action(runtime, _requester(principal, request), action_id)
    return Response(status_code=204)


@router.get("/api/blocklist", operation_id="securityActions-blocklist")
def get_blocklist(
    request: Request,
    runtime: RuntimeDep,
    principal: ActionReader,
    format: Annotated[Literal["text", "json"], Query(description="text: one address a line; json.")] = "text",
) -> Response:
    """The tenant's blocklist now."""
    listed = download_blocklist(runtime, _requester(principal, request))
    if format == "text":
        return PlainTextResponse("".join(f"{entry.address}\n" for entry in listed))
    value = [{"address": e.address, "expirationDateTime": e.expires_at.isoformat().replace("+00:00", "Z")}
             for e in listed]  # fmt: skip
    return JSONResponse({"value": value})
