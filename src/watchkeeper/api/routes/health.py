"""``GET /healthz``: the server is up."""

from __future__ import annotations

from fastapi import APIRouter

from watchkeeper import __version__

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health-get")
def get_health() -> dict[str, str]:
    """Liveness: answers while the process serves requests."""
    return {"status": "ok", "version": __version__}
