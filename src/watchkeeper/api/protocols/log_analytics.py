"""The Log Analytics query API's response and error shapes (``../shared/specs/clients.md`` §4).

A result is ``{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [[...]]}]}``;
a failure is ``{"error": {"code", "message", "correlationId", "innererror": {...}}}``, which the
Azure SDKs surface as ``HttpResponseError`` with ``.error.code``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.api.protocols.kusto import wire_rows
from watchkeeper.api.protocols.kusto_mgmt import WorkspaceSchema
from watchkeeper.errors import KqlError, KqlSyntaxError, Throttled, WatchkeeperError
from watchkeeper.kql import ast, parse
from watchkeeper.kql.asim import ASIM_FUNCTIONS
from watchkeeper.schema.catalog import TableDef
from watchkeeper.store import QueryResult

__all__ = [
    "LogAnalyticsErrors",
    "Preferences",
    "batch_item",
    "error_body",
    "kql_error_body",
    "metadata_body",
    "statistics_body",
    "tables_body",
]

# Column types Log Analytics names; watchkeeper's KQL types already use these spellings.
_TYPES = {"bool", "datetime", "dynamic", "guid", "int", "long", "real", "string", "timespan", "decimal"}


@dataclass(frozen=True)
class Preferences:
    """The ``Prefer`` header's requests: ``wait=N`` (a timeout in seconds, capped by the server),
    ``include-statistics=true``, ``include-render=true`` (the query's ``render`` visualization,
    azure-monitor-query's ``include_visualization``), and ``ai.response-thinning=false`` (Kqlmagic:
    answer in Kusto's V1 shape, ``../shared/specs/clients.md`` §8)."""

    wait: float | None = None
    statistics: bool = False
    kusto_v1: bool = False
    render: bool = False

    @classmethod
    def parse(cls, header: str) -> Preferences:
        values: dict[str, str] = {}
        for token in re.split(r"[,;]", header):
            name, _, value = token.strip().partition("=")
            values[name.strip().lower()] = value.strip().lower()
        wait = values.get("wait", "")
        return cls(
            wait=float(wait) if _WAIT.fullmatch(wait) else None,
            statistics=values.get("include-statistics") == "true",
            kusto_v1=values.get("ai.response-thinning") == "false",
            render=values.get("include-render") == "true",
        )


_WAIT = re.compile(r"\d+(?:\.\d+)?")


def tables_body(result: QueryResult, statistics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The 200 response for a query result; a result cut at the row limit adds a ``PartialError``
    (azure-monitor-query then returns ``LogsQueryPartialResult``). Dynamic values are JSON text,
    as Log Analytics sends them."""
    columns = [{"name": n, "type": t.value if t.value in _TYPES else "string"} for n, t in result.columns]
    body: dict[str, Any] = {
        "tables": [
            {"name": "PrimaryResult", "columns": columns, "rows": wire_rows(result, dynamic_as_text=True)}
        ]
    }
    if statistics is not None:
        body["statistics"] = statistics
    if result.truncated:
        message = "; ".join(result.warnings) or "the result was truncated"
        details = [{"code": "QueryResultTruncated", "message": message}]
        body["error"] = {"code": "PartialError", "message": message, "details": details}
    return body


def render_body(text: str) -> dict[str, Any] | None:
    """``Prefer: include-render=true``: how the query asks its result to be drawn (its last
    statement's closing ``render``), or None; azure-monitor-query returns it as ``visualization``."""
    statements = parse(text).results
    last = statements[-1] if statements else None
    if isinstance(last, ast.Pipe) and isinstance(last.operator, ast.Render):
        render = last.operator
        return {"visualization": render.visualization.lower(), **_render_properties(render.properties)}
    return None


# render properties whose value is a list of column names; the others are single values
_LIST_PROPERTIES = frozenset({"ycolumns", "series", "anomalycolumns"})


def _render_properties(properties: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, Any]:
    """The ``with (...)`` options by name (``ycolumns``/``series`` as lists, the rest as text)."""
    return {
        name: list(values) if name in _LIST_PROPERTIES else ", ".join(values)
        for name, values in properties
        if name != "visualization"
    }


def statistics_body(result: QueryResult, seconds: float) -> dict[str, Any]:
    """``Prefer: include-statistics=true``: how long the query ran and how many rows it returned,
    in Log Analytics' ``statistics.query`` spelling."""
    return {
        "query": {
            "executionTime": round(seconds, 6),
            "datasetStatistics": [{"tableRowCount": len(result.rows)}],
        }
    }


def metadata_body(schema: WorkspaceSchema) -> dict[str, Any]:
    """``GET /v1/workspaces/{id}/metadata``: the workspace, the tables that hold data with their
    columns, and the functions a query may call: the workspace's stored functions (with their
    bodies) and the built-in ASIM parsers (Kqlmagic's and Grafana's schema call, and the console's
    completion; the other collections are empty)."""
    workspace = schema.record
    tables = [_metadata_table(t, workspace.id) for t in schema.tables]
    return {
        "tables": tables,
        "functions": _metadata_functions(schema, workspace.id),
        "tableGroups": [],
        "applications": [],
        "resourceTypes": [],
        "solutions": [],
        "categories": [],
        "workspaces": [{"id": workspace.id, "name": workspace.name, "resourceId": f"/workspaces/{workspace.id}",
                        "related": {"tables": [t["id"] for t in tables]}}],
    }  # fmt: skip


def _metadata_functions(schema: WorkspaceSchema, workspace_id: str) -> list[dict[str, Any]]:
    related = {"workspaces": [workspace_id]}
    stored = [
        {"id": f"f/{f.name}", "name": f.name, "displayName": f.name, "description": f.docstring,
         "parameters": f.parameters, "body": f.body, "category": f.folder or "Functions", "related": related}
        for f in schema.functions
    ]  # fmt: skip
    names = {f.name for f in schema.functions}
    # built-in parsers: their bodies (about 125 kB together) are left out of a call clients make on
    # every connection; a stored function of the same name hides the built-in, as it does in queries
    built_in = [
        {"id": f"f/{name}", "name": name, "displayName": name, "description": "ASIM parser (built in)",
         "parameters": parser.params, "category": "ASIM parsers", "related": related}
        for name, parser in sorted(ASIM_FUNCTIONS.items()) if name not in names
    ]  # fmt: skip
    return stored + built_in


def _metadata_table(table: TableDef, workspace_id: str) -> dict[str, Any]:
    columns = [
        {"name": c.name, "type": c.type.value if c.type.value in _TYPES else "string"} for c in table.columns
    ]
    table_body: dict[str, Any] = {"id": f"t/{table.name}", "name": table.name, "columns": columns,
                                  "related": {"workspaces": [workspace_id]}}  # fmt: skip
    if table.column("TimeGenerated") is not None:
        table_body["timespanColumn"] = "TimeGenerated"
    return table_body


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
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else {}
        return JSONResponse(self.body(exc, status), status_code=status, headers=headers)

    def body(self, exc: WatchkeeperError, status: int) -> dict[str, Any]:
        """The error body alone (a batch carries one per failed request)."""
        if isinstance(exc, KqlError):
            return kql_error_body(exc)
        code, inner = self._CODES.get(status, ("BadArgumentError", type(exc).__name__))
        return error_body(code, str(exc), inner)


def batch_item(request_id: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
    """One answer of ``POST /v1/$batch``: the request's id, its HTTP status and its body."""
    return {"id": request_id, "status": status, "body": body}
