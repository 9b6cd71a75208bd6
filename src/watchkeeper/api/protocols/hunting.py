"""Advanced hunting's wire shapes: Defender's ``POST /api/advancedqueries/run``
(``../shared/specs/defender-endpoint-api.md`` §6) and Graph's ``runHuntingQuery``
(``graph-security-api.md`` "runHuntingQuery result").

Both answer a schema of .NET type names and one JSON object per row; they differ in casing
(Defender ``Schema``/``Results``/``Name``/``Type``, Graph ``schema``/``results``/``name``/``type``).
Values are typed as the .NET serialiser writes them: datetimes ISO 8601 in UTC with ``Z`` and up to
seven fractional digits, timespans ``[-][d.]hh:mm:ss[.fffffff]``, dynamic values as JSON values (not
text), NaN and infinities as the strings .NET writes for them.

Defender's errors are ``{"error": {"code", "message", "target": "<correlation id>"}}`` with the
codes of the spec's table (``BadRequest``, ``Unauthorized``, ``Forbidden``, ``NotFound``,
``TooManyRequests``, ...).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.errors import (
    ExternalDataRefused,
    InvalidRequestError,
    QueryTimeout,
    Throttled,
    WatchkeeperError,
)
from watchkeeper.schema.types import TICKS_PER_MICROSECOND, KqlType
from watchkeeper.schema.values import format_timespan
from watchkeeper.store import QueryResult

__all__ = [
    "DOTNET_TYPES",
    "DefenderErrors",
    "defender_body",
    "defender_error_response",
    "graph_hunting_body",
    "hunting_rows",
    "truncation_warning",
]

# KQL type -> the .NET type name both hunting APIs report (Kusto's own mapping).
DOTNET_TYPES: dict[KqlType, str] = {
    KqlType.BOOL: "Boolean",
    KqlType.INT: "Int32",
    KqlType.LONG: "Int64",
    KqlType.REAL: "Double",
    KqlType.DECIMAL: "Decimal",
    KqlType.STRING: "String",
    KqlType.DATETIME: "DateTime",
    KqlType.TIMESPAN: "TimeSpan",
    KqlType.GUID: "Guid",
    KqlType.DYNAMIC: "Object",
    KqlType.UNKNOWN: "String",
}


def _datetime_text(value: datetime) -> str:
    # .NET's round-trip format with trailing zeros dropped ("...T08:00:00Z", "...T08:00:00.1234567Z")
    moment = value.astimezone(UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _timespan_text(value: timedelta) -> str:
    micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
    return format_timespan(micros * TICKS_PER_MICROSECOND)


def _number(value: Any) -> Any:
    # JSON has no NaN or infinity; .NET writes them as these strings
    number = float(value) if isinstance(value, Decimal) else value
    if isinstance(number, float) and not math.isfinite(number):
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    return number


_ENCODERS: dict[KqlType, Callable[[Any], Any]] = {
    KqlType.DATETIME: _datetime_text,
    KqlType.TIMESPAN: _timespan_text,
    KqlType.REAL: _number,
    KqlType.DECIMAL: _number,
    KqlType.GUID: str,
}


def hunting_rows(result: QueryResult) -> list[dict[str, Any]]:
    """One JSON object per row, column name -> JSON value."""
    names = result.column_names
    encoders = [_ENCODERS.get(kql_type) for _, kql_type in result.columns]
    return [
        {
            name: value if value is None or encode is None else encode(value)
            for name, encode, value in zip(names, encoders, row, strict=True)
        }
        for row in result.rows
    ]


def _schema(result: QueryResult, name_key: str, type_key: str) -> list[dict[str, str]]:
    return [{name_key: name, type_key: DOTNET_TYPES[kql_type]} for name, kql_type in result.columns]


def defender_body(result: QueryResult) -> dict[str, Any]:
    """``{"Schema": [{"Name", "Type"}], "Results": [{...}]}``; a truncated result adds ``Warnings``."""
    body: dict[str, Any] = {"Schema": _schema(result, "Name", "Type"), "Results": hunting_rows(result)}
    warning = truncation_warning(result)
    if warning is not None:
        body["Warnings"] = [warning]
    return body


def graph_hunting_body(result: QueryResult, *, origin: str) -> dict[str, Any]:
    """``huntingQueryResults``; a truncated result adds the instance annotation
    ``@watchkeeper.warnings``, which OData clients may ignore but people can read."""
    body: dict[str, Any] = {
        "@odata.context": f"{origin}/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
        "schema": _schema(result, "name", "type"),
        "results": hunting_rows(result),
    }
    warning = truncation_warning(result)
    if warning is not None:
        body["@watchkeeper.warnings"] = [warning]
    return body


def truncation_warning(result: QueryResult) -> str | None:
    """Why the result is incomplete (it was cut at the row limit), or None if it is complete."""
    if not result.truncated:
        return None
    return "; ".join(result.warnings) or f"the result was truncated at {len(result.rows)} rows"


# ---------------------------------------------------------------------------- errors


def defender_error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A Defender error answer with a fresh correlation id in ``target``."""
    body = {"error": {"code": code, "message": message, "target": str(uuid.uuid4())}}
    return JSONResponse(body, status_code=status, headers=headers)


class DefenderErrors:
    """Errors in Defender's shape. Defender reports a query past its time limit as a 400 ("Query
    exceeded the timeout period"), so that is what a timeout is here too."""

    _CODES: ClassVar[dict[int, str]] = {400: "BadRequest", 403: "Forbidden", 404: "NotFound",
                                        429: "TooManyRequests"}  # fmt: skip

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response:
        if isinstance(exc, QueryTimeout):
            return defender_error_response(400, "BadRequest", f"Query exceeded the timeout period: {exc}")
        if isinstance(exc, Throttled):
            headers = {"Retry-After": str(exc.retry_after)}
            if status == 503:  # the state database stayed busy: the service, not the caller's rate
                return defender_error_response(503, "ServiceUnavailable", str(exc), headers)
            return defender_error_response(429, "TooManyRequests", str(exc), headers)
        if status not in self._CODES:
            return defender_error_response(500, "InternalServerError", str(exc))
        return defender_error_response(status, self._code(exc, status), str(exc))

    def _code(self, exc: WatchkeeperError, status: int) -> str:
        if isinstance(exc, InvalidRequestError):
            return "InvalidRequestBody"
        if isinstance(exc, ExternalDataRefused):
            return "DisallowedOperation"
        return self._CODES[status]
