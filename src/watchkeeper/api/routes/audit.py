"""The audit log of the caller's tenant: ``GET /api/audit`` (role ``AuditLog.Read.All``).

Newest first, in pages: ``$top`` (1 to 1000, default 100) entries per page, and an
``@odata.nextLink`` to follow verbatim while more remain (its ``$skiptoken`` is an opaque cursor, so
entries recorded while a client pages through never shift a page). Filters: ``since`` (an ISO 8601
date and time; entries at or after it) and ``action`` (e.g. ``query.run``, ``token.issue``,
``request.denied``). Entries are camelCase JSON (:func:`entry_json`); a tenant's administrator sees
that tenant's entries and nobody else's. Errors answer in Graph's shape.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from watchkeeper.api.deps import AuditReader, RuntimeDep
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.audit import AuditPage, AuditRead, list_entries
from watchkeeper.errors import InvalidRequestError

__all__ = ["MAX_PAGE", "entry_json", "router"]

MAX_PAGE = 1000
_CURSOR = "before:"

router = protocol_router(GraphErrors(), tags=["audit"])


def entry_json(entry: AuditRead) -> dict[str, Any]:
    """An audit entry as the API and ``wk audit --format json`` show it."""
    return {
        "id": str(entry.id),
        "at": entry.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "tenantId": entry.tenant_id,
        "actorKind": entry.actor_kind,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "outcome": entry.outcome,
        "detail": entry.detail,
        "requestId": entry.request_id,
    }


def _cursor_token(before: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR}{before}".encode()).decode().rstrip("=")


def _cursor(token: str | None) -> int | None:
    if token is None:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if text.startswith(_CURSOR):
            return int(text.removeprefix(_CURSOR))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidRequestError("$skiptoken is not a cursor this server handed out; follow @odata.nextLink")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # a time without an offset is UTC, as in Graph


def _page_body(page: AuditPage, request: Request) -> dict[str, Any]:
    body: dict[str, Any] = {"value": [entry_json(entry) for entry in page.entries]}
    if page.next_before is not None:
        token = _cursor_token(page.next_before)
        body["@odata.nextLink"] = str(request.url.include_query_params(**{"$skiptoken": token}))
    return body


@router.get("/api/audit", operation_id="audit-list")
def list_audit(
    request: Request,
    runtime: RuntimeDep,
    principal: AuditReader,
    top: Annotated[int, Query(alias="$top", ge=1, le=MAX_PAGE, description="Entries per page.")] = 100,
    skiptoken: Annotated[str | None, Query(alias="$skiptoken", max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="Only entries at or after this time.")] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this action.")] = None,
) -> JSONResponse:
    """The caller's tenant's audit entries, newest first, one page at a time."""
    before = _cursor(skiptoken)
    with runtime.database.session() as session:
        page = list_entries(session, tenant_id=principal.tenant_id, limit=top, before=before,
                            since=_utc(since), action=action)  # fmt: skip
    return JSONResponse(_page_body(page, request))
