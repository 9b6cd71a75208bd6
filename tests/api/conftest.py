"""A real server for the API tests: uvicorn on 127.0.0.1 on a free port, in a background thread,
over a temporary data directory with two tenants, their workspaces, apps and events.

``platform.token(tenant, app)`` gets an access token from the server's own token endpoint, as a
client would. Tenant ``a`` has workspaces ``main`` and ``other``; tenant ``b`` has ``main``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from watchkeeper.api import create_app
from watchkeeper.api.tls import ensure_certificates
from watchkeeper.audit import Actor
from watchkeeper.directory import (
    ROLES,
    AppCreated,
    create_tenant,
    create_workspace,
)
from watchkeeper.directory import (
    create_app as register_app,
)
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

ROW_LIMIT = 50
TIME_LIMIT = 1.0
WHEN = datetime(2025, 12, 1, 8, 0, tzinfo=UTC)
LOG_ANALYTICS = "https://api.loganalytics.io/.default"

# app name -> roles, registered in every tenant
APPS: dict[str, list[str]] = {
    "reader": ["Data.Read"],
    "hunter": ["ThreatHunting.Read.All", "AdvancedQuery.Read.All"],
    "admin": ["AuditLog.Read.All"],
    "nobody": [],
    "all": sorted(ROLES),
}


@dataclass
class TenantFixture:
    id: str
    name: str
    workspaces: dict[str, str] = field(default_factory=dict)  # name -> id
    apps: dict[str, AppCreated] = field(default_factory=dict)


@dataclass
class Platform:
    """The server: ``url`` is plain http, ``https_url`` the same app over TLS (trust ``ca_cert``)."""

    url: str
    https_url: str
    ca_cert: Path
    data_dir: Path
    runtime: Runtime
    tenants: dict[str, TenantFixture]
    _tokens: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def token(self, tenant: str, app: str, scope: str = LOG_ANALYTICS) -> str:
        """An access token of ``app`` in ``tenant`` from the server's token endpoint (cached)."""
        key = (tenant, app, scope)
        if key not in self._tokens:
            registered = self.tenants[tenant].apps[app]
            form = {"grant_type": "client_credentials", "client_id": registered.client_id,
                    "client_secret": registered.client_secret, "scope": scope}  # fmt: skip
            response = httpx.post(f"{self.url}/{self.tenants[tenant].id}/oauth2/v2.0/token", data=form)
            response.raise_for_status()
            self._tokens[key] = response.json()["access_token"]
        return self._tokens[key]

    def headers(self, tenant: str, app: str, scope: str = LOG_ANALYTICS) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant, app, scope)}"}

    def workspace(self, tenant: str, name: str = "main") -> str:
        return self.tenants[tenant].workspaces[name]

    def tables_with_data(self, tenant: str, name: str = "main") -> list[str]:
        """The tables of a workspace that hold data now (other test modules add some)."""
        from watchkeeper.directory import find_workspace

        with self.runtime.database.session() as session:
            record = find_workspace(session, tenant_id=self.tenants[tenant].id, ref=name)
        assert record is not None
        workspace = self.runtime.workspaces.get(record)
        return sorted(t for t in workspace.store.stored_tables() if workspace.catalog.table(t) is not None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _provision(runtime: Runtime) -> dict[str, TenantFixture]:
    actor = Actor("system", "tests")
    tenants: dict[str, TenantFixture] = {}
    layout = {"a": ["main", "other"], "b": ["main"]}
    with runtime.database.session() as session:
        for key, workspace_names in layout.items():
            tenant = create_tenant(session, name=f"tenant-{key}", actor=actor)
            fixture = TenantFixture(tenant.id, tenant.name)
            for name in workspace_names:
                fixture.workspaces[name] = create_workspace(
                    session, tenant_id=tenant.id, name=name, actor=actor
                ).id
            for app, roles in APPS.items():
                fixture.apps[app] = register_app(
                    session, tenant_id=tenant.id, name=app, roles=roles, actor=actor
                )
            tenants[key] = fixture
    return tenants


def _seed(runtime: Runtime, tenants: dict[str, TenantFixture]) -> None:
    """Tenant a's main workspace: three logons; its other: one heartbeat; tenant b's main: one
    logon on a host only tenant b has (so a leak across tenants would show)."""
    from watchkeeper.directory import find_workspace

    def store(tenant: str, name: str):  # type: ignore[no-untyped-def]
        with runtime.database.session() as session:
            record = find_workspace(session, tenant_id=tenants[tenant].id, ref=name)
        assert record is not None
        return runtime.workspaces.get(record)

    logons = [{"TimeGenerated": WHEN, "Computer": f"h{i}", "EventID": 4624} for i in range(3)]
    store("a", "main").ingest("SecurityEvent", logons)
    store("a", "other").ingest("Heartbeat", [{"TimeGenerated": WHEN, "Computer": "beat"}])
    store("b", "main").ingest(
        "SecurityEvent", [{"TimeGenerated": WHEN, "Computer": "b-secret", "EventID": 4624}]
    )


def serve(app: object, port: int, **ssl: str) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **ssl)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("platform")
    settings = Settings(
        data_dir=data_dir, query_row_limit=ROW_LIMIT, query_timeout=TIME_LIMIT, ingest_queue_wait=0.2
    )
    runtime = Runtime(settings)
    tenants = _provision(runtime)
    _seed(runtime, tenants)
    app = create_app(runtime=runtime)
    port, tls_port = free_port(), free_port()
    tls = ensure_certificates(data_dir)
    servers = [serve(app, port), serve(app, tls_port, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))]
    yield Platform(
        f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls_port}", tls.ca_cert, data_dir, runtime, tenants
    )
    for server, _ in servers:
        server.should_exit = True
    for _, thread in servers:
        thread.join(timeout=15)
    runtime.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, timeout=60) as http:
        yield http
