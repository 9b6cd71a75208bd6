"""The Log Analytics query API (``../shared/specs/clients.md`` §4, §8), as azure-monitor-query's
``LogsQueryClient``, msticpy and Kqlmagic call it:

* ``POST /v1/workspaces/{workspace}/query`` with ``{"query", "timespan"?, "workspaces"?}``;
* ``GET /v1/workspaces/{workspace}/query?query=...&timespan=...``;
* ``POST /v1/$batch`` with ``{"requests": [{"id", "headers", "body", "method", "path", "workspace"}]}``
  (``LogsQueryClient.query_batch``), answered by ``{"responses": [{"id", "status", "body"}]}``;
* ``GET /v1/workspaces/{workspace}/metadata``: the workspace's tables and columns.

``{workspace}`` is a workspace id (or name) of the caller's tenant. ``timespan`` limits every table
to that interval. ``Prefer: wait=N`` asks for a timeout of N seconds (capped by the server),
``include-statistics=true`` adds ``statistics``, ``ai.response-thinning=false`` answers in Kusto's
V1 shape (Kqlmagic).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from watchkeeper.api.deps import LogsReader, RuntimeDep, actor_for
from watchkeeper.api.errors import protocol_router, status_for
from watchkeeper.api.protocols.intervals import parse_interval
from watchkeeper.api.protocols.kusto import QueryContext, client_request_id, v1_body
from watchkeeper.api.protocols.kusto_mgmt import WorkspaceSchema
from watchkeeper.api.protocols.log_analytics import (
    LogAnalyticsErrors,
    Preferences,
    batch_item,
    metadata_body,
    render_body,
    statistics_body,
    tables_body,
)
from watchkeeper.errors import InvalidRequestError, WatchkeeperError
from watchkeeper.flows import QueryRequest, open_workspace, run_query
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime

__all__ = ["BATCH_LIMIT", "LogsBatchBody", "LogsQueryBody", "router"]

router = protocol_router(LogAnalyticsErrors(), tags=["log-analytics"])

# Requests one batch may carry; they run one after another, each within the tenant's limits.
BATCH_LIMIT = 50


class LogsQueryBody(BaseModel):
    """The body Log Analytics clients send."""

    model_config = ConfigDict(extra="ignore")

    query: str = Field(min_length=1, description="The KQL query.")
    timespan: str | None = Field(
        default=None, description="ISO 8601 duration or interval limiting TimeGenerated."
    )
    workspaces: list[str] | None = Field(
        default=None, description="Additional workspaces: refused unless they name the queried one."
    )


class LogsBatchRequest(BaseModel):
    """One request of a batch; its other fields are checked one request at a time, so that a bad
    request fails alone."""

    model_config = ConfigDict(extra="ignore")

    id: str | int = Field(description="The id the answer carries.")
    workspace: Any = None
    headers: Any = None
    body: Any = None
    method: Any = None
    path: Any = "/query"


class LogsBatchBody(BaseModel):
    """``POST /v1/$batch``."""

    model_config = ConfigDict(extra="ignore")

    requests: list[LogsBatchRequest] = Field(min_length=1, max_length=BATCH_LIMIT)


def _time_range(timespan: str | None) -> tuple[datetime, datetime] | None:
    return parse_interval(timespan) if timespan else None


def _answer(
    runtime: Runtime, principal: Principal, request: Request, workspace: str, body: LogsQueryBody,
    prefer: Preferences,
) -> dict[str, Any]:  # fmt: skip
    if any(other != workspace for other in body.workspaces or ()):
        raise InvalidRequestError(
            "workspaces: a query runs against one workspace; querying several at once is not supported"
        )
    query = QueryRequest(
        text=body.query, workspace=workspace, timeout=prefer.wait,
        time_range=_time_range(body.timespan), protocol="log-analytics",
    )  # fmt: skip
    outcome = run_query(runtime, actor_for(principal, request), query)
    if prefer.kusto_v1:
        context = QueryContext(client_request_id(request), _request_id(request), outcome.seconds)
        return v1_body(outcome.result, context)
    statistics = statistics_body(outcome.result, outcome.seconds) if prefer.statistics else None
    answer = tables_body(outcome.result, statistics)
    if prefer.render and (render := render_body(body.query)) is not None:
        answer["render"] = render
    return answer


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "") or ""


def _prefer(request: Request) -> Preferences:
    return Preferences.parse(request.headers.get("prefer", ""))


@router.post("/v1/workspaces/{workspace}/query", operation_id="log-analytics-query")
def run_logs_query(
    workspace: str, body: LogsQueryBody, request: Request, runtime: RuntimeDep, principal: LogsReader
) -> JSONResponse:
    """Run a KQL query against a workspace; the result in Log Analytics' ``tables`` shape."""
    return JSONResponse(_answer(runtime, principal, request, workspace, body, _prefer(request)))


