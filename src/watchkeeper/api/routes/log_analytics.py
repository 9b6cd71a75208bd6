"""The Log Analytics query API (``../shared/specs/clients.md`` §4), as azure-monitor-query's
``LogsQueryClient``, msticpy and Kqlmagic call it:

* ``POST /v1/workspaces/{workspace}/query`` with ``{"query", "timespan"?, "workspaces"?}``;
* ``GET /v1/workspaces/{workspace}/query?query=...&timespan=...``.

``{workspace}`` is a workspace id (or name) of the caller's tenant. ``timespan`` limits every table
to that interval. ``Prefer: wait=N`` asks for a timeout of N seconds (capped by the server).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.api.deps import QueryReader, RuntimeDep, actor_for
from watchkeeper.api.errors import protocol_router
from watchkeeper.api.protocols.intervals import parse_interval
from watchkeeper.api.protocols.log_analytics import LogAnalyticsErrors, tables_body
from watchkeeper.flows import QueryRequest, run_query
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime

__all__ = ["LogsQueryBody", "router"]

router = protocol_router(LogAnalyticsErrors(), tags=["log-analytics"])

_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+)", re.IGNORECASE)


class LogsQueryBody(BaseModel):
    """The body Log Analytics clients send."""

    model_config = ConfigDict(extra="ignore")

    query: str = Field(min_length=1, description="The KQL query.")
    timespan: str | None = Field(
        default=None, description="ISO 8601 duration or interval limiting TimeGenerated."
    )
    workspaces: list[str] | None = Field(
        default=None, description="Additional workspaces (not supported yet)."
    )


def _requested_timeout(request: Request) -> float | None:
    match = _WAIT.search(request.headers.get("prefer", ""))
    return float(match.group(1)) if match else None


def _time_range(timespan: str | None) -> tuple[datetime, datetime] | None:
    return parse_interval(timespan) if timespan else None


def _answer(
    runtime: Runtime, principal: Principal, request: Request, workspace: str, body: LogsQueryBody
) -> JSONResponse:
    query = QueryRequest(
        text=body.query, workspace=workspace, timeout=_requested_timeout(request),
        time_range=_time_range(body.timespan), protocol="log-analytics",
    )  # fmt: skip
    outcome = run_query(runtime, actor_for(principal, request), query)
    return JSONResponse(tables_body(outcome.result))


@router.post("/v1/workspaces/{workspace}/query", operation_id="log-analytics-query")
def run_logs_query(
    workspace: str, body: LogsQueryBody, request: Request, runtime: RuntimeDep, principal: QueryReader
) -> JSONResponse:
    """Run a KQL query against a workspace; the result in Log Analytics' ``tables`` shape."""
    return _answer(runtime, principal, request, workspace, body)


@router.get("/v1/workspaces/{workspace}/query", operation_id="log-analytics-query-get")
def get_logs_query(
    workspace: str,
    query: Annotated[str, Query(min_length=1)],
    request: Request,
    runtime: RuntimeDep,
    principal: QueryReader,
    timespan: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """Like ``POST``, with the query (and timespan) in the URL."""
    return _answer(runtime, principal, request, workspace, LogsQueryBody(query=query, timespan=timespan))
