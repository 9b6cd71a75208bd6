"""Writers inside one server (request threads, the notification sender, the scheduler) and beside it
(a CLI command, a second server) on one SQLite file: a request that reads and then writes is never
refused because another writer committed in between, every write is kept, and a database still
locked after the busy timeout answers 503 with Retry-After instead of a 500.

Everything here is real: a SQLite file, threads, processes, and a uvicorn server on 127.0.0.1.
The race and process tests also run on PostgreSQL when ``WK_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from tests.state_fixtures import unique
from watchkeeper.api import create_app
from watchkeeper.api.errors import status_for
from watchkeeper.api.protocols.hunting import DefenderErrors
from watchkeeper.audit import Actor, AuditEntry, record
from watchkeeper.directory import create_app as register_app
from watchkeeper.directory import create_tenant, create_workspace, find_tenant
from watchkeeper.errors import QueryThrottled, StateBusy
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings
from watchkeeper.state import Database

OPERATOR = Actor("cli", "operator")
SENDER = Actor("system", "notifications")
SHORT_WAIT = 0.3  # the busy timeout where a test waits for it to run out


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    database.migrate()
    yield database
    database.close()


def _tenant(database: Database) -> str:
    with database.session() as session:
        return create_tenant(session, name=unique("busy"), actor=OPERATOR).id


def _request_like(database: Database, tenant_id: str, target: str) -> None:
    """What a request does: read (its tenant), then write (an audited change)."""
    with database.session() as session:
        tenant = find_tenant(session, ref=tenant_id)
        assert tenant is not None
        time.sleep(0.002)  # the request's own work between its read and its write
        record(session, actor=OPERATOR, action="test.change", outcome="success", target=target,
               tenant_id=tenant.id)  # fmt: skip


def _targets(database: Database, tenant_id: str, action: str) -> list[str]:
    with database.session() as session:
        statement = select(AuditEntry.target).where(
            AuditEntry.tenant_id == tenant_id, AuditEntry.action == action
        )
        return [target for target in session.scalars(statement) if target is not None]


# -- the hazard, and the session that is safe from it -------------------------------------------------


def test_a_deferred_transaction_is_refused_its_write_after_another_writer_commits(
    sqlite_database: Database,
) -> None:
    """The failure the sessions avoid: a transaction that began as a reader cannot write once another
    writer has committed since its read, and waiting (the busy timeout) does not help."""
    tenant_id = _tenant(sqlite_database)
    with sqlite_database.engine.connect() as reader:  # plain connections begin deferred
        assert reader.execute(text("SELECT count(*) FROM tenants")).scalar_one() >= 1
        _request_like(sqlite_database, tenant_id, "meanwhile")  # another writer commits
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            reader.execute(text("UPDATE tenants SET name = name WHERE id = :id"), {"id": tenant_id})
        assert time.monotonic() - started < sqlite_database.busy_timeout / 2  # refused, not waited for


def test_a_session_that_read_makes_the_next_writer_wait_and_then_writes(sqlite_database: Database) -> None:
    tenant_id = _tenant(sqlite_database)
    read_done, background_done = threading.Event(), threading.Event()

    def background_writer() -> None:
        read_done.wait(10)
        with sqlite_database.session() as session:
            record(session, actor=SENDER, action="test.background", outcome="success", target="sent",
                   tenant_id=tenant_id)  # fmt: skip
        background_done.set()

    thread = threading.Thread(target=background_writer)
    thread.start()
    with sqlite_database.session() as session:
        assert find_tenant(session, ref=tenant_id) is not None  # the request's read...
        read_done.set()
        assert not background_done.wait(0.3)  # ...makes the background writer wait for it
        record(session, actor=OPERATOR, action="test.change", outcome="success", target="request",
               tenant_id=tenant_id)  # fmt: skip
    thread.join(10)
    assert background_done.is_set()
    assert _targets(sqlite_database, tenant_id, "test.change") == ["request"]
    assert _targets(sqlite_database, tenant_id, "test.background") == ["sent"]


def test_request_sessions_racing_a_background_writer_never_fail(database: Database) -> None:
    tenant_id = _tenant(database)
    stop, running, written = threading.Event(), threading.Event(), list[int]()

    def background_writer() -> None:  # the notification sender's loop, committing all the time
        while not stop.is_set():
            with database.session() as session:
                record(session, actor=SENDER, action="test.background", outcome="success",
                       target=f"b{len(written)}", tenant_id=tenant_id)  # fmt: skip
            written.append(1)
            running.set()

    def requests(worker: int) -> None:
        assert running.wait(10)  # the requests start once the background writer commits
        for n in range(15):
            _request_like(database, tenant_id, f"r{worker}-{n}")

    with ThreadPoolExecutor(5) as pool:
        background = pool.submit(background_writer)
        workers = [pool.submit(requests, w) for w in range(4)]
        try:
            for worker in workers:
                worker.result(timeout=60)  # a refused write raises here
        finally:
            stop.set()
        background.result(timeout=60)
    assert sorted(_targets(database, tenant_id, "test.change")) == sorted(
        f"r{w}-{n}" for w in range(4) for n in range(15)
    )
    assert len(_targets(database, tenant_id, "test.background")) == len(written) > 0


# -- two processes --------------------------------------------------------------------------------------


# What a second process does (a CLI command beside the server, or another server); a small script so
# that the process starts quickly. The URL comes in the environment (it may carry a password).
_WRITER = """
import os, sys, time
from watchkeeper.audit import Actor, record
from watchkeeper.directory import find_tenant
from watchkeeper.state import Database

