"""A live feed of the caller's tenant's incidents: ``GET /api/incidents/events``, server-sent events
(``text/event-stream``, the WHATWG HTML "Server-sent events" format that ``EventSource`` reads).

Each incident created or changed after the stream opens is one ``incident`` event whose data is the
incident in Graph's ``security.incident`` shape (without alerts and comments) plus ``"change"``:
``created`` or ``updated``. The event's ``id`` is the moment of the change; a client that
reconnects with ``Last-Event-ID`` (``EventSource`` does so by itself) gets the changes after it.
The server reads the state database every :data:`POLL_SECONDS` (changes are committed by other
processes too: the scheduler, ingestion, other nodes) and sends a comment line every
:data:`HEARTBEAT_SECONDS` so that proxies keep the connection open. The stream ends when the
caller's console session or access token does (the client then signs in again or gets a new token).

Role ``SecurityIncident.Read.All`` or ``.ReadWrite.All``; only the caller's tenant's incidents are
ever read. Opening a stream is audited.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for, request_origin
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.api.protocols.graph_alerts import AlertContext
from watchkeeper.api.protocols.graph_incidents import incident_json
from watchkeeper.audit import record
from watchkeeper.cases import IncidentRead
from watchkeeper.cases.feed import changed_incidents
from watchkeeper.console import SESSION_COOKIE, find_session
from watchkeeper.identity import InvalidToken, Principal
from watchkeeper.runtime import Runtime
from watchkeeper.state import utc_now

__all__ = ["HEARTBEAT_SECONDS", "POLL_SECONDS", "router"]

router = protocol_router(GraphErrors(), tags=["incident-events"])
_READ_ROLES = ("SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All")
IncidentReader = Annotated[Principal, Depends(RoleCheck(*_READ_ROLES, api="graph"))]

POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
BATCH = 500  # incidents read per poll at most; a full batch is followed by the next at once
# a change committed a little after a later one (transactions overlap) is still found: each poll
# looks this far back and skips what it has sent
OVERLAP = timedelta(seconds=30)
RETRY_MS = 2000  # how long EventSource waits before reconnecting


class _Cursor:
    """Where a stream is: nothing at or before ``floor`` is sent (the stream's start, or the
    resumed event's moment); ``sent`` holds what was sent within the overlap."""

    def __init__(self, floor: datetime) -> None:
        self.floor = self.latest = floor
        self.sent: dict[tuple[str, datetime], None] = {}
        self.full = False

    def since(self) -> datetime:
        return self.latest if self.full else max(self.floor, self.latest - OVERLAP)

    def take(self, incidents: list[IncidentRead]) -> list[IncidentRead]:
        """The incidents not sent yet; moves the cursor past them."""
        self.full = len(incidents) >= BATCH
        fresh = [i for i in incidents if i.updated_at > self.floor and (i.id, i.updated_at) not in self.sent]
        for incident in fresh:
            self.sent[(incident.id, incident.updated_at)] = None
            self.latest = max(self.latest, incident.updated_at)
        self.sent = {key: None for key in self.sent if key[1] > self.latest - OVERLAP}
        return fresh


def _resume_point(request: Request) -> datetime:
    """The moment the client last saw (``Last-Event-ID``), or now for a new stream."""
    given = request.headers.get("last-event-id", "").strip()
    try:
        moment = datetime.fromisoformat(given.replace("Z", "+00:00")) if given else None
    except ValueError:
        moment = None
    now = utc_now()
    # a moment without a zone or in the future is not one this server sent: start from now
    return moment if moment is not None and moment.tzinfo is not None and moment <= now else now


def _console_cookie(request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie if cookie and "authorization" not in request.headers else None


def _token_good(request: Request, runtime: Runtime, principal: Principal) -> bool:
    """Whether the Bearer token the stream was opened with is still good (unexpired)."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    try:
        runtime.tokens.verify(token, audiences={principal.audience})
    except InvalidToken:
        return False
    return True


def _event(incident: IncidentRead, context: AlertContext) -> str:
    body = incident_json(incident, context)
    body.pop("comments", None)
    body["change"] = "created" if incident.created_at == incident.updated_at else "updated"
    moment = incident.updated_at.isoformat().replace("+00:00", "Z")
    return f"id: {moment}\nevent: incident\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


def _session_still_reads(session: Session, cookie: str, principal: Principal) -> bool:
    """Whether the console session the stream was opened with is live, still in the stream's tenant
    (a revoked delegation or a switch moves it) and still holds a role that reads incidents."""
    user = find_session(session, token=cookie, now=utc_now(), settle=False)
    return (
        user is not None and user.tenant_id == principal.tenant_id and not user.roles.isdisjoint(_READ_ROLES)
    )


def _poll(
    request: Request, runtime: Runtime, principal: Principal, cursor: _Cursor
) -> list[IncidentRead] | None:
    """What changed since the cursor, or None when the stream's session or token has ended. A
    read-only session: streams never wait for, or hold up, the state database's writers."""
    cookie = _console_cookie(request)
    if cookie is None and not _token_good(request, runtime, principal):
        return None
    with runtime.database.reading() as session:
        if cookie is not None and not _session_still_reads(session, cookie, principal):
            return None
        found = changed_incidents(session, tenant_id=principal.tenant_id, since=cursor.since(), limit=BATCH)
    return cursor.take(found)


async def _stream(request: Request, runtime: Runtime, principal: Principal) -> AsyncIterator[str]:
    cursor = _Cursor(_resume_point(request))
    context = AlertContext(origin=request_origin(request), late_members=False, rule_kinds={}, comments={})
    yield f"retry: {RETRY_MS}\n: watching incidents\n\n"
    beat = time.monotonic()
    while not await request.is_disconnected():
        changed = await asyncio.to_thread(_poll, request, runtime, principal, cursor)
        if changed is None:
            yield 'event: end\ndata: {"reason": "the session or access token has expired"}\n\n'
            return
        for incident in changed:
            yield _event(incident, context)
        if time.monotonic() - beat >= HEARTBEAT_SECONDS:
            beat = time.monotonic()
            yield ": heartbeat\n\n"
        if not cursor.full:
            await asyncio.sleep(POLL_SECONDS)


@router.get("/api/incidents/events", operation_id="incident-events-stream", response_class=StreamingResponse)
def incident_events(request: Request, runtime: RuntimeDep, principal: IncidentReader) -> StreamingResponse:
    """Server-sent events: the tenant's incidents as they are created or changed."""
    with runtime.database.session() as session:
        record(session, actor=actor_for(principal, request), action="incident.events.open", outcome="success",
               target="incidents", tenant_id=principal.tenant_id)  # fmt: skip
    headers: dict[str, Any] = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _stream(request, runtime, principal), media_type="text/event-stream", headers=headers
    )
