"""HTTP answers for failures: watchkeeper's errors as Log Analytics error bodies, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from watchkeeper.api.log_analytics import error_body, kql_error_body
from watchkeeper.api.workspaces import UnknownWorkspaceError
from watchkeeper.errors import (
    CatalogError,
    KqlError,
    QueryExecutionError,
    QueryLimitError,
    QueryTimeout,
    WatchkeeperError,
)

__all__ = ["install_error_handlers"]

log = logging.getLogger("watchkeeper.api")

# error class -> (HTTP status, Log Analytics code, inner code); the first match in order wins.
_ANSWERS: tuple[tuple[type[WatchkeeperError], int, str, str], ...] = (
    (UnknownWorkspaceError, 404, "WorkspaceNotFoundError", "WorkspaceNotFound"),
    (CatalogError, 400, "BadArgumentError", "SemanticError"),
    (QueryTimeout, 504, "GatewayTimeout", "QueryTimeout"),
    (QueryLimitError, 400, "BadArgumentError", "QueryLimitExceeded"),
    (QueryExecutionError, 400, "BadArgumentError", "QueryExecutionError"),
    (WatchkeeperError, 503, "ServiceUnavailable", "StoreUnavailable"),
)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into JSON error responses."""
    app.add_exception_handler(KqlError, _kql_error)  # type: ignore[arg-type]
    app.add_exception_handler(WatchkeeperError, _watchkeeper_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _kql_error(_request: Request, exc: KqlError) -> JSONResponse:
    return JSONResponse(kql_error_body(exc), status_code=400)


async def _watchkeeper_error(_request: Request, exc: WatchkeeperError) -> JSONResponse:
    status, code, inner = next((s, c, i) for kind, s, c, i in _ANSWERS if isinstance(exc, kind))
    return JSONResponse(error_body(code, str(exc), inner), status_code=status)


async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return JSONResponse(
        error_body("BadArgumentError", "; ".join(problems), "InvalidRequest"), status_code=400
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    body = error_body("InternalServerError", "an internal error occurred; the server log has the details")
    log.error("unexpected error (correlation id %s)", body["error"]["correlationId"], exc_info=exc)
    return JSONResponse(body, status_code=500)
