"""The Kusto REST API (``../shared/specs/clients.md`` §5), as azure-kusto-data's ``KustoClient``,
msticpy's Kusto provider and Kqlmagic (``azuredataexplorer://``) call it:

* ``POST /v2/rest/query``: a query, answered in V2 frames;
* ``POST /v1/rest/query``: a query, answered in V1 tables (table of contents last);
* ``POST /v1/rest/mgmt``: a management command (``.show tables`` ...), answered in V1;
* ``GET /v1/rest/auth/metadata``: where to get a token and for which resource. azure-kusto-data
  asks before its first token; the answer names this server, so tokens are issued for it.

The body is ``{"db", "csl", "properties"}``; ``db`` is a workspace (id or name) of the caller's
tenant, ``properties`` a JSON string (or object) whose ``Options`` may set ``servertimeout``,
``truncationmaxrecords`` and ``notruncation``. Queries and commands need ``Data.Read``; queries
run through :func:`watchkeeper.flows.run_query` (tenant-scoped, limited, audited), commands are
audited as ``query.command``. Commands that change stored functions (``.create function``...)
also need a tenant administrator's role (:data:`~watchkeeper.directory.roles.ADMIN_ROLES`) and
each change is audited as ``function.create``, ``function.alter`` or ``function.drop``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.api.deps import KustoReader, RuntimeDep, actor_for, request_origin
from watchkeeper.api.errors import protocol_router
from watchkeeper.api.protocols.kusto import (
    KustoErrors,
    QueryContext,
    client_request_id,
    kusto_error_body,
    request_options,
    v1_body,
    v1_table,
    v2_frames,
    wire_rows,
)
from watchkeeper.api.protocols.kusto_mgmt import WorkspaceSchema, is_command, run_command
from watchkeeper.audit import Actor, record
from watchkeeper.directory import WorkspaceRead, list_workspaces
from watchkeeper.directory.roles import ADMIN_ROLES
from watchkeeper.errors import InvalidRequestError, WatchkeeperError
from watchkeeper.flows import QueryRequest, resolve_workspace, run_query
from watchkeeper.identity import Principal
from watchkeeper.runtime import Runtime
from watchkeeper.store import QueryResult
from watchkeeper.workspace_functions import WorkspaceFunctions

__all__ = ["KustoRequestBody", "router"]

router = protocol_router(KustoErrors(), tags=["kusto"])

# No client signs in interactively against this server; the id only fills the field clients expect.
_NO_CLIENT_APP = "00000000-0000-0000-0000-000000000000"


class KustoRequestBody(BaseModel):
    """The body Kusto clients send."""

    model_config = ConfigDict(extra="ignore")

    db: str | None = Field(default=None, description="The database: a workspace id or name.")
    csl: str = Field(min_length=1, description="The KQL query or management command.")
    properties: str | dict[str, Any] | None = Field(
        default=None, description="Client request properties: a JSON string or object with Options."
    )


class _ChangeDenied(Exception):
    """The caller may read the database but not change its stored functions (403 in Kusto's shape,
    which azure-kusto-data reports with its message)."""


def _forbidden(request: Request, denied: _ChangeDenied) -> JSONResponse:
    error = kusto_error_body("Forbidden", "Forbidden", "Kusto.Data.Exceptions.UnauthorizedOperationException",
                             f"Forbidden (403-Forbidden): {denied}", permanent=True, context=_context(request))  # fmt: skip
    return JSONResponse(error, status_code=403)


class _TenantDatabases:
    """The caller's tenant's workspaces, as management commands see them."""

    def __init__(self, runtime: Runtime, actor: Actor, db: str | None, principal: Principal) -> None:
        self.runtime, self.actor, self.db, self.principal = runtime, actor, db, principal

    def databases(self) -> list[WorkspaceRead]:
        if self.actor.tenant_id is None:
            return []
        with self.runtime.database.session() as session:
            return list_workspaces(session, tenant_id=self.actor.tenant_id)

    def database(self) -> WorkspaceSchema:
        if not self.db:
            raise InvalidRequestError("the request names no database: set db to a workspace id or name")
        return self.named(self.db)

    def named(self, ref: str) -> WorkspaceSchema:
        found = resolve_workspace(self.runtime, self.actor, ref)
        return WorkspaceSchema.of(found, self.runtime.workspaces.get(found))

    def function_store(self) -> tuple[WorkspaceRead, WorkspaceFunctions]:
        if not self.db:
            raise InvalidRequestError("the request names no database: set db to a workspace id or name")
        found = resolve_workspace(self.runtime, self.actor, self.db)
        return found, self.runtime.workspaces.get(found).functions

    def authorize_write(self, command: str) -> None:
        if self.principal.has_any(ADMIN_ROLES):
            return
        detail = {"needs": sorted(ADMIN_ROLES), "command": f"{command} function", "database": self.db}
        with self.runtime.database.session() as session:
            record(session, actor=self.actor, action="request.denied", outcome="denied",
                   target=str(self.db), detail=detail)  # fmt: skip
        needed = " or ".join(sorted(ADMIN_ROLES))
        raise _ChangeDenied(f"changing stored functions needs a tenant administrator's role: {needed}")

    def audit_write(self, action: str, workspace: WorkspaceRead, name: str, outcome: str) -> None:
        with self.runtime.database.session() as session:
            record(session, actor=self.actor, action=action, outcome=outcome, target=f"{workspace.id}/{name}",
                   detail={"workspace": workspace.id, "function": name, "protocol": "kusto"})  # fmt: skip


def _context(request: Request, seconds: float = 0.0) -> QueryContext:
    return QueryContext(client_request_id(request), getattr(request.state, "request_id", "") or "", seconds)


def _query(
    runtime: Runtime, principal: Principal, request: Request, body: KustoRequestBody, protocol: str
) -> tuple[QueryResult, QueryContext]:
    if not body.db:
        raise InvalidRequestError("the request names no database: set db to a workspace id or name")
    options = request_options(body.properties)
    max_rows = min(options.max_rows, runtime.settings.query_row_limit) if options.max_rows else None
    query = QueryRequest(text=body.csl, workspace=body.db, timeout=options.timeout, max_rows=max_rows,
                         protocol=protocol)  # fmt: skip
    outcome = run_query(runtime, actor_for(principal, request), query)
    return outcome.result, _context(request, outcome.seconds)


def _command(runtime: Runtime, principal: Principal, request: Request, body: KustoRequestBody) -> QueryResult:
    actor = actor_for(principal, request)
    detail: dict[str, object] = {"command": body.csl, "protocol": "kusto", "database": body.db}
    try:
        result = run_command(body.csl, _TenantDatabases(runtime, actor, body.db, principal))
    except WatchkeeperError as exc:
        _audit_command(runtime, actor, "failure", detail | {"error": type(exc).__name__})
        raise
    _audit_command(runtime, actor, "success", detail | {"rows": len(result.rows)})
    return result


def _audit_command(runtime: Runtime, actor: Actor, outcome: str, detail: dict[str, object]) -> None:
    with runtime.database.session() as session:
        record(session, actor=actor, action="query.command", outcome=outcome, target=str(detail["database"]),
               detail=detail)  # fmt: skip


@router.get("/v1/rest/auth/metadata", operation_id="kusto-auth-metadata")
def get_auth_metadata(request: Request) -> dict[str, Any]:
    """Where Kusto clients get tokens (this server) and for which resource (this server's origin)."""
    origin = request_origin(request)
    return {"AzureAD": {"LoginEndpoint": origin, "LoginMfaRequired": False, "KustoClientAppId": _NO_CLIENT_APP,
                        "KustoClientRedirectUri": f"{origin}/", "KustoServiceResourceId": origin,
                        "FirstPartyAuthorityUrl": f"{origin}/organizations"}}  # fmt: skip


@router.post("/v2/rest/query", operation_id="kusto-query-v2")
def query_v2(
    body: KustoRequestBody, request: Request, runtime: RuntimeDep, principal: KustoReader
) -> JSONResponse:
    """Run a query; the result as V2 frames (a management command's table as the primary result)."""
    if is_command(body.csl):
        try:
            result = _command(runtime, principal, request, body)
        except _ChangeDenied as denied:
            return _forbidden(request, denied)
        return JSONResponse(v2_frames(result, _context(request)))
    result, context = _query(runtime, principal, request, body, "kusto-v2")
    return JSONResponse(v2_frames(result, context))


@router.post("/v1/rest/query", operation_id="kusto-query-v1")
def query_v1(
    body: KustoRequestBody, request: Request, runtime: RuntimeDep, principal: KustoReader
) -> JSONResponse:
    """Run a query; the result as V1 tables with the table of contents last."""
    if is_command(body.csl):
        return _command_v1(runtime, principal, request, body)
    result, context = _query(runtime, principal, request, body, "kusto-v1")
    return JSONResponse(v1_body(result, context))


@router.post("/v1/rest/mgmt", operation_id="kusto-mgmt")
def management(
    body: KustoRequestBody, request: Request, runtime: RuntimeDep, principal: KustoReader
) -> JSONResponse:
    """Run a management command (``.show ...``); a query sent here is run and answered in V1."""
    if not is_command(body.csl):
        result, context = _query(runtime, principal, request, body, "kusto-v1")
        return JSONResponse(v1_body(result, context))
    return _command_v1(runtime, principal, request, body)


def _command_v1(
    runtime: Runtime, principal: Principal, request: Request, body: KustoRequestBody
) -> JSONResponse:
    try:
        result = _command(runtime, principal, request, body)
    except _ChangeDenied as denied:
        return _forbidden(request, denied)
    table = v1_table("Table_0", result.columns, wire_rows(result, dynamic_as_text=True))
    return JSONResponse({"Tables": [table]})
