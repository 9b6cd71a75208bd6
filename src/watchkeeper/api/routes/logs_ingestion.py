"""The Logs Ingestion API (``../shared/specs/log-ingestion.md`` §B, ``clients.md`` §3), as
azure-monitor-ingestion's ``LogsIngestionClient.upload``, Fluent Bit, Vector and syslog-ng send:

``POST /dataCollectionRules/{dcrImmutableId}/streams/{streamName}?api-version=...`` (any version),
a JSON array of objects (gzip accepted), a bearer token for ``https://monitor.azure.com`` with the
``Logs.Ingest`` role. The rule must be the caller's tenant's: another tenant's answers 404 exactly
like one that does not exist. The stream's transform runs on the batch before it lands; the answer,
204 with no body, comes once the rows are committed.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import protocol_router
from watchkeeper.api.protocols.logs_ingestion import (
    CALL_LIMIT,
    LogsIngestionErrors,
    read_body,
    stream_records,
)
from watchkeeper.flows import ingest_stream
from watchkeeper.identity import Principal

__all__ = ["router"]

router = protocol_router(LogsIngestionErrors(), tags=["logs-ingestion"])

LogsSender = Annotated[Principal, Depends(RoleCheck("Logs.Ingest", api="ingestion"))]


@router.post(
    "/dataCollectionRules/{rule_id}/streams/{stream}", operation_id="logs-ingestion-upload", status_code=204
)
async def upload(
    rule_id: str, stream: str, request: Request, runtime: RuntimeDep, principal: LogsSender
) -> Response:
    """Store records sent to a stream of a data collection rule; 204 once they are committed."""
    headers = request.headers
    body = await read_body(request.stream(), CALL_LIMIT, declared=headers.get("content-length"))
    records = stream_records(
        body, content_type=headers.get("content-type"), content_encoding=headers.get("content-encoding")
    )
    actor = actor_for(principal, request)
    # Azure SDKs keep a request's id when they retry it: a retry after a lost answer is stored once
    request_id = headers.get("x-ms-client-request-id", "")[:128] or None
    await run_in_threadpool(
        partial(ingest_stream, runtime, actor, rule_id, stream, records, request_id=request_id)
    )
    return Response(status_code=204)
