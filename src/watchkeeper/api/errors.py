"""Failures as HTTP answers, never a traceback.

* Authentication and authorisation failures (:class:`AuthError`) answer in Graph's error shape on
  every route, with ``WWW-Authenticate`` on 401.
* Other failures answer in the shape of the protocol the route speaks: a router built with
  :func:`protocol_router` renders :class:`~watchkeeper.errors.WatchkeeperError` through its
  :class:`ErrorShape`; the status comes from one table, :func:`status_for`.
* Anything unexpected is a 500 whose body carries only a correlation id; the log has the details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter

from watchkeeper.api.protocols.graph import graph_error_body
from watchkeeper.errors import (
    CatalogError,
    ExternalDataRefused,
    InvalidRequestError,
    KqlError,
    NotFoundError,
    QueryExecutionError,
    QueryLimitError,
    QueryTimeout,
    StateBusy,
    Throttled,
    WatchkeeperError,
)

__all__ = [
    "AuthError",
    "ErrorShape",
    "GraphErrors",
    "install_error_handlers",
    "protocol_router",
    "request_ids",
    "status_for",
]

log = logging.getLogger("watchkeeper.api")

# error class -> HTTP status; the first match in order wins
_STATUS: tuple[tuple[type[WatchkeeperError], int], ...] = (
    (KqlError, 400),
    (NotFoundError, 404),
    (StateBusy, 503),  # the server is overloaded, not the caller too fast (Retry-After all the same)
    (Throttled, 429),
    (QueryTimeout, 504),
    (ExternalDataRefused, 403),
    (QueryLimitError, 400),
    (QueryExecutionError, 400),
    (CatalogError, 400),
    (InvalidRequestError, 400),
)


def status_for(exc: WatchkeeperError) -> int:
    """The HTTP status of an error (400 for the caller's mistakes, 503 for the server's)."""
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 503)


def request_ids(request: Request) -> tuple[str, str | None]:
    """(the server's request id, the client's request id if it sent one)."""
    server = getattr(request.state, "request_id", None) or ""
    client = request.headers.get("client-request-id") or request.headers.get("x-ms-client-request-id")
    return server, client


class AuthError(Exception):
    """A request without valid credentials (401) or without a role it needs (403)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ErrorShape(Protocol):
    """How a protocol spells an error response."""

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response: ...


class GraphErrors:
    """Graph's error body; the code says the kind of failure."""

    _CODES: ClassVar[dict[int, str]] = {400: "invalidRequest", 403: "accessDenied", 404: "itemNotFound", 429: "activityLimitReached",
              503: "serviceNotAvailable", 504: "serviceNotAvailable"}  # fmt: skip

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response:
        request_id, client_id = request_ids(request)
        code = self._CODES.get(status, "generalException")
        body = graph_error_body(code, str(exc), request_id=request_id, client_request_id=client_id)
        return JSONResponse(body, status_code=status, headers=_retry_after(exc))


def _retry_after(exc: Exception) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else {}


def protocol_router(shape: ErrorShape, **kwargs: Any) -> APIRouter:
    """An APIRouter whose routes answer watchkeeper's errors in ``shape``."""

    class ShapedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def shaped(request: Request) -> Response:
                try:
                    return await handler(request)
                except RequestValidationError as invalid:
                    return shape.render(InvalidRequestError(_problems(invalid)), 400, request)
                except WatchkeeperError as exc:
                    if status_for(exc) >= 500:
                        log.warning("request failed: %s: %s", type(exc).__name__, exc)
                    return shape.render(exc, status_for(exc), request)

            return shaped

    return APIRouter(route_class=ShapedRoute, **kwargs)


def install_error_handlers(app: FastAPI) -> None:
    """App-wide handlers: auth failures, invalid requests, and anything a route did not shape."""
    app.add_exception_handler(AuthError, _auth_error)  # type: ignore[arg-type]
    app.add_exception_handler(WatchkeeperError, _watchkeeper_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _auth_error(request: Request, exc: AuthError) -> JSONResponse:
    request_id, client_id = request_ids(request)
    body = graph_error_body(exc.code, exc.message, request_id=request_id, client_request_id=client_id)
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{exc.message}"'
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _watchkeeper_error(request: Request, exc: WatchkeeperError) -> Response:
    return GraphErrors().render(exc, status_for(exc), request)


def _problems(exc: RequestValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    request_id, client_id = request_ids(request)
    body = graph_error_body(
        "invalidRequest", _problems(exc), request_id=request_id, client_request_id=client_id
    )
    return JSONResponse(body, status_code=400)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id, client_id = request_ids(request)
    log.error("unexpected error (request id %s)", request_id, exc_info=exc)
    message = f"an internal error occurred; the server log has the details (request id {request_id})"
    body = graph_error_body("generalException", message, request_id=request_id, client_request_id=client_id)
    return JSONResponse(body, status_code=500)
