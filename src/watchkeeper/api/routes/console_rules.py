"""The console's rules page: a shell whose script reads and changes the workspace's rules through the
public rules API (``GET /api/rules``, ``POST /api/rules/{id}/enable|disable|run``, the rule's tests)
and draws the ATT&CK coverage matrix from ``GET /api/coverage``, with the session."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from watchkeeper.api.deps import RuntimeDep
from watchkeeper.api.errors import protocol_router
from watchkeeper.api.routes.console import ConsoleErrors, shell, signed_in, to_login, workspace_choices

__all__ = ["router"]

router = protocol_router(ConsoleErrors(), tags=["console"])


@router.get("/console/rules", operation_id="console-page-rules", response_class=HTMLResponse)
def rules_page(request: Request, runtime: RuntimeDep) -> Response:
    """The rules list and, with ``?view=coverage``, the ATT&CK coverage matrix (the script reads the
    view from the address); the shell names the user's own tenant's workspaces."""
    user = signed_in(request, runtime)
    if user is None:
        return to_login(request)
    return shell(
        user, "rules.html", title="Rules", script="rules.js", workspaces=workspace_choices(runtime, user)
    )
