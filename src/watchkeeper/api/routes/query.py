"""The Log Analytics query route: ``POST /v1/workspaces/{workspace}/query`` with ``{"query": "..."}``.

``timespan`` and ``workspaces`` are accepted (the Azure SDKs send them) and ignored for now: the
query's own time filters apply. ``GET`` with ``?query=`` and the default-workspace shortcut
``POST /v1/query`` answer the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.api.deps import DefaultWorkspaceDep, WorkspaceDep
from watchkeeper.api.log_analytics import tables_body
from watchkeeper.workspace import Workspace

__all__ = ["QueryRequest", "router"]

router = APIRouter(tags=["query"])


class QueryRequest(BaseModel):
    """The body Log Analytics clients send."""

    model_config = ConfigDict(extra="ignore")

    query: str = Field(min_length=1, description="The KQL query.")
    timespan: str | None = Field(default=None, description="ISO 8601 duration or interval (ignored for now).")
    workspaces: list[str] | None = Field(default=None, description="Extra workspaces (ignored for now).")


def _answer(workspace: Workspace, query: str) -> JSONResponse:
    return JSONResponse(tables_body(workspace.query(query)))


@router.post("/v1/workspaces/{workspace}/query", operation_id="query-run")
def run_query(body: QueryRequest, workspace: WorkspaceDep) -> JSONResponse:
    """Run a KQL query against a workspace; the result in Log Analytics' ``tables`` shape."""
    return _answer(workspace, body.query)


@router.get("/v1/workspaces/{workspace}/query", operation_id="query-get")
def get_query(query: Annotated[str, Query(min_length=1)], workspace: WorkspaceDep) -> JSONResponse:
    """Like ``POST``, with the query in the URL."""
    return _answer(workspace, query)


@router.post("/v1/query", operation_id="query-run-default")
def run_default_query(body: QueryRequest, workspace: DefaultWorkspaceDep) -> JSONResponse:
    """Run a KQL query against the server's default workspace."""
    return _answer(workspace, body.query)
