"""Request ids: every request gets one (``x-ms-request-id`` and ``request-id`` on the response,
``request.state.request_id`` for handlers and the audit log); a client's own id
(``client-request-id`` / ``x-ms-client-request-id``) is echoed back."""

from __future__ import annotations

import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestIdMiddleware"]


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

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-ms-request-id", request_id.encode()), (b"request-id", request_id.encode())]
                if client:
                    headers.append((b"client-request-id", client.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_ids)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            text: str = value.decode("latin-1")
            return text if len(text) <= 128 else None
    return None
