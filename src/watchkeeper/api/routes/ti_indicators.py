"""Threat indicators (beta, ``../shared/specs/graph-security-api.md`` sections 0 and 6), all with
role ThreatIndicators.ReadWrite.OwnedBy: an app sees and changes only the indicators it submitted
(another app's or tenant's is not found, like a missing one).

* ``GET /beta/security/tiIndicators`` (OData ``$filter $select $orderby $top $skip $count``),
  ``GET .../{id}``; ``POST /beta/security/tiIndicators`` creates one (201);
  ``PATCH .../{id}`` changes editable properties (204, or 200 with the indicator when the request
  says ``Prefer: return=representation``); ``DELETE .../{id}`` (204).
* Batch actions ``submitTiIndicators``, ``updateTiIndicators``, ``deleteTiIndicators``,
  ``deleteTiIndicatorsByExternalId``: 200, or 206 when some entries failed (see
  :mod:`watchkeeper.api.protocols.graph_indicators`).

Every change is audited and mirrored to ``ThreatIntelligenceIndicator`` in each workspace of the
tenant. Errors answer in Graph's shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.api.protocols.graph_indicators import (
    CONTEXT,
    batch_values,
    deletion_result,
    identifiers,
    indicator_fields,
    item_result,
    update_entries,
)
from watchkeeper.api.protocols.odata import collection_body, context_url, query_params
from watchkeeper.errors import InvalidRequestError, WatchkeeperError
from watchkeeper.flows.intel import (
    change_indicators,
    indicator_page,
    owned_indicator,
    remove_by_external_id,
    remove_indicators,
    submit_indicators,
)
from watchkeeper.identity import Principal
from watchkeeper.intel import IndicatorRead
from watchkeeper.state import utc_now
from watchkeeper.state.odata import parse_options

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["tiIndicators"])
Owner = Annotated[Principal, Depends(RoleCheck("ThreatIndicators.ReadWrite.OwnedBy", api="graph"))]
PATH = "/beta/security/tiIndicators"
JsonBody = Annotated[Any, Body()]


def _entity(request: Request, indicator: IndicatorRead, status: int = 200) -> JSONResponse:
    body = {"@odata.context": context_url(request, f"{CONTEXT}/$entity"), **indicator.to_graph(utc_now())}
    return JSONResponse(body, status_code=status)


def _single(outcome: IndicatorRead | WatchkeeperError) -> IndicatorRead:
    if isinstance(outcome, WatchkeeperError):
        raise outcome
    return outcome


def _results(request: Request, results: list[dict[str, Any]], failed: bool) -> JSONResponse:
    body = {
        "@odata.context": context_url(request, "Collection(microsoft.graph.tiIndicator)"),
        "value": results,
    }
    return JSONResponse(body, status_code=206 if failed else 200)


@router.get(PATH, operation_id="tiIndicators-list")
def list_ti_indicators(request: Request, runtime: RuntimeDep, principal: Owner) -> JSONResponse:
    """The caller's indicators, one page at a time."""
    now = utc_now()
    fields = indicator_fields(now)
    query = parse_options(query_params(request), fields=fields)
    found, page = indicator_page(runtime, principal.tenant_id, principal.client_id, query, fields)
    items = [indicator.to_graph(now) for indicator in found]
    return JSONResponse(collection_body(request, items, page, context=CONTEXT, select=query.select))


@router.post(PATH, operation_id="tiIndicators-create", status_code=201)
def create_ti_indicator(
    request: Request, runtime: RuntimeDep, principal: Owner, body: JsonBody
) -> JSONResponse:
    """Submit one indicator."""
    actor = actor_for(principal, request)
    (outcome,) = submit_indicators(runtime, actor, principal.tenant_id, principal.client_id, [body])
    return _entity(request, _single(outcome), status=201)


