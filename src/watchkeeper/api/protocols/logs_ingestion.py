"""Wire shapes of the two HTTP ingestion APIs (``../shared/specs/log-ingestion.md`` §A, §B).

* Logs Ingestion API: a JSON array of objects, optionally gzipped, at most :data:`CALL_LIMIT`
  bytes per call compressed or not; errors are ``{"error": {"code", "message"}}`` (what
  azure-monitor-ingestion surfaces as ``HttpResponseError``).
* HTTP Data Collector API: errors are ``{"Error": code, "Message": text}``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from watchkeeper.errors import InvalidRequestError, NotFoundError, Throttled, WatchkeeperError
from watchkeeper.ingest.receivers.data_collector import CollectorError

__all__ = [
    "CALL_LIMIT",
    "INFLATED_LIMIT",
    "DataCollectorErrors",
    "IngestionRefused",
    "LogsIngestionErrors",
    "read_body",
    "stream_records",
]

CALL_LIMIT = 1024 * 1024  # 1 MB per call as sent, compressed or not (service limits)
# what a gzipped call may inflate to: azure-monitor-ingestion fills its chunks with 1 MiB of records
# measured without the array's brackets and separators, so its bodies inflate to a little over
# 1 MiB; twice the limit takes any such chunk and still bounds a decompression bomb
INFLATED_LIMIT = 2 * CALL_LIMIT


class IngestionRefused(InvalidRequestError):
    """A request refused before its records are read: its status and the error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


async def read_body(
    chunks: AsyncIterator[bytes],
    limit: int,
    *,
    declared: str | None,
    code: str = "ContentLengthLimitExceeded",
) -> bytes:
    """The request body; 413 (with ``code``) when its declared length or the bytes received pass
    ``limit`` (a body over the limit is never read whole)."""
    too_large = IngestionRefused(413, code, f"The request body is larger than {limit} bytes.")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def stream_records(
    body: bytes, *, content_type: str | None, content_encoding: str | None
) -> list[dict[str, Any]]:
    """A Logs Ingestion call's records: a JSON array of objects (gunzipped first when sent so)."""
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        raise IngestionRefused(415, "UnsupportedMediaType", "Content-Type must be application/json.")
    encoding = (content_encoding or "").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body)
    elif encoding not in ("", "identity"):
        raise IngestionRefused(
            415, "UnsupportedMediaType", f"Content-Encoding {encoding!r} is not supported; use gzip."
        )
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise IngestionRefused(400, "InvalidContent", f"The body is not UTF-8 (byte {exc.start}).") from None
    except ValueError as exc:
        raise IngestionRefused(400, "InvalidContent", f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, list):
        raise IngestionRefused(400, "InvalidContent", "The body must be a JSON array of objects.")
    wrong = next((i for i, item in enumerate(data) if not isinstance(item, dict)), None)
    if wrong is not None:
        raise IngestionRefused(400, "InvalidContent", f"Element {wrong} of the array is not a JSON object.")
    return data


def _gunzip(body: bytes) -> bytes:
    """Decompress at most :data:`INFLATED_LIMIT` bytes (a small bomb does not become a large body)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, INFLATED_LIMIT + 1)
    except zlib.error as exc:
        raise IngestionRefused(400, "InvalidContent", f"The body is not valid gzip: {exc}.") from None
    if len(out) > INFLATED_LIMIT:
        raise IngestionRefused(
            413, "ContentLengthLimitExceeded", f"The uncompressed body is larger than {INFLATED_LIMIT} bytes."
        )
    if not inflater.eof:
        raise IngestionRefused(400, "InvalidContent", "The gzip body is truncated.")
    return out


class LogsIngestionErrors:
    """The Logs Ingestion API's error body. A rule that cannot be found answers without repeating
    its id, so that another tenant's rule and a missing one read the same."""

    _CODES: ClassVar[dict[int, str]] = {400: "InvalidRequest", 404: "NotFound", 413: "ContentLengthLimitExceeded",
                                        429: "TooManyRequests", 503: "ServiceUnavailable"}  # fmt: skip

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response:
        code = self._CODES.get(status, "InternalServerError")
        message = str(exc)
        if isinstance(exc, IngestionRefused):
            status, code = exc.status, exc.code
        elif isinstance(exc, NotFoundError) and exc.kind == "data collection rule":
            message = "No data collection rule with this immutable id exists for the caller."
        elif isinstance(exc, NotFoundError):
            code = "InvalidStream"
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else {}
        return JSONResponse(
            {"error": {"code": code, "message": message}}, status_code=status, headers=headers
        )


class DataCollectorErrors:
    """The HTTP Data Collector API's error body."""

    _CODES: ClassVar[dict[int, str]] = {400: "InvalidDataFormat", 403: "InvalidAuthorization", 413: "RequestTooLarge",
                                        429: "TooManyRequests", 503: "ServiceUnavailable"}  # fmt: skip

    def render(self, exc: WatchkeeperError, status: int, request: Request) -> Response:
        code = self._CODES.get(status, "UnspecifiedError")
        if isinstance(exc, CollectorError | IngestionRefused):
            status, code = exc.status, exc.code
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else {}
        return JSONResponse({"Error": code, "Message": str(exc)}, status_code=status, headers=headers)
