"""Dashboards and saved queries over HTTP (role ``Data.Read``, tokens for the Log Analytics API or
this server, or the console session; errors in Graph's shape):

* ``GET/POST /api/dashboards``, ``GET/PUT/DELETE /api/dashboards/{id}``: the body is the dashboard
  document as JSON or, with ``Content-Type: application/yaml``, YAML; a top-level ``shared`` says
  whether the whole tenant sees it. Built-in dashboards (``builtin: true``) are listed for every
  tenant and are read-only. A document that cannot be saved answers 400 with one ``details``
  entry per problem (``target`` the field, and ``line``/``column`` for a tile whose KQL does not
  compile against the Sentinel tables and the tenant's custom tables).
* ``GET/POST /api/savedQueries?workspace=W`` (W: a workspace of the caller's tenant, id or name),
  ``GET/PUT/DELETE /api/savedQueries/{id}`` (PUT changes the fields it names). A query whose
  syntax is wrong is refused with its line and column.

Another tenant's object and another owner's private one are not found; only the owner changes or
deletes an object, or a tenant administrator (``AuditLog.Read.All``) a shared one (else 403).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import AuthError, GraphErrors, protocol_router, request_ids
from watchkeeper.api.protocols.graph import graph_error_body
from watchkeeper.directory import list_workspaces
from watchkeeper.errors import InvalidRequestError, WatchkeeperError
from watchkeeper.flows import resolve_workspace
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime
from watchkeeper.schema.catalog import Catalog, TableDef
from watchkeeper.workbooks import (
    DashboardDocument,
    NotPermitted,
    Problem,
    SavedQueryCreate,
    SavedQueryUpdate,
    Viewer,
    WorkbookInvalid,
    check_query,
    create_dashboard,
    create_saved_query,
    delete_dashboard,
    delete_saved_query,
    get_dashboard,
    get_saved_query,
    list_dashboards,
    list_saved_queries,
    parse_document,
    read_document_text,
    update_dashboard,
    update_saved_query,
)
from watchkeeper.workbooks.validation import MAX_DOCUMENT

__all__ = ["WorkbookErrors", "router"]

ADMIN_ROLE = "AuditLog.Read.All"
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


class WorkbookErrors(GraphErrors):
    """Graph's error body; an invalid document adds one ``details`` entry per problem."""

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response:
        if not isinstance(exc, WorkbookInvalid):
            return super().render(exc, status, request)
        request_id, client_id = request_ids(request)
        body = graph_error_body(
            "invalidRequest", str(exc), request_id=request_id, client_request_id=client_id
        )
        body["error"]["details"] = [problem.to_json() for problem in exc.problems]
        return JSONResponse(body, status_code=status)


router = protocol_router(WorkbookErrors(), tags=["workbooks"])
Reader = Annotated[Principal, Depends(RoleCheck("Data.Read", api="log-analytics"))]
WorkspaceParam = Annotated[
    str, Query(min_length=1, max_length=128, description="The tenant's workspace (id or name).")
]


def _viewer(principal: Principal, request: Request) -> Viewer:
    return Viewer(principal.tenant_id, principal.client_id, principal.has_any(frozenset({ADMIN_ROLE})),
                  actor_for(principal, request))  # fmt: skip


@contextmanager
def _permitted() -> Iterator[None]:
    try:
        yield
    except NotPermitted as exc:
        raise AuthError(403, "accessDenied", str(exc)) from None


