"""The HTTP server: a FastAPI application built from :class:`~watchkeeper.settings.Settings`.

At this stage it answers KQL over HTTP (the Log Analytics query route) and a health check; later
layers add authentication, tenants and the rest of the platform's API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from watchkeeper import __version__
from watchkeeper.api.errors import install_error_handlers
from watchkeeper.api.routes import health, home, query
from watchkeeper.api.workspaces import WorkspaceRegistry
from watchkeeper.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, default_workspace: Path | None = None) -> FastAPI:
    """The application. ``default_workspace`` overrides the folder of the default workspace."""
    settings = settings or Settings()
    registry = WorkspaceRegistry(settings, default_path=default_workspace)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        registry.close()

    app = FastAPI(
        title="watchkeeper",
        version=__version__,
        summary="Self-hosted security operations platform: KQL over HTTP.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.workspaces = registry
    install_error_handlers(app)
    for module in (home, health, query):
        app.include_router(module.router)
    return app
