"""A real server: uvicorn on 127.0.0.1 on a free port, in a background thread, over a temporary data dir."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from watchkeeper import Workspace
from watchkeeper.api import create_app
from watchkeeper.settings import Settings

ROW_LIMIT = 50
TIME_LIMIT = 1.0


@dataclass(frozen=True)
class RunningServer:
    url: str
    data_dir: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seed(settings: Settings) -> None:
    """The default workspace gets three logons; a second workspace, 'other', gets one heartbeat."""
    when = datetime(2025, 12, 1, 8, 0, tzinfo=UTC)
    with Workspace.open(settings.workspace_path(), settings=settings) as ws:
        ws.ingest(
            "SecurityEvent", [{"TimeGenerated": when, "Computer": f"h{i}", "EventID": 4624} for i in range(3)]
        )
    with Workspace.open(settings.workspace_path("other"), settings=settings) as ws:
        ws.ingest("Heartbeat", [{"TimeGenerated": when, "Computer": "beat"}])


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("api")
    settings = Settings(data_dir=data_dir, query_row_limit=ROW_LIMIT, query_timeout=TIME_LIMIT)
    seed(settings)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield RunningServer(f"http://127.0.0.1:{port}", data_dir)
    uv.should_exit = True
    thread.join(timeout=15)
