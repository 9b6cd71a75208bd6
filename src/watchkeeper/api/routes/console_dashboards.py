"""The console's dashboards pages: the list (built-in and the tenant's dashboards, from
``GET /api/dashboards``) and one dashboard, whose tiles each run their query through
``POST /v1/workspaces/{id}/query`` over the picked time range. The shells carry no tenant data
beyond the names of the user's own workspaces (for the picker)."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from watchkeeper.api.deps import RuntimeDep
from watchkeeper.api.errors import protocol_router
from watchkeeper.api.routes.console import ConsoleErrors, shell, signed_in, to_login, workspace_choices

__all__ = ["router"]

router = protocol_router(ConsoleErrors(), tags=["console"])


@router.get("/console/dashboards", operation_id="console-page-dashboards", response_class=HTMLResponse)
def dashboards_page(request: Request, runtime: RuntimeDep) -> Response:
    """The dashboards the user may open, and a form to create one from a YAML or JSON document."""
    user = signed_in(request, runtime)
    if user is None:
        return to_login(request)
    return shell(user, "dashboards.html", title="Dashboards", script="dashboards.js")


@router.get(
    "/console/dashboards/{dashboard_id}", operation_id="console-page-dashboard", response_class=HTMLResponse
)
def dashboard_page(request: Request, runtime: RuntimeDep, dashboard_id: str) -> Response:
    """One dashboard: parameter bar, tiles, refresh, save a copy, share, edit its document."""
    user = signed_in(request, runtime)
    if user is None:
        return to_login(request)
    return shell(user, "dashboard.html", title="Dashboard", script="dashboard.js",
                 dashboard_id=dashboard_id[:128], workspaces=workspace_choices(runtime, user))  # fmt: skip
