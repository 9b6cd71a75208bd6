"""The Kusto REST API's response and error shapes (``../shared/specs/clients.md`` §5), as
azure-kusto-data's ``KustoClient``, msticpy and Kqlmagic read them.

* V2 (``/v2/rest/query``): a JSON array of frames: ``DataSetHeader``, the ``@ExtendedProperties``
  table (TableKind ``QueryProperties``), ``PrimaryResult``, ``QueryCompletionInformation`` and
  ``DataSetCompletion``. Dynamic values are JSON values.
* V1 (``/v1/rest/query``, ``/v1/rest/mgmt``, and Log Analytics with ``Prefer:
  ai.response-thinning=false``, §8): ``{"Tables": [...]}``; a query's last table is the table of
  contents (``Ordinal, Kind, Name, Id, PrettyName``). Columns carry the Kusto type (``ColumnType``)
  and the .NET type (``DataType``); dynamic values are JSON text.
* Errors: ``{"error": {"code", "message", "@type", "@message", "@permanent"}}``; the client raises
  ``KustoApiError`` whose text is ``@message``.

A result cut at the row limit is a partial failure, reported the way Kusto reports
``E_QUERY_RESULT_SET_TOO_LARGE``: ``HasErrors`` and ``OneApiErrors`` in V2's completion frame, a
completion row with ``Level`` 2 (the client counts rows below 4 as errors), ``Exceptions`` in V1.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.errors import (
    ExternalDataRefused,
    InvalidRequestError,
    KqlBindError,
    KqlError,
    KqlSyntaxError,
    NotFoundError,
    Throttled,
    WatchkeeperError,
)
from watchkeeper.schema.types import TICKS_PER_MICROSECOND, TICKS_PER_SECOND, KqlType
from watchkeeper.schema.values import format_timespan, parse_timespan_text
from watchkeeper.store import QueryResult

__all__ = [
    "KustoErrors",
    "QueryContext",
    "RequestOptions",
    "client_request_id",
    "dotnet_type",
    "kusto_error_body",
    "kusto_type",
    "request_options",
    "v1_body",
    "v1_table",
    "v2_frames",
    "wire_rows",
    "wire_value",
]

# KQL type -> (Kusto's name in V2 and in ColumnType, the .NET name V1's DataType carries)
_TYPE_NAMES: dict[KqlType, tuple[str, str]] = {
    KqlType.BOOL: ("bool", "Boolean"),
    KqlType.INT: ("int", "Int32"),
    KqlType.LONG: ("long", "Int64"),
    KqlType.REAL: ("real", "Double"),
    KqlType.DECIMAL: ("decimal", "Decimal"),
    KqlType.STRING: ("string", "String"),
    KqlType.DATETIME: ("datetime", "DateTime"),
    KqlType.TIMESPAN: ("timespan", "TimeSpan"),
    KqlType.GUID: ("guid", "Guid"),
    KqlType.DYNAMIC: ("dynamic", "Object"),
}

# E_QUERY_RESULT_SET_TOO_LARGE (0x80DA0003) as the signed 32-bit status code Kusto reports
_RESULT_TOO_LARGE = -2133196797
_INFO, _ERROR, _STATS = 4, 2, 6  # completion levels (V2 Level, V1 Severity)


def kusto_type(kql_type: KqlType) -> str:
    """Kusto's name of a column type (``string``, ``long``, ...); unknown types read as string."""
    return _TYPE_NAMES.get(kql_type, _TYPE_NAMES[KqlType.STRING])[0]


def dotnet_type(kql_type: KqlType) -> str:
    """The .NET type name V1 responses carry in ``DataType`` (``String``, ``Int64``, ...)."""
    return _TYPE_NAMES.get(kql_type, _TYPE_NAMES[KqlType.STRING])[1]


# ---------------------------------------------------------------------------- values


def wire_value(value: Any, kql_type: KqlType, *, dynamic_as_text: bool) -> Any:
    """A result value as Kusto writes it in JSON: datetimes as ISO 8601 UTC text, timespans as
    ``[-][d.]hh:mm:ss[.fffffff]``, decimals as text (their digits survive), non-finite reals as
    ``NaN``/``Infinity``, dynamic values as JSON text (V1, Log Analytics) or JSON (V2)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _datetime_text(value)
    if isinstance(value, timedelta):
        return format_timespan(_ticks(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if kql_type is KqlType.DYNAMIC and dynamic_as_text:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return value


def wire_rows(result: QueryResult, *, dynamic_as_text: bool) -> list[list[Any]]:
    """Every row of ``result`` with :func:`wire_value` applied."""
    types = [kql_type for _, kql_type in result.columns]
    return [
        [wire_value(v, t, dynamic_as_text=dynamic_as_text) for v, t in zip(row, types, strict=True)]
        for row in result.rows
    ]


def _datetime_text(value: datetime) -> str:
    # Kusto writes seconds, then the fraction without trailing zeros, then Z
    moment = value.astimezone(UTC) if value.tzinfo else value
    text = moment.replace(tzinfo=None, microsecond=0).isoformat()
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _ticks(value: timedelta) -> int:
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    return micros * TICKS_PER_MICROSECOND


# ---------------------------------------------------------------------------- query responses


@dataclass(frozen=True)
class QueryContext:
    """What a response reports about its request: the client's request id
    (``x-ms-client-request-id``), the server's activity id, and how long the query took."""

    client_request_id: str
    activity_id: str
    seconds: float = 0.0
    finished: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def timestamp(self) -> str:
        return _datetime_text(self.finished)


