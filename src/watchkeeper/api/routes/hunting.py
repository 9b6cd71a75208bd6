"""Advanced hunting, as Defender and Microsoft Graph serve it:

* ``POST /api/advancedqueries/run`` with ``{"Query": "<KQL>"}`` (``defender-endpoint-api.md`` §6),
  role ``AdvancedQuery.Read.All``; msticpy's ``MDE`` provider calls it;
* ``POST /v1.0/security/runHuntingQuery`` with ``{"Query", "Timespan"?}`` (``graph-security-api.md``
  "runHuntingQuery result"), role ``ThreatHunting.Read.All``; msticpy's ``M365DGraph`` and
  msgraph-sdk call it.

Neither protocol names a workspace. A request may pick one of its tenant's workspaces (id or name)
with the query parameter ``workspace`` or the header ``x-wk-workspace`` (the parameter wins);
otherwise the query runs against the tenant's only workspace, else its workspace named ``default``,
else its oldest one. A tenant without workspaces is answered 404 in the protocol's error shape.

Limits: at most 100,000 rows (Defender's limit) and never more than the server's row limit; data of
the last 30 days (Defender: always; Graph: unless ``Timespan`` says otherwise); Defender queries may
run 200 s unless the server's ``query_timeout_max`` is lower, Graph queries the server's default
time. A result cut at the row limit says so in its body and in a ``Warning`` header.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for, request_origin
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.api.protocols.hunting import (
    DefenderErrors,
    defender_body,
    graph_hunting_body,
    truncation_warning,
)
from watchkeeper.api.protocols.intervals import parse_interval
from watchkeeper.audit import Actor
from watchkeeper.directory import WorkspaceRead, list_workspaces
from watchkeeper.errors import NotFoundError
from watchkeeper.flows import QueryOutcome, QueryRequest, run_query
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime

__all__ = ["DEFAULT_WORKSPACE", "AdvancedQueryBody", "HuntingQueryBody", "hunting_workspace", "router"]

DEFAULT_WORKSPACE = "default"
DATA_WINDOW = timedelta(days=30)
MAX_ROWS = 100_000
DEFENDER_TIMEOUT = 200.0  # seconds; defender-endpoint-api.md §6 "Per request"

DefenderHunter = Annotated[Principal, Depends(RoleCheck("AdvancedQuery.Read.All", api="defender"))]
GraphHunter = Annotated[Principal, Depends(RoleCheck("ThreatHunting.Read.All", api="graph"))]
WorkspaceParam = Annotated[
    str | None,
    Query(min_length=1, max_length=128, description="The tenant's workspace to hunt in (id or name)."),
]
WorkspaceHeader = Annotated[
    str | None, Header(alias="x-wk-workspace", description="Like the `workspace` query parameter.")
]


class AdvancedQueryBody(BaseModel):
    """Defender's body; property names are case-sensitive as documented."""

    model_config = ConfigDict(extra="ignore")

    Query: str = Field(min_length=1, description="The KQL query.")


class HuntingQueryBody(BaseModel):
    """Graph's ``runHuntingQuery`` parameters."""

    model_config = ConfigDict(extra="ignore")

    Query: str = Field(min_length=1, description="The KQL query.")
    Timespan: str | None = Field(
        default=None,
        description="P30D, start/end, P30D/end, start/P30D or a start; default: the last 30 days.",
    )


# ---------------------------------------------------------------------------- which workspace


class NoWorkspace(NotFoundError):
    """The caller's tenant has no workspace at all."""

    def __init__(self) -> None:
        super().__init__("workspace", DEFAULT_WORKSPACE)
        self.args = ("this tenant has no workspace to hunt in",)


def _default_choice(workspaces: list[WorkspaceRead]) -> WorkspaceRead:
    if len(workspaces) == 1:
        return workspaces[0]
    named = [w for w in workspaces if w.name == DEFAULT_WORKSPACE]
    return named[0] if named else min(workspaces, key=lambda w: (w.created_at, w.name))


def hunting_workspace(runtime: Runtime, actor: Actor, requested: str | None) -> str:
    """The workspace (id or name) a hunting query of ``actor`` runs against: ``requested`` if given
    (``run_query`` resolves it within the tenant), else the tenant's default choice."""
    if requested:
        return requested
    if actor.tenant_id is None:
        raise NoWorkspace()
    with runtime.database.session() as session:
        workspaces = list_workspaces(session, tenant_id=actor.tenant_id)
    if not workspaces:
        raise NoWorkspace()
    return _default_choice(workspaces).id


# ---------------------------------------------------------------------------- running


def _hunt(runtime: Runtime, actor: Actor, query: QueryRequest) -> QueryOutcome:
    """Run ``query`` (its ``workspace`` is what the request named, perhaps nothing)."""
    target = hunting_workspace(runtime, actor, query.workspace or None)
    rows = min(MAX_ROWS, runtime.settings.query_row_limit)
    return run_query(runtime, actor, replace(query, workspace=target, max_rows=rows))


def _last_days() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - DATA_WINDOW, now


def _answer(body: dict[str, Any], outcome: QueryOutcome) -> JSONResponse:
    warning = truncation_warning(outcome.result)
    if warning is None:
        return JSONResponse(body)
    # RFC 7234 warn-text is a quoted latin-1 string
    text = warning.replace("\\", "/").replace('"', "'").encode("latin-1", "replace").decode("latin-1")
    return JSONResponse(body, headers={"Warning": f'199 watchkeeper "{text}"'})


# ---------------------------------------------------------------------------- Defender


# Authentication failures answer in Graph's shape on every route (issue #3), Defender's included.
defender = protocol_router(DefenderErrors(), tags=["hunting"])


@defender.post("/api/advancedqueries/run", operation_id="hunting-advanced-query")
def run_advanced_query(
    body: AdvancedQueryBody,
    request: Request,
    runtime: RuntimeDep,
    principal: DefenderHunter,
    workspace: WorkspaceParam = None,
    x_wk_workspace: WorkspaceHeader = None,
) -> JSONResponse:
    """Run a KQL query over the last 30 days; the result in Defender's ``Schema``/``Results`` shape."""
    query = QueryRequest(text=body.Query, workspace=workspace or x_wk_workspace or "", timeout=DEFENDER_TIMEOUT,
                         time_range=_last_days(), protocol="defender-advanced-hunting")  # fmt: skip
    outcome = _hunt(runtime, actor_for(principal, request), query)
    return _answer(defender_body(outcome.result), outcome)


# ---------------------------------------------------------------------------- Graph


graph = protocol_router(GraphErrors(), tags=["hunting"])


@graph.post("/v1.0/security/runHuntingQuery", operation_id="hunting-run-hunting-query")
def run_hunting_query(
    body: HuntingQueryBody,
    request: Request,
    runtime: RuntimeDep,
    principal: GraphHunter,
    workspace: WorkspaceParam = None,
    x_wk_workspace: WorkspaceHeader = None,
) -> JSONResponse:
    """Run a KQL query over ``Timespan`` (default: the last 30 days); Graph's ``huntingQueryResults``."""
    window = parse_interval(body.Timespan, single_is_start=True) if body.Timespan else _last_days()
    query = QueryRequest(text=body.Query, workspace=workspace or x_wk_workspace or "", time_range=window,
                         protocol="graph-hunting")  # fmt: skip
    outcome = _hunt(runtime, actor_for(principal, request), query)
    return _answer(graph_hunting_body(outcome.result, origin=request_origin(request)), outcome)


router = APIRouter()
router.include_router(defender)
router.include_router(graph)