@router.get("/v1/workspaces/{workspace}/query", operation_id="log-analytics-query-get")
def get_logs_query(
    workspace: str,
    query: Annotated[str, Query(min_length=1)],
    request: Request,
    runtime: RuntimeDep,
    principal: LogsReader,
    timespan: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """Like ``POST``, with the query (and timespan) in the URL."""
    body = LogsQueryBody(query=query, timespan=timespan)
    return JSONResponse(_answer(runtime, principal, request, workspace, body, _prefer(request)))


@router.get("/v1/workspaces/{workspace}/metadata", operation_id="log-analytics-metadata")
def get_metadata(
    workspace: str, request: Request, runtime: RuntimeDep, principal: LogsReader
) -> JSONResponse:
    """The workspace's tables that hold data, with their columns."""
    found, store = open_workspace(runtime, actor_for(principal, request), workspace, protocol="log-analytics")
    return JSONResponse(metadata_body(WorkspaceSchema.of(found, store)))


@router.post("/v1/$batch", operation_id="log-analytics-batch")
def run_batch(
    body: LogsBatchBody, request: Request, runtime: RuntimeDep, principal: LogsReader
) -> JSONResponse:
    """Run several queries; each is authorised, limited and audited like a single one, and fails
    alone (its status and error body inside the answer)."""
    responses = [_batch_answer(runtime, principal, request, item) for item in body.requests]
    return JSONResponse({"responses": responses})


def _batch_answer(
    runtime: Runtime, principal: Principal, request: Request, item: LogsBatchRequest
) -> dict[str, Any]:
    try:
        workspace, query, prefer = _batch_request(item)
        answer = _answer(runtime, principal, request, workspace, query, prefer)
    except WatchkeeperError as exc:
        status = status_for(exc)
        return batch_item(str(item.id), status, LogAnalyticsErrors().body(exc, status))
    return batch_item(str(item.id), 200, answer)


def _batch_request(item: LogsBatchRequest) -> tuple[str, LogsQueryBody, Preferences]:
    """The workspace, query and preferences of one batch request (its errors are its own)."""
    if not isinstance(item.workspace, str) or not item.workspace:
        raise InvalidRequestError("workspace: each batch request names a workspace")
    path = urlsplit(item.path if isinstance(item.path, str) else "")
    if path.path.rstrip("/") != "/query":
        raise InvalidRequestError(f"path {str(item.path)!r}: a batch request's path must be /query")
    # Log Analytics: a request without a method is a GET, whose query is in the path, not the body
    source = item.body if str(item.method or "GET").upper() == "POST" else dict(parse_qsl(path.query))
    try:
        query = LogsQueryBody.model_validate(source if isinstance(source, dict) else {})
    except ValidationError as invalid:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in invalid.errors())
        raise InvalidRequestError(problems) from None
    headers = item.headers if isinstance(item.headers, dict) else {}
    prefer = next((str(v) for k, v in headers.items() if str(k).lower() == "prefer"), "")
    return item.workspace, query, Preferences.parse(prefer)
