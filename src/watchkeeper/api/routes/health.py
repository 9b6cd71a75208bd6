"""``GET /healthz`` (the process serves requests) and ``GET /readyz`` (it can do its work: the state
database answers). Neither reveals tenant data, so neither needs a token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from watchkeeper import __version__
from watchkeeper.api.deps import RuntimeDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health-get")
def get_health() -> dict[str, str]:
    """Liveness: answers while the process serves requests."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", operation_id="health-ready")
def get_ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: 200 when the state database answers, 503 (with the reason) when it does not."""
    try:
        with runtime.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not ready"; the reason is reported
        return JSONResponse({"status": "unavailable", "reason": f"state database: {type(exc).__name__}"}, 503)
    return JSONResponse({"status": "ready", "version": __version__})
