"""The console's alert page, ``/console/alerts/{id}``: where Graph's ``alertWebUrl`` points. A shell
like the other pages: ``alert.js`` reads the alert from ``GET /v1.0/security/alerts_v2/{id}`` and
changes it through ``PATCH`` and ``POST .../comments`` of the same route, with the session."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from watchkeeper.api.deps import RuntimeDep
from watchkeeper.api.errors import protocol_router
from watchkeeper.api.routes.console import ConsoleErrors, shell, signed_in, to_login

__all__ = ["router"]

router = protocol_router(ConsoleErrors(), tags=["console"])


@router.get("/console/alerts/{alert_id}", operation_id="console-page-alert", response_class=HTMLResponse)
def alert_page(request: Request, runtime: RuntimeDep, alert_id: str) -> Response:
    """One alert (data from ``GET /v1.0/security/alerts_v2/{id}``)."""
    user = signed_in(request, runtime)
    if user is None:
        return to_login(request)
    return shell(user, "alert.html", title="Alert", script="alert.js", alert_id=alert_id[:128])
