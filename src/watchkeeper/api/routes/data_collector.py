"""The HTTP Data Collector API (``../shared/specs/log-ingestion.md`` §A, ``clients.md`` §9), as
Fluent Bit's ``azure`` output, Vector's ``azure_monitor_logs`` sink, Logstash and
azure-log-analytics-data-collector-api send:

``POST /api/logs?api-version=2016-04-01`` signed ``SharedKey {workspaceId}:{signature}`` with one
of the workspace's shared keys (``wk workspaces keys``). Azure routes by the workspace id in the
host name; here the workspace is the one the ``Authorization`` header names. No token: the
signature is the credential. The answer, 200 with an empty body, comes once the rows are committed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from watchkeeper.api.deps import RuntimeDep
from watchkeeper.api.errors import protocol_router
from watchkeeper.api.protocols.logs_ingestion import DataCollectorErrors, read_body
from watchkeeper.flows import collect_logs
from watchkeeper.ingest.receivers.data_collector import BODY_LIMIT, CollectorPost

__all__ = ["router"]

router = protocol_router(DataCollectorErrors(), tags=["data-collector"])


def _post(request: Request) -> CollectorPost:
    headers = request.headers
    return CollectorPost(
        api_version=request.query_params.get("api-version"), authorization=headers.get("authorization"),
        content_type=headers.get("content-type"), log_type=headers.get("log-type"), date=headers.get("x-ms-date"),
        time_field=headers.get("time-generated-field") or None, resource_id=headers.get("x-ms-azureresourceid"),
        body=b"",
    )  # fmt: skip


@router.post("/api/logs", operation_id="data-collector-post")
async def post_logs(request: Request, runtime: RuntimeDep) -> Response:
    """Store a signed batch of records in table ``{Log-Type}_CL`` of the signing workspace."""
    post = _post(request)
    post.check(datetime.now(UTC))  # the headers, before a body of up to 30 MB is read
    body = await read_body(
        request.stream(), BODY_LIMIT, declared=request.headers.get("content-length"), code="RequestTooLarge"
    )
    request_id = getattr(request.state, "request_id", None)
    await run_in_threadpool(collect_logs, runtime, replace(post, body=body), request_id=request_id)
    return Response(status_code=200)