async def _body(request: Request) -> Any:
    """The request's JSON or YAML document (by its Content-Type; JSON when none is given)."""
    too_large = WorkbookInvalid([Problem("body", f"the document is larger than {MAX_DOCUMENT // 1024} KB")])
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_DOCUMENT:  # refused before it is read
        raise too_large
    raw = await request.body()
    if len(raw) > MAX_DOCUMENT:
        raise too_large
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media_type not in ("application/json", *_YAML_TYPES):
        raise InvalidRequestError(
            f"a document is sent as application/json or application/yaml, not {media_type}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkbookInvalid([Problem("body", "the document is not UTF-8 text")]) from None
    return read_document_text(text, media_type)


def _tenant_catalog(runtime: Runtime, tenant_id: str) -> Catalog:
    """The Sentinel tables and the custom tables of the tenant's workspaces: what a tile may read."""
    with runtime.database.session() as session:
        workspaces = list_workspaces(session, tenant_id=tenant_id)
    custom: dict[str, TableDef] = {}
    for workspace in workspaces:
        catalog = runtime.workspaces.get(workspace).catalog
        custom |= {name: table for name in catalog if (table := catalog[name]).is_custom}
    return Catalog.sentinel().with_tables(custom.values())


def _split_shared(data: Any) -> tuple[Any, bool | None]:
    if not isinstance(data, dict) or "shared" not in data:
        return data, None
    shared = data.pop("shared")
    if not isinstance(shared, bool):
        raise WorkbookInvalid([Problem("shared", "shared is true or false")])
    return data, shared


async def _document(
    request: Request, runtime: Runtime, tenant_id: str
) -> tuple[DashboardDocument, bool | None]:
    data, shared = _split_shared(await _body(request))
    catalog = await run_in_threadpool(_tenant_catalog, runtime, tenant_id)
    return await run_in_threadpool(parse_document, data, catalog), shared


# ---------------------------------------------------------------- dashboards


@router.get("/api/dashboards", operation_id="workbooks-list-dashboards")
def dashboards(request: Request, runtime: RuntimeDep, principal: Reader) -> dict[str, Any]:
    """The built-in dashboards and the tenant's that the caller may see."""
    with runtime.database.session() as session:
        found = list_dashboards(session, viewer=_viewer(principal, request))
    return {"value": [d.model_dump(mode="json") for d in found]}


@router.post("/api/dashboards", operation_id="workbooks-create-dashboard", status_code=201)
async def new_dashboard(request: Request, runtime: RuntimeDep, principal: Reader) -> dict[str, Any]:
    """Save a dashboard document (JSON or YAML) owned by the caller."""
    document, shared = await _document(request, runtime, principal.tenant_id)

    def save() -> dict[str, Any]:
        with runtime.database.session() as session:
            made = create_dashboard(session, viewer=_viewer(principal, request), document=document,
                                    shared=bool(shared))  # fmt: skip
        return made.model_dump(mode="json")

    return await run_in_threadpool(save)


@router.get("/api/dashboards/{dashboard_id}", operation_id="workbooks-get-dashboard")
def dashboard(request: Request, runtime: RuntimeDep, principal: Reader, dashboard_id: str) -> dict[str, Any]:
    """One dashboard with its document."""
    with runtime.database.session() as session:
        found = get_dashboard(session, viewer=_viewer(principal, request), ref=dashboard_id[:128])
    return found.model_dump(mode="json")


@router.put("/api/dashboards/{dashboard_id}", operation_id="workbooks-replace-dashboard")
async def replace_dashboard(
    request: Request, runtime: RuntimeDep, principal: Reader, dashboard_id: str
) -> dict[str, Any]:
    """Replace a dashboard's document (and its sharing, when ``shared`` is given)."""
    document, shared = await _document(request, runtime, principal.tenant_id)

    def save() -> dict[str, Any]:
        with _permitted(), runtime.database.session() as session:
            changed = update_dashboard(session, viewer=_viewer(principal, request), ref=dashboard_id[:128],
                                       document=document, shared=shared)  # fmt: skip
        return changed.model_dump(mode="json")

    return await run_in_threadpool(save)


@router.delete("/api/dashboards/{dashboard_id}", operation_id="workbooks-delete-dashboard", status_code=204)
def remove_dashboard(request: Request, runtime: RuntimeDep, principal: Reader, dashboard_id: str) -> Response:
    """Delete a dashboard."""
    with _permitted(), runtime.database.session() as session:
        delete_dashboard(session, viewer=_viewer(principal, request), ref=dashboard_id[:128])
    return Response(status_code=204)


# ---------------------------------------------------------------- saved queries


def _syntax(query: str | None) -> None:
    problem = None if query is None else check_query(query, None, "query")
    if problem is not None:
        raise WorkbookInvalid([problem])


def _validated(model: type[SavedQueryCreate] | type[SavedQueryUpdate], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise WorkbookInvalid(
            [Problem(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()]
        ) from None


@router.get("/api/savedQueries", operation_id="workbooks-list-saved-queries")
def saved_queries(
    request: Request, runtime: RuntimeDep, principal: Reader, workspace: WorkspaceParam
) -> dict[str, Any]:
    """The saved queries of one of the tenant's workspaces that the caller may see."""
    viewer = _viewer(principal, request)
    found = resolve_workspace(runtime, viewer.actor, workspace)
    with runtime.database.session() as session:
        listed = list_saved_queries(session, viewer=viewer, workspace_id=found.id)
    return {"value": [q.model_dump(mode="json") for q in listed]}


@router.post("/api/savedQueries", operation_id="workbooks-create-saved-query", status_code=201)
async def new_saved_query(
    request: Request, runtime: RuntimeDep, principal: Reader, workspace: WorkspaceParam
) -> dict[str, Any]:
    """Save a query for one of the tenant's workspaces, owned by the caller."""
    body: SavedQueryCreate = _validated(SavedQueryCreate, await _body(request))
    _syntax(body.query)
    viewer = _viewer(principal, request)

    def save() -> dict[str, Any]:
        found = resolve_workspace(runtime, viewer.actor, workspace)
        with runtime.database.session() as session:
            made = create_saved_query(session, viewer=viewer, workspace_id=found.id, body=body)
        return made.model_dump(mode="json")

    return await run_in_threadpool(save)


@router.get("/api/savedQueries/{query_id}", operation_id="workbooks-get-saved-query")
def saved_query(request: Request, runtime: RuntimeDep, principal: Reader, query_id: str) -> dict[str, Any]:
    """One saved query."""
    with runtime.database.session() as session:
        found = get_saved_query(session, viewer=_viewer(principal, request), ref=query_id[:128])
    return found.model_dump(mode="json")


@router.put("/api/savedQueries/{query_id}", operation_id="workbooks-change-saved-query")
async def change_saved_query(
    request: Request, runtime: RuntimeDep, principal: Reader, query_id: str
) -> dict[str, Any]:
    """Change the fields the body names (name, query, description, shared)."""
    changes: SavedQueryUpdate = _validated(SavedQueryUpdate, await _body(request))
    _syntax(changes.query)

    def save() -> dict[str, Any]:
        with _permitted(), runtime.database.session() as session:
            changed = update_saved_query(session, viewer=_viewer(principal, request), ref=query_id[:128],
                                         changes=changes)  # fmt: skip
        return changed.model_dump(mode="json")

    return await run_in_threadpool(save)


@router.delete("/api/savedQueries/{query_id}", operation_id="workbooks-delete-saved-query", status_code=204)
def remove_saved_query(request: Request, runtime: RuntimeDep, principal: Reader, query_id: str) -> Response:
    """Delete a saved query."""
    with _permitted(), runtime.database.session() as session:
        delete_saved_query(session, viewer=_viewer(principal, request), ref=query_id[:128])
    return Response(status_code=204)