def _truncation_message(result: QueryResult) -> str:
    reason = "; ".join(result.warnings) or "the result was cut at the row limit"
    return (
        f"Query execution has exceeded the allowed limits (80DA0003): {reason}; not all records were "
        "returned (E_QUERY_RESULT_SET_TOO_LARGE). Narrow the query (where, summarize, take) to see all of it."
    )


def _statistics(result: QueryResult, context: QueryContext) -> dict[str, Any]:
    # the QueryResourceConsumption payload, in Kusto's spelling
    return {
        "ExecutionTime": round(context.seconds, 6),
        "dataset_statistics": [{"table_row_count": len(result.rows)}],
    }


_QUERY_PROPERTIES = {"Visualization": None, "Title": None, "XColumn": None, "Series": None,
                     "YColumns": None, "XTitle": None, "YTitle": None, "Kind": None, "Legend": None}  # fmt: skip


def v2_frames(result: QueryResult, context: QueryContext) -> list[dict[str, Any]]:
    """The V2 response of a query: header, properties, primary result, completion information,
    completion (with the partial failure when the row limit cut the result)."""
    columns = [{"ColumnName": name, "ColumnType": kusto_type(t)} for name, t in result.columns]
    return [
        {"FrameType": "DataSetHeader", "IsProgressive": False, "Version": "v2.0"},
        _v2_table(
            0,
            "QueryProperties",
            "@ExtendedProperties",
            [("TableId", "int"), ("Key", "string"), ("Value", "dynamic")],
            [[1, "Visualization", _QUERY_PROPERTIES]],
        ),
        {
            "FrameType": "DataTable",
            "TableId": 1,
            "TableKind": "PrimaryResult",
            "TableName": "PrimaryResult",
            "Columns": columns,
            "Rows": wire_rows(result, dynamic_as_text=False),
        },
        _v2_completion_information(result, context),
        _v2_completion(result, context),
    ]


def _v2_table(
    table_id: int, kind: str, name: str, columns: Sequence[tuple[str, str]], rows: list[list[Any]]
) -> dict[str, Any]:
    return {"FrameType": "DataTable", "TableId": table_id, "TableKind": kind, "TableName": name,
            "Columns": [{"ColumnName": n, "ColumnType": t} for n, t in columns], "Rows": rows}  # fmt: skip


_COMPLETION_COLUMNS = (
    ("Timestamp", "datetime"), ("ClientRequestId", "string"), ("ActivityId", "guid"), ("SubActivityId", "guid"),
    ("ParentActivityId", "guid"), ("Level", "int"), ("LevelName", "string"), ("StatusCode", "int"),
    ("StatusCodeName", "string"), ("EventType", "int"), ("EventTypeName", "string"), ("Payload", "string"),
)  # fmt: skip


def _v2_completion_information(result: QueryResult, context: QueryContext) -> dict[str, Any]:
    ids = [context.timestamp, context.client_request_id, context.activity_id, str(uuid.uuid4()),
           context.activity_id]  # fmt: skip
    if result.truncated:
        info = [*ids, _ERROR, "Error", _RESULT_TOO_LARGE, "E_QUERY_RESULT_SET_TOO_LARGE (0x80DA0003)"]
        text = _truncation_message(result)
    else:
        info, text = [*ids, _INFO, "Info", 0, "S_OK (0)"], "Query completed successfully"
    rows = [
        [*info, 4, "QueryInfo", json.dumps({"Count": 1, "Text": text})],
        [*ids, _INFO, "Info", 0, "S_OK (0)", 3, "QueryResourceConsumption",
         json.dumps(_statistics(result, context))],
    ]  # fmt: skip
    return _v2_table(2, "QueryCompletionInformation", "QueryCompletionInformation", _COMPLETION_COLUMNS, rows)


def _v2_completion(result: QueryResult, context: QueryContext) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "FrameType": "DataSetCompletion",
        "HasErrors": result.truncated,
        "Cancelled": False,
    }
    if result.truncated:
        error = kusto_error_body("LimitsExceeded", "Request is invalid and cannot be executed.",
                                 "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException",
                                 _truncation_message(result), permanent=False, context=context)  # fmt: skip
        frame["OneApiErrors"] = [error]
    return frame


