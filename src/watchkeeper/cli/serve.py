"""``wk serve``: the HTTP server on the embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from watchkeeper.cli.console import load_settings, note

__all__ = ["serve_command"]


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: settings, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default: settings, 8080).")
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Folder of the default workspace (created if missing)."),
    ] = None,
) -> None:
    """Serve KQL over HTTP (the Log Analytics query API shape) until interrupted."""
    import uvicorn

    from watchkeeper.api import create_app

    settings = load_settings()
    updates = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    settings = settings.model_copy(update=updates)
    app = create_app(settings, default_workspace=workspace)
    _freeze_startup_objects()
    url = f"http://{settings.host}:{settings.port}/"
    note(
        f"watchkeeper serving workspace '{settings.workspace}' ({workspace or settings.workspace_path()}) at {url}"
    )
    note(f'  query: POST {url}v1/workspaces/{settings.workspace}/query  {{"query": "..."}}')
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


def _freeze_startup_objects() -> None:
    """Move what startup built (the table catalog: ~100k objects) out of the garbage collector's
    view, so full collections stop walking it and query latency loses its 30-60 ms spikes."""
    import gc

    from watchkeeper.schema import Catalog

    Catalog.sentinel()
    gc.collect()
    gc.freeze()