tenant_id, label, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
database = Database(os.environ["WK_TEST_STATE_URL"])
for n in range(count):
    with database.session() as session:
        tenant = find_tenant(session, ref=tenant_id)
        time.sleep(0.002)
        record(session, actor=Actor("cli", label), action="test.change", outcome="success",
               target=f"{label}-{n}", tenant_id=tenant.id)
database.close()
"""


def test_two_processes_writing_keep_every_write(database: Database) -> None:
    """A server and a CLI command (or two servers) on one database: no write is lost or refused."""
    tenant_id = _tenant(database)
    env = {**os.environ, "WK_TEST_STATE_URL": database.engine.url.render_as_string(hide_password=False)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, tenant_id, label, "40"], env=env, stderr=subprocess.PIPE
        )
        for label in "pq"
    ]
    _request_like(database, tenant_id, "main")  # this process writes meanwhile too
    errors = [process.communicate(timeout=120)[1].decode() for process in processes]
    assert [process.returncode for process in processes] == [0, 0], errors
    expected = sorted(["main", *(f"{label}-{n}" for label in "pq" for n in range(40))])
    assert sorted(_targets(database, tenant_id, "test.change")) == expected


# -- a session inside a session -------------------------------------------------------------------------


def test_a_session_opened_inside_a_busy_one_in_the_same_thread_fails_at_once(
    sqlite_database: Database,
) -> None:
    """It could only wait for itself; the error says so instead of hanging for the busy timeout."""
    tenant_id = _tenant(sqlite_database)

    def nested() -> None:
        with sqlite_database.session() as outer:
            assert find_tenant(outer, ref=tenant_id) is not None
            with sqlite_database.session() as inner:
                inner.scalar(select(func.count()).select_from(AuditEntry))

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="inside another one"):
        nested()
    assert time.monotonic() - started < 5  # the busy timeout is 10 s
    with sqlite_database.session() as session:  # both were rolled back; the next session works
        assert find_tenant(session, ref=tenant_id) is not None
    with sqlite_database.session(), sqlite_database.session() as second:  # the first never began
        assert find_tenant(second, ref=tenant_id) is not None


# -- still busy after the timeout ----------------------------------------------------------------------


def test_a_session_still_locked_out_after_the_busy_timeout_raises_state_busy(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}", busy_timeout=SHORT_WAIT)
    database.migrate()
    tenant_id = _tenant(database)
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's long write
        started = time.monotonic()
        with pytest.raises(StateBusy, match="busy") as caught:
            _request_like(database, tenant_id, "refused")
        assert SHORT_WAIT * 0.8 <= time.monotonic() - started < SHORT_WAIT + 5
        assert caught.value.retry_after >= 1
        holder.execute("ROLLBACK")
        _request_like(database, tenant_id, "accepted")
        assert _targets(database, tenant_id, "test.change") == ["accepted"]
    finally:
        holder.close()
        database.close()


def test_state_busy_is_503_and_other_throttling_stays_429() -> None:
    assert status_for(StateBusy(10)) == 503
    assert status_for(QueryThrottled(limit=2, retry_after=5)) == 429
    # Defender's error shape says the same
    busy = DefenderErrors().render(StateBusy(10), status_for(StateBusy(10)), None)  # type: ignore[arg-type]
    throttled = QueryThrottled(limit=2, retry_after=5)
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, str(StateBusy(10).retry_after))
    assert DefenderErrors().render(throttled, status_for(throttled), None).status_code == 429  # type: ignore[arg-type]


@dataclass
class Server:
    url: str
    runtime: Runtime
    state_file: Path
    tenant_id: str
    workspace_id: str
    form: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("busy-server")
    runtime = Runtime(Settings(data_dir=data_dir, state_busy_timeout=SHORT_WAIT))  # WK_STATE_BUSY_TIMEOUT
    assert runtime.database.busy_timeout == SHORT_WAIT
    with runtime.database.session() as session:
        tenant = create_tenant(session, name="busy", actor=OPERATOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=OPERATOR)
        app = register_app(session, tenant_id=tenant.id, name="reader", roles=["Data.Read"], actor=OPERATOR)
    form = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret,
            "scope": "https://api.loganalytics.io/.default"}  # fmt: skip
    port = _free_port()
    config = uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="critical")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uvicorn_server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uvicorn_server.started, "the server did not start"
    state_file = Path(str(runtime.database.engine.url.database))
    yield Server(f"http://127.0.0.1:{port}", runtime, state_file, tenant.id, workspace.id, form)
    uvicorn_server.should_exit = True
    thread.join(15)
    runtime.close()


def _lock(state_file: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(state_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_request_locked_out_of_the_state_database_answers_503_with_retry_after(server: Server) -> None:
    token_url = f"{server.url}/{server.tenant_id}/oauth2/v2.0/token"
    holder = _lock(server.state_file)
    try:
        refused = httpx.post(token_url, data=server.form, timeout=30)
    finally:
        holder.close()
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    error = refused.json()["error"]
    assert error["code"] == "serviceNotAvailable"
    assert "state database is busy" in error["message"]
    assert "Traceback" not in refused.text
    accepted = httpx.post(token_url, data=server.form, timeout=30)
    assert accepted.status_code == 200, accepted.text


def test_a_query_locked_out_of_the_state_database_answers_503_in_its_protocol(server: Server) -> None:
    token = httpx.post(f"{server.url}/{server.tenant_id}/oauth2/v2.0/token", data=server.form, timeout=30)
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    query_url = f"{server.url}/v1/workspaces/{server.workspace_id}/query"
    body = {"query": "print x = 1"}
    holder = _lock(server.state_file)
    try:
        refused = httpx.post(query_url, json=body, headers=headers, timeout=30)
    finally:
        holder.close()
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "ServiceUnavailable"
    assert "Traceback" not in refused.text
    answered = httpx.post(query_url, json=body, headers=headers, timeout=30)
    assert answered.status_code == 200, answered.text
    assert answered.json()["tables"][0]["rows"] == [[1]]