def v1_table(name: str, columns: Sequence[tuple[str, KqlType]], rows: list[list[Any]]) -> dict[str, Any]:
    """One V1 table; ``rows`` already hold wire values."""
    described = [
        {"ColumnName": n, "DataType": dotnet_type(t), "ColumnType": kusto_type(t)} for n, t in columns
    ]
    return {"TableName": name, "Columns": described, "Rows": rows}


_STATUS_COLUMNS = (
    ("Timestamp", KqlType.DATETIME), ("Severity", KqlType.INT), ("SeverityName", KqlType.STRING),
    ("StatusCode", KqlType.INT), ("StatusDescription", KqlType.STRING), ("Count", KqlType.INT),
    ("RequestId", KqlType.GUID), ("ActivityId", KqlType.GUID), ("SubActivityId", KqlType.GUID),
    ("ClientActivityId", KqlType.STRING),
)  # fmt: skip
_TOC_COLUMNS = (("Ordinal", KqlType.LONG), ("Kind", KqlType.STRING), ("Name", KqlType.STRING),
                ("Id", KqlType.STRING), ("PrettyName", KqlType.STRING))  # fmt: skip


def v1_body(result: QueryResult, context: QueryContext) -> dict[str, Any]:
    """The V1 response of a query: the result, its properties, its status and the table of
    contents last; a result cut at the row limit adds ``Exceptions``."""
    ids = [context.activity_id, context.activity_id, str(uuid.uuid4()), context.client_request_id]
    if result.truncated:
        first = [_ERROR, "Error", _RESULT_TOO_LARGE, _truncation_message(result)]
    else:
        first = [_INFO, "Info", 0, "Query completed successfully"]
    status = [[context.timestamp, *first, 1, *ids],
              [context.timestamp, _STATS, "Stats", 0, json.dumps(_statistics(result, context)), 1, *ids]]  # fmt: skip
    contents = [[0, "QueryResult", "PrimaryResult"], [1, "QueryProperties", "@ExtendedProperties"],
                [2, "QueryStatus", "QueryStatus"]]  # fmt: skip
    body: dict[str, Any] = {"Tables": [
        v1_table("Table_0", result.columns, wire_rows(result, dynamic_as_text=True)),
        v1_table("Table_1", [("Value", KqlType.STRING)], [[json.dumps(_QUERY_PROPERTIES)]]),
        v1_table("Table_2", _STATUS_COLUMNS, status),
        v1_table("Table_3", _TOC_COLUMNS, [[*row, str(uuid.uuid4()), ""] for row in contents]),
    ]}  # fmt: skip
    if result.truncated:
        body["Exceptions"] = [_truncation_message(result)]
    return body


# ---------------------------------------------------------------------------- request properties


@dataclass(frozen=True)
class RequestOptions:
    """What a request's ``properties`` ask for: a timeout in seconds (``Options.servertimeout``)
    and a row limit (``Options.truncationmaxrecords``; ``Options.notruncation`` keeps the server's
    ceiling). None: the server's defaults. Either is capped by the server."""

    timeout: float | None = None
    max_rows: int | None = None


# Python's str(timedelta), which azure-kusto-data sends for a timedelta servertimeout: "1 day, 0:01:00"
_PY_TIMEDELTA = re.compile(
    r"^\s*(?:(?P<days>-?\d+) days?, )?(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)\s*$"
)


def request_options(properties: str | Mapping[str, Any] | None) -> RequestOptions:
    """Parse ``properties`` (a JSON string, as azure-kusto-data sends it, or an object)."""
    data = _properties_object(properties)
    options = {str(k).lower(): v for k, v in _mapping(data.get("Options"), "Options").items()}
    if _mapping(data.get("Parameters"), "Parameters"):
        raise InvalidRequestError(
            "query parameters (properties.Parameters) are not supported; "
            "declare query_parameters(...) with defaults in the query instead"
        )
    return RequestOptions(_server_timeout(options.get("servertimeout")), _row_limit(options))


def _properties_object(properties: str | Mapping[str, Any] | None) -> Mapping[str, Any]:
    if properties is None or properties == "":
        return {}
    if isinstance(properties, str):
        try:
            properties = json.loads(properties)
        except ValueError:
            raise InvalidRequestError("properties is not valid JSON") from None
    return _mapping(properties, "properties")


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{name} must be a JSON object")
    return value


def _server_timeout(value: Any) -> float | None:
    if value is None:
        return None
    seconds = _timespan_seconds(str(value))
    if seconds is None or seconds <= 0:
        raise InvalidRequestError(
            f"Options.servertimeout {value!r} is not a positive timespan such as 00:01:00"
        )
    return seconds


