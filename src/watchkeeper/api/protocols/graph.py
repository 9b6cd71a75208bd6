"""Microsoft Graph's error body (``../shared/specs/graph-security-api.md`` "Error body"), used for
authentication and authorisation failures on every route, and for the Graph routes' errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["graph_error_body"]


def graph_error_body(
    code: str, message: str, *, request_id: str, client_request_id: str | None
) -> dict[str, Any]:
    """``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``."""
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id or request_id,
    }
    return {"error": {"code": code, "message": message, "innerError": inner}}
