"""Graph's secure score under ``/v1.0`` and ``/beta`` (``../shared/specs/graph-security-api.md``
sections 0 and 6), for the caller's tenant:

* ``GET security/secureScores``: the daily snapshots, newest first, with OData options (``$top`` up
  to 1000, ``$skip``, ``$filter``, ``$orderby``, ``$select``, ``$count``; ``@odata.nextLink`` paging);
  ``GET security/secureScores/{id}`` (``{tenantId}_{yyyy-mm-dd}``). Role ``SecurityEvents.Read.All``
  (or ``.ReadWrite.All``).
* ``GET security/secureScoreControlProfiles[/{id}]``: the controls with this tenant's state changes
  (``$select``, ``$top``, ``$skip``, ``$count`` on the list; there are few, so no ``$filter``).
* ``PATCH security/secureScoreControlProfiles/{id}``: ``assignedTo``, ``comment``, ``state``
  (``Default``, ``Ignored``, ``ThirdParty``, ``Reviewed``) with the required ``vendorInformation``
  (provider ``SecureScore``) -> 204, or 200 with the profile under ``Prefer: return=representation``.
  Role ``SecurityEvents.ReadWrite.All``; audited; counts from the next snapshot on.

Another tenant's snapshot is ``itemNotFound``, as a missing one. Errors answer in Graph's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Body, Depends, Path, Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.api.protocols.graph_score import (
    control_profile_json,
    parse_control_change,
    secure_score_json,
)
from watchkeeper.api.protocols.odata import collection_body, project, query_params
from watchkeeper.errors import InvalidRequestError
from watchkeeper.flows.posture import change_control, control_profile, control_profiles, score, scores
from watchkeeper.identity import Principal
from watchkeeper.posture import SCORE_FIELDS
from watchkeeper.state.odata import Page, parse_options

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["graph"])
ScoreReader = Annotated[Principal, Depends(RoleCheck("SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All",
                                                     api="graph"))]  # fmt: skip
ScoreWriter = Annotated[Principal, Depends(RoleCheck("SecurityEvents.ReadWrite.All", api="graph"))]
JsonBody = Annotated[Any, Body()]
ScoreId = Annotated[str, Path(min_length=1, max_length=80)]
ControlId = Annotated[str, Path(min_length=1, max_length=64)]

MAX_TOP = 1000
_PROFILE_OPTIONS = ("$count", "$select", "$skip", "$skiptoken", "$top")


def _both_versions(method: str, path: str, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve a handler at ``/v1.0{path}`` and ``/beta{path}`` (operation ids ``graph-{name}[-beta]``)."""

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        for prefix, suffix in (("/v1.0", ""), ("/beta", "-beta")):
            router.add_api_route(
                f"{prefix}{path}", handler, methods=[method], operation_id=f"graph-{name}{suffix}"
            )
        return handler

    return register


def _select_only(request: Request) -> dict[str, str]:
    options = query_params(request)
    extra = sorted(set(options) - {"$select"})
    if extra:
        raise InvalidRequestError(f"query option {extra[0]} does not apply to a single item; $select does")
    return options


def _selected(item: dict[str, Any], text: str | None) -> tuple[str, ...] | None:
    """``$select`` over an item's own properties (for resources not stored as rows)."""
    if text is None:
        return None
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    unknown = [name for name in names if not name or name not in item]
    if unknown:
        raise InvalidRequestError(
            f"$select: unknown property {unknown[0]!r}; known: {', '.join(sorted(item))}"
        )
    return names


@_both_versions("GET", "/security/secureScores", "secure-scores-list")
def list_secure_scores(request: Request, runtime: RuntimeDep, principal: ScoreReader) -> dict[str, Any]:
    """The tenant's daily secure score snapshots, newest first."""
    query = parse_options(query_params(request), fields=SCORE_FIELDS, max_top=MAX_TOP)
    found, page = scores(runtime, actor_for(principal, request), query)
    items = [secure_score_json(s) for s in found]
    return collection_body(request, items, page, context="security/secureScores", select=query.select)


@_both_versions("GET", "/security/secureScores/{score_id}", "secure-scores-get")
def get_secure_score(
    request: Request, runtime: RuntimeDep, principal: ScoreReader, score_id: ScoreId
) -> dict[str, Any]:
    """One snapshot (``{tenantId}_{yyyy-mm-dd}``); ``$select`` picks its properties."""
    select = parse_options(_select_only(request), fields=SCORE_FIELDS).select
    return project(secure_score_json(score(runtime, actor_for(principal, request), score_id)), select)


def _profile_page(options: Mapping[str, str]) -> tuple[int, int, bool]:
    """($top, $skip, $count) of the profile list, checked by the OData parser against no fields."""
    checked = parse_options({k: v for k, v in options.items() if k != "$select"}, fields={}, max_top=MAX_TOP)
    return checked.top, checked.skip, checked.count


@_both_versions("GET", "/security/secureScoreControlProfiles", "secure-score-controls-list")
def list_control_profiles(request: Request, runtime: RuntimeDep, principal: ScoreReader) -> dict[str, Any]:
    """Every control with the tenant's state changes, in rank order."""
    options = query_params(request)
    refused = sorted(set(options) - set(_PROFILE_OPTIONS))
    if refused:
        raise InvalidRequestError(f"query option {refused[0]} is not supported on secureScoreControlProfiles; "
                                  f"supported: {', '.join(_PROFILE_OPTIONS)}")  # fmt: skip
    items = [control_profile_json(p) for p in control_profiles(runtime, actor_for(principal, request))]
    top, skip, count = _profile_page(options)
    select = _selected(items[0], options.get("$select")) if items else None
    more = skip + top < len(items)
    page = Page(rows=[], total=len(items) if count else None, next_skip=skip + top if more else None)
    return collection_body(request, items[skip : skip + top], page, context="security/secureScoreControlProfiles",
                           select=select)  # fmt: skip


@_both_versions("GET", "/security/secureScoreControlProfiles/{control_id}", "secure-score-controls-get")
def get_control_profile(
    request: Request, runtime: RuntimeDep, principal: ScoreReader, control_id: ControlId
) -> dict[str, Any]:
    """One control as this tenant sees it; ``$select`` picks its properties."""
    item = control_profile_json(control_profile(runtime, actor_for(principal, request), control_id))
    return project(item, _selected(item, _select_only(request).get("$select")))


def _wants_representation(request: Request) -> bool:
    preferences = {p.strip().lower() for h in request.headers.getlist("prefer") for p in h.split(",")}
    return "return=representation" in preferences


@_both_versions("PATCH", "/security/secureScoreControlProfiles/{control_id}", "secure-score-controls-update")
def update_control_profile(
    request: Request, runtime: RuntimeDep, principal: ScoreWriter, control_id: ControlId, body: JsonBody
) -> Response:
    """Set the control's state, owner or comment; 204, or 200 with the profile when asked."""
    actor = actor_for(principal, request)
    control_profile(runtime, actor, control_id)  # a missing control is 404 before the body is judged
    changed = change_control(runtime, actor, control_id, parse_control_change(body))
    if _wants_representation(request):
        return JSONResponse(control_profile_json(changed))
    return Response(status_code=204)
