"""Several writers at once (a server's request threads, a CLI command beside the server) all
succeed: on SQLite they wait for each other (WAL and a busy timeout) instead of failing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.state_fixtures import unique
from watchkeeper.audit import Actor, list_entries
from watchkeeper.directory import AppCreated, create_app, create_tenant, list_apps
from watchkeeper.state import Database

THREADS = 4
APPS_EACH = 2


def test_concurrent_writers_all_succeed(database: Database) -> None:
    actor = Actor("cli", "operator")
    with database.session() as session:
        tenant = create_tenant(session, name=unique("busy"), actor=actor)
    start = threading.Barrier(THREADS)

    def register(worker: int) -> list[AppCreated]:
        start.wait()
        created = []
        for n in range(APPS_EACH):
            with database.session() as session:
                created.append(create_app(session, tenant_id=tenant.id, name=f"app-{worker}-{n}",
                                          roles=["Data.Read"], actor=actor))  # fmt: skip
        return created

    with ThreadPoolExecutor(THREADS) as pool:
        results = [app for batch in pool.map(register, range(THREADS)) for app in batch]

    expected = {f"app-{w}-{n}" for w in range(THREADS) for n in range(APPS_EACH)}
    assert {app.name for app in results} == expected
    with database.session() as session:
        stored = list_apps(session, tenant_id=tenant.id)
        audited = list_entries(session, tenant_id=tenant.id, action="app.create", limit=1000)
    assert {app.client_id for app in stored} == {app.client_id for app in results}
    assert {entry.target for entry in audited.entries} == {app.client_id for app in results}