def _timespan_seconds(text: str) -> float | None:
    python = _PY_TIMEDELTA.match(text)
    if python:
        days = int(python["days"] or 0)
        return days * 86_400 + int(python["h"]) * 3600 + int(python["m"]) * 60 + float(python["s"])
    try:
        return parse_timespan_text(text) / TICKS_PER_SECOND
    except ValueError:
        return None


def _row_limit(options: Mapping[str, Any]) -> int | None:
    if _flag(options.get("notruncation")):
        return None
    value = options.get("truncationmaxrecords")
    if value is None:
        return None
    try:
        rows = int(str(value))
    except ValueError:
        rows = 0
    if rows <= 0:
        raise InvalidRequestError(f"Options.truncationmaxrecords {value!r} is not a positive number of rows")
    return rows


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


# ---------------------------------------------------------------------------- errors


def kusto_error_body(
    code: str,
    message: str,
    error_type: str,
    detail: str,
    *,
    permanent: bool,
    context: QueryContext | None = None,
) -> dict[str, Any]:
    """A Kusto OneAPI error; clients show ``@message``."""
    error: dict[str, Any] = {"code": code, "message": message, "@type": error_type, "@message": detail}
    if context is not None:
        error["@context"] = {"timestamp": context.timestamp, "clientRequestId": context.client_request_id,
                             "activityId": context.activity_id}  # fmt: skip
    error["@permanent"] = permanent
    return {"error": error}


_BAD_REQUEST = "Request is invalid and cannot be executed."


class KustoErrors:
    """Errors in the Kusto shape. A database (workspace) that does not exist, or belongs to
    another tenant, is Kusto's ``BadRequest_EntityNotFound`` (400): a 404 would read as "no such
    endpoint" in azure-kusto-data."""

    _BY_STATUS: ClassVar[dict[int, tuple[str, str, str]]] = {
        429: ("TooManyRequests", "Kusto.Data.Exceptions.KustoRequestThrottledException", "Request throttled"),
        504: ("Request_ExecutionTimeout", "Kusto.Data.Exceptions.KustoRequestExecutionTimeoutException",
              "Query is expired"),
        503: ("ServiceUnavailable", "Kusto.Data.Exceptions.KustoServiceException", "Service unavailable"),
    }  # fmt: skip

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response:
        context = QueryContext(client_request_id(request), getattr(request.state, "request_id", "") or "")
        status, body = self._body(exc, status, context)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else {}
        return JSONResponse(body, status_code=status, headers=headers)

    def _body(self, exc: WatchkeeperError, status: int, context: QueryContext) -> tuple[int, dict[str, Any]]:
        if isinstance(exc, KqlError):
            return 400, kusto_error_body("General_BadRequest", _BAD_REQUEST, *_kql_type_and_text(exc),
                                         permanent=True, context=context)  # fmt: skip
        if isinstance(exc, NotFoundError):
            kind = "Database" if exc.kind == "workspace" else exc.kind.capitalize()
            text = f"Entity ID '{exc.ref}' of kind '{kind}' was not found."
            return 400, kusto_error_body("BadRequest_EntityNotFound", _BAD_REQUEST,
                                         "Kusto.Data.Exceptions.EntityNotFoundException", text,
                                         permanent=True, context=context)  # fmt: skip
        if isinstance(exc, ExternalDataRefused):
            return 403, kusto_error_body("Forbidden", str(exc), "Kusto.Data.Exceptions.UnauthorizedOperationException",
                                         str(exc), permanent=True, context=context)  # fmt: skip
        if status in self._BY_STATUS:
            code, error_type, summary = self._BY_STATUS[status]
            return status, kusto_error_body(code, summary, error_type, f"{summary}: {exc}",
                                            permanent=False, context=context)  # fmt: skip
        return 400, kusto_error_body("General_BadRequest", _BAD_REQUEST,
                                     "Kusto.Data.Exceptions.KustoBadRequestException",
                                     f"Request is invalid and cannot be processed: {exc}",
                                     permanent=True, context=context)  # fmt: skip


def _kql_type_and_text(exc: KqlError) -> tuple[str, str]:
    # str(exc) ends with "(line L, column C)" when the position is known
    if isinstance(exc, KqlSyntaxError):
        return "Kusto.Data.Exceptions.SyntaxException", f"Syntax error: {exc}"
    if isinstance(exc, KqlBindError):
        return "Kusto.Data.Exceptions.SemanticException", f"Semantic error: {exc}"
    return (
        "Kusto.Data.Exceptions.KustoBadRequestException",
        f"Request is invalid and cannot be processed: {exc}",
    )


def client_request_id(request: Request) -> str:
    """The client's request id (azure-kusto-data sends ``x-ms-client-request-id: KPC.execute;<guid>``)."""
    return request.headers.get("x-ms-client-request-id") or request.headers.get("client-request-id") or ""
