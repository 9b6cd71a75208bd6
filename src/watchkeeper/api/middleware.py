"""Request ids and the access log.

Every request gets an id (``x-ms-request-id`` and ``request-id`` on the response,
``request.state.request_id`` for handlers and the audit log); a client's own id
(``client-request-id`` / ``x-ms-client-request-id``) is echoed back. When the request ends, one
access-log line records it (:mod:`watchkeeper.api.logging`): method, path without the query string,
status, duration, and the caller's tenant and client id once a route has verified them
(:func:`identify_caller`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchkeeper.api.logging import ACCESS_LOGGER, current_request_id

__all__ = ["RequestIdMiddleware", "identify_caller"]

access_log = logging.getLogger(ACCESS_LOGGER)

_CUT = "The server is shutting down and its grace period for this request ran out; retry shortly."


def identify_caller(request: Request, *, tenant_id: str | None, client_id: str | None) -> None:
    """Name the verified caller of ``request`` for its access-log line."""
    request.state.caller = {"tenant_id": tenant_id, "client_id": client_id}


class RequestIdMiddleware:
    """Pure ASGI (no response buffering), so streaming answers and cancellation still work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        client = _header(scope, b"client-request-id") or _header(scope, b"x-ms-client-request-id")
        status: list[int] = []

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers = list(message.get("headers", []))
                headers += [(b"x-ms-request-id", request_id.encode()), (b"request-id", request_id.encode())]
                if client:
                    headers.append((b"client-request-id", client.encode()))
                message["headers"] = headers
            await send(message)

        context = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_ids)
        except Exception:
            status.append(500)  # what the server error middleware around us answers
            raise
        except asyncio.CancelledError:
            # only a shutdown whose grace ran out cancels a request: say so, and when to come back
            if not status:
                await _shutting_down(send_with_ids)
            raise
        finally:
            current_request_id.reset(context)
            _log_access(scope, request_id, status[0] if status else None, time.perf_counter() - started)


async def _shutting_down(send: Send) -> None:
    body = json.dumps({"error": {"code": "ServiceUnavailable", "message": _CUT}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"retry-after", b"5"), (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _log_access(scope: Scope, request_id: str, status: int | None, seconds: float) -> None:
    """One line per request. The path only: a query string may hold KQL or credentials."""
    method, path = scope.get("method", ""), scope.get("path", "")
    caller = scope.get("state", {}).get("caller") or {}
    peer = scope.get("client")
    fields = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "client": peer[0] if peer else None,
        "tenant_id": caller.get("tenant_id"),
        "client_id": caller.get("client_id"),
    }
    outcome = status if status is not None else "no response (cancelled)"
    access_log.info("%s %s %s", method, path, outcome, extra=fields)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            text: str = value.decode("latin-1")
            return text if len(text) <= 128 else None
    return None
