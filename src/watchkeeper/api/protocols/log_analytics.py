"""The Log Analytics query API's response and error shapes (``../shared/specs/clients.md`` §4).

A result is ``{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [[...]]}]}``;
a failure is ``{"error": {"code", "message", "correlationId", "innererror": {...}}}``, which the
Azure SDKs surface as ``HttpResponseError`` with ``.error.code``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.errors import KqlError, KqlSyntaxError, QueryThrottled, WatchkeeperError
from watchkeeper.store import QueryResult

__all__ = ["LogAnalyticsErrors", "error_body", "kql_error_body", "tables_body"]

# Column types Log Analytics names; watchkeeper's KQL types already use these spellings.
_TYPES = {"bool", "datetime", "dynamic", "guid", "int", "long", "real", "string", "timespan", "decimal"}


def tables_body(result: QueryResult) -> dict[str, Any]:
    """The 200 response for a query result; a result cut at the row limit adds a ``PartialError``."""
    data = result.to_json()
    columns = [
        {"name": c["name"], "type": c["type"] if c["type"] in _TYPES else "string"} for c in data["columns"]
    ]
    dynamic = [i for i, c in enumerate(columns) if c["type"] == "dynamic"]
    rows = [_encode_dynamic(row, dynamic) for row in data["rows"]] if dynamic else data["rows"]
    body: dict[str, Any] = {"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]}
    if result.truncated:
        message = "; ".join(result.warnings) or "the result was truncated"
        details = [{"code": "QueryResultTruncated", "message": message}]
        body["error"] = {"code": "PartialError", "message": message, "details": details}
    return body


def _encode_dynamic(row: list[Any], positions: list[int]) -> list[Any]:
    # Log Analytics returns dynamic values as JSON text; clients (msticpy, Kqlmagic) parse them.
    out = list(row)
    for i in positions:
        if out[i] is not None:
            out[i] = json.dumps(out[i], separators=(",", ":"))
    return out


def error_body(code: str, message: str, inner_code: str | None = None, **extra: Any) -> dict[str, Any]:
    """An error response body with a fresh correlation id."""
    error: dict[str, Any] = {"code": code, "message": message, "correlationId": str(uuid.uuid4()), **extra}
    if inner_code is not None:
        error["innererror"] = {"code": inner_code, "message": message}
    return {"error": error}


def kql_error_body(exc: KqlError) -> dict[str, Any]:
    """A 400 body for a query that is not valid KQL, with line and column when known."""
    inner = "SyntaxError" if isinstance(exc, KqlSyntaxError) else "SemanticError"
    body = error_body("BadArgumentError", exc.message, inner, line=exc.line, column=exc.column)
    body["error"]["innererror"]["innererror"] = {
        "code": type(exc).__name__,
        "message": exc.render(),
        "line": exc.line,
        "pos": exc.column,
    }
    return body


class LogAnalyticsErrors:
    """Errors in the Log Analytics shape; azure-monitor-query raises ``HttpResponseError`` with
    ``.error.code`` from it."""

    _CODES: ClassVar[dict[int, tuple[str, str]]] = {
        404: ("WorkspaceNotFoundError", "WorkspaceNotFound"),
        429: ("ThrottledError", "TooManyConcurrentQueries"),
        504: ("GatewayTimeout", "QueryTimeout"),
        403: ("InsufficientAccessError", "ExternalDataRefused"),
        503: ("ServiceUnavailable", "StoreUnavailable"),
    }

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response:
        if isinstance(exc, KqlError):
            return JSONResponse(kql_error_body(exc), status_code=400)
        code, inner = self._CODES.get(status, ("BadArgumentError", type(exc).__name__))
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, QueryThrottled) else {}
        return JSONResponse(error_body(code, str(exc), inner), status_code=status, headers=headers)
