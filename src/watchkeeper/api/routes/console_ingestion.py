"""The console's ingestion and health page: a shell whose script reads the workspace's ``Usage`` and
``IngestionErrors`` tables through the public Log Analytics query route, with the session.

The page shows, per table, rows and megabytes per day, the last event and the last stored batch,
the average and worst latency from event to queryable, and flags tables that stopped receiving
data; then the records ingestion refused, counted by table, source and reason, with the latest
examples (the raw record as text, cut short).
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from watchkeeper.api.deps import RuntimeDep
from watchkeeper.api.errors import protocol_router
from watchkeeper.api.routes.console import ConsoleErrors, shell, signed_in, to_login, workspace_choices

__all__ = ["router"]

router = protocol_router(ConsoleErrors(), tags=["console"])


@router.get("/console/ingestion", operation_id="console-page-ingestion", response_class=HTMLResponse)
def ingestion_page(request: Request, runtime: RuntimeDep) -> Response:
    """Ingestion and health (queries through ``POST /v1/workspaces/{id}/query`` over ``Usage`` and
    ``IngestionErrors``); the shell names the user's active tenant's workspaces."""
    user = signed_in(request, runtime)
    if user is None:
        return to_login(request)
    return shell(user, "ingestion.html", title="Ingestion", script="ingestion.js",
                 workspaces=workspace_choices(runtime, user))  # fmt: skip