@router.post(PATH + "/submitTiIndicators", operation_id="tiIndicators-submit")
def submit_ti_indicators(
    request: Request, runtime: RuntimeDep, principal: Owner, body: JsonBody
) -> JSONResponse:
    """Submit up to 100 indicators; each stored or refused on its own."""
    entries, now = batch_values(body), utc_now()
    actor = actor_for(principal, request)
    outcomes = submit_indicators(runtime, actor, principal.tenant_id, principal.client_id, entries)
    results = [
        item_result(o, e if isinstance(e, dict) else {}, now) for o, e in zip(outcomes, entries, strict=True)
    ]
    return _results(request, results, any(not isinstance(o, IndicatorRead) for o in outcomes))


@router.post(PATH + "/updateTiIndicators", operation_id="tiIndicators-update")
def update_ti_indicators(
    request: Request, runtime: RuntimeDep, principal: Owner, body: JsonBody
) -> JSONResponse:
    """Change up to 100 indicators; each changed or refused on its own."""
    entries, now = update_entries(body), utc_now()
    actor = actor_for(principal, request)
    outcomes = change_indicators(runtime, actor, principal.tenant_id, principal.client_id, entries)
    results = [item_result(o, {"id": i, **c}, now) for o, (i, c) in zip(outcomes, entries, strict=True)]
    return _results(request, results, any(not isinstance(o, IndicatorRead) for o in outcomes))


@router.post(PATH + "/deleteTiIndicators", operation_id="tiIndicators-deleteMany")
def delete_ti_indicators(
    request: Request, runtime: RuntimeDep, principal: Owner, body: JsonBody
) -> JSONResponse:
    """Delete up to 100 indicators by id: a ``resultInfo`` for each."""
    ids = identifiers(body, "indicator id")
    gone = remove_indicators(
        runtime, actor_for(principal, request), principal.tenant_id, principal.client_id, ids
    )
    results = [deletion_result(ref, 0 if g is None else 1) for ref, g in zip(ids, gone, strict=True)]
    return _results(request, results, any(g is None for g in gone))


@router.post(PATH + "/deleteTiIndicatorsByExternalId", operation_id="tiIndicators-deleteByExternalId")
def delete_ti_indicators_by_external_id(
    request: Request, runtime: RuntimeDep, principal: Owner, body: JsonBody
) -> JSONResponse:
    """Delete the caller's indicators with each of up to 100 external ids: a ``resultInfo`` for each."""
    refs = identifiers(body, "external id")
    actor = actor_for(principal, request)
    gone = remove_by_external_id(runtime, actor, principal.tenant_id, principal.client_id, refs)
    results = [
        deletion_result(ref, len(g), "tiIndicator with externalId") for ref, g in zip(refs, gone, strict=True)
    ]
    return _results(request, results, any(not g for g in gone))


@router.get(PATH + "/{indicator_id}", operation_id="tiIndicators-get")
def get_ti_indicator(
    request: Request, runtime: RuntimeDep, principal: Owner, indicator_id: str
) -> JSONResponse:
    """One of the caller's indicators."""
    return _entity(request, owned_indicator(runtime, principal.tenant_id, principal.client_id, indicator_id))


@router.patch(PATH + "/{indicator_id}", operation_id="tiIndicators-patch", status_code=204)
def patch_ti_indicator(
    request: Request, runtime: RuntimeDep, principal: Owner, indicator_id: str, body: JsonBody
) -> Response:
    """Change editable properties of one of the caller's indicators."""
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object of the properties to change")
    actor = actor_for(principal, request)
    (outcome,) = change_indicators(
        runtime, actor, principal.tenant_id, principal.client_id, [(indicator_id, body)]
    )
    changed = _single(outcome)
    if "return=representation" in request.headers.get("prefer", "").replace(" ", "").lower():
        return _entity(request, changed)
    return Response(status_code=204)


@router.delete(PATH + "/{indicator_id}", operation_id="tiIndicators-delete", status_code=204)
def delete_ti_indicator(
    request: Request, runtime: RuntimeDep, principal: Owner, indicator_id: str
) -> Response:
    """Delete one of the caller's indicators."""
    actor = actor_for(principal, request)
    (gone,) = remove_indicators(runtime, actor, principal.tenant_id, principal.client_id, [indicator_id])
    if gone is None:
        owned_indicator(runtime, principal.tenant_id, principal.client_id, indicator_id)  # raises: not found
    return Response(status_code=204)
