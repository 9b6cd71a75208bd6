"""Alerts posted by other products: ``POST /api/providers/{name}/alerts`` (role
``SecurityAlert.ReadWrite.All``, in the tenant of webhook provider ``name``; another tenant's
provider is not found, as a missing one). The body is one alert or ``{"value": [...]}`` of up to
100 (the shape: :mod:`watchkeeper.connectors.webhook`); a bad field is a 400 naming it. The answer
lists each alert with its id here, its incident and whether it was ``created``, ``updated`` or
already held (``unchanged``). Errors answer in Graph's shape.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from watchkeeper.api.deps import RoleCheck, RuntimeDep, actor_for
from watchkeeper.api.errors import GraphErrors, protocol_router
from watchkeeper.errors import InvalidRequestError
from watchkeeper.flows.providers import receive_alerts
from watchkeeper.identity import Principal

__all__ = ["router"]

router = protocol_router(GraphErrors(), tags=["providers"])
AlertWriter = Annotated[Principal, Depends(RoleCheck("SecurityAlert.ReadWrite.All", api="graph"))]
MAX_BODY = 4 * 1024 * 1024


@router.post("/api/providers/{name}/alerts", operation_id="providers-post_alerts")
async def post_alerts(
    request: Request, runtime: RuntimeDep, principal: AlertWriter,
    name: Annotated[str, Path(min_length=1, max_length=64)],
) -> JSONResponse:  # fmt: skip
    """Take in the alerts a product posts to its webhook provider."""
    body = await _json_body(request)
    # the state database is synchronous: the intake runs on a worker thread, not the event loop
    taken = await run_in_threadpool(receive_alerts, runtime, actor_for(principal, request),
                                    tenant_id=principal.tenant_id, name=name, body=body)  # fmt: skip
    items = [_item(a, "created") for a in taken.created] + [_item(a, "updated") for a in taken.updated]
    return JSONResponse({"value": items, "unchanged": taken.duplicates},
                        status_code=201 if taken.created else 200)  # fmt: skip


def _item(alert: Any, outcome: str) -> dict[str, Any]:
    return {"id": alert.id, "providerAlertId": alert.properties.get("providerAlertId"),
            "incidentId": alert.incident_id, "outcome": outcome}  # fmt: skip


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidRequestError(f"the body is {len(raw)} bytes; at most {MAX_BODY} are taken per call")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"the body is not JSON: {exc}") from None
