"""``wk serve`` as an operator runs it: a real subprocess on a free port, driven over HTTP(S).

What is checked: /healthz and /readyz; the logs on stderr (one JSON object per line, a request id
on every request's line, the caller's tenant and client id) never hold a client secret, a token or
a query's KQL; SIGTERM lets a running query finish and the process exits 0; ``--tls`` serves https
with a CA generated under the data directory and reused on restart.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from watchkeeper.audit import Actor
from watchkeeper.directory import create_app, create_tenant, create_workspace
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

LOG_ANALYTICS = "https://api.loganalytics.io/.default"
# seconds of CPU work for DuckDB in constant memory; the exact count proves an answer is whole
SLOW_ROWS = 4_000_000
SLOW_QUERY = "range x from 1 to {rows} step 1 | where strlen(hash_sha256(tostring(x))) == 64 | count"


@dataclass
class Credentials:
    tenant_id: str
    workspace_id: str
    client_id: str
    client_secret: str


@dataclass
class ServeProcess:
    """A running ``wk serve``: its URLs (from what it printed), its stdout and its stderr (logs)."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    url: str = ""
    loopback_url: str | None = None

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line on stderr, each of which must be one JSON object."""
        lines = [line for line in self.stderr.read_text().splitlines() if line.strip()]
        return [json.loads(line) for line in lines]

    def access_line(self, request_id: str, timeout: float = 10) -> dict[str, Any]:
        """The access-log line of a request (written as the response completes, so wait a little)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.log_lines() if line.get("request_id") == request_id
                     and line["logger"] == "watchkeeper.access"]  # fmt: skip
            if found:
                assert len(found) == 1, found
                return found[0]
            time.sleep(0.05)
        pytest.fail(f"no access-log line for request {request_id}:\n{self.output()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"wk serve did not stop within {timeout} s:\n{self.output()}")


def _environment(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("WK_")}
    env.update({f"WK_{key.upper()}": value for key, value in settings.items()})
    return env


def start_serve(folder: Path, data_dir: Path, *args: str, **settings: str) -> ServeProcess:
    """``wk serve --data-dir data_dir --port 0 *args``; returns once /healthz answers."""
    stdout, stderr = (
        folder / f"stdout-{time.monotonic_ns()}.txt",
        folder / f"stderr-{time.monotonic_ns()}.txt",
    )
    command = [
        sys.executable,
        "-m",
        "watchkeeper",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        "0",
        *args,
    ]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=folder, env=_environment(**settings))
    served = ServeProcess(process, stdout, stderr)
    try:
        _wait_until_serving(served)
    except BaseException:
        served.stop(signal.SIGKILL)
        raise
    return served


def _wait_until_serving(served: ServeProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"wk serve exited with {served.process.returncode}:\n{served.output()}")
        text = served.stdout.read_text()
        if match := re.search(r"^watchkeeper serving .* at (https?://\S+?)/", text, re.MULTILINE):
            served.url = match.group(1)
            loopback = re.search(r"plain http for this machine only: (http://\S+?)/", text)
            served.loopback_url = loopback.group(1) if loopback else None
            if _answers(served):
                return
        time.sleep(0.1)
    pytest.fail(f"wk serve did not answer within {timeout} s:\n{served.output()}")


def _answers(served: ServeProcess) -> bool:
    try:
        return httpx.get(f"{served.url}/healthz", verify=_trusting(served), timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _trusting(served: ServeProcess) -> ssl.SSLContext | bool:
    if not served.url.startswith("https:"):
        return True
    ca = re.search(r"signed by a local CA, generated once: (\S+)", served.stdout.read_text())
    assert ca, served.output()
    return ssl.create_default_context(cafile=ca.group(1))


def provision(data_dir: Path) -> Credentials:
    """A tenant with one workspace (one logon event) and an app that may read it."""
    actor = Actor("system", "tests")
    with Runtime(Settings(data_dir=data_dir)) as runtime:
        with runtime.database.session() as session:
            tenant = create_tenant(session, name="ops", actor=actor)
            workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=actor)
            app = create_app(session, tenant_id=tenant.id, name="reader", roles=["Data.Read"], actor=actor)
        runtime.workspaces.get(workspace).ingest(
            "SecurityEvent",
            [{"TimeGenerated": datetime(2025, 12, 1, 8, tzinfo=UTC), "Computer": "h0", "EventID": 4624}],
        )
    return Credentials(tenant.id, workspace.id, app.client_id, app.client_secret)


def get_token(url: str, credentials: Credentials) -> str:
    form = {"grant_type": "client_credentials", "client_id": credentials.client_id,
            "client_secret": credentials.client_secret, "scope": LOG_ANALYTICS}  # fmt: skip
    response = httpx.post(f"{url}/{credentials.tenant_id}/oauth2/v2.0/token", data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, Credentials]]:
    """One ``wk serve`` (JSON logs) shared by the tests that do not stop it."""
    folder = tmp_path_factory.mktemp("serve")
    credentials = provision(folder / "data")
    server = start_serve(folder, folder / "data", log_format="json")
    try:
        yield server, credentials
    finally:
        server.stop()


def test_health_and_readiness_answer(served: tuple[ServeProcess, Credentials]) -> None:
    server, _ = served
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    line = server.access_line(ready.headers["x-ms-request-id"])
    assert (line["method"], line["path"], line["status"]) == ("GET", "/readyz", 200)


def test_logs_hold_no_secret_token_or_query_text(served: tuple[ServeProcess, Credentials]) -> None:
    server, credentials = served
    token = get_token(server.url, credentials)
    basic = base64.b64encode(f"{credentials.client_id}:{credentials.client_secret}".encode()).decode()
    by_basic = httpx.post(f"{server.url}/{credentials.tenant_id}/oauth2/v2.0/token",
                          data={"grant_type": "client_credentials", "scope": LOG_ANALYTICS},
                          headers={"Authorization": f"Basic {basic}"})  # fmt: skip
    assert by_basic.status_code == 200, by_basic.text
    marker = "kql-marker-4f1c"
    posted = httpx.post(f"{server.url}/v1/workspaces/{credentials.workspace_id}/query",
                        json={"query": f'SecurityEvent | where Computer != "{marker}" | count'},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert posted.status_code == 200, posted.text
    assert posted.json()["tables"][0]["rows"] == [[1]]
    fetched = httpx.get(f"{server.url}/v1/workspaces/{credentials.workspace_id}/query",
                        params={"query": f'print "{marker}"'}, headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert fetched.status_code == 200, fetched.text

    query_line = server.access_line(posted.headers["x-ms-request-id"])
    assert query_line["path"] == f"/v1/workspaces/{credentials.workspace_id}/query"
    assert (query_line["tenant_id"], query_line["client_id"]) == (
        credentials.tenant_id,
        credentials.client_id,
    )
    assert server.access_line(fetched.headers["x-ms-request-id"])["path"] == query_line["path"]
    token_line = server.access_line(by_basic.headers["x-ms-request-id"])
    assert token_line["client_id"] == credentials.client_id
    captured = server.output()
    for secret in (credentials.client_secret, token, basic, marker, by_basic.json()["access_token"]):
        assert secret not in captured


def test_every_log_line_is_json_and_the_access_log_is_ours_alone(
    served: tuple[ServeProcess, Credentials],
) -> None:
    server, _ = served
    response = httpx.get(f"{server.url}/healthz", headers={"client-request-id": "caller-7"})
    line = server.access_line(response.headers["x-ms-request-id"])
    assert response.headers["client-request-id"] == "caller-7"
    assert {"time", "level", "logger", "message", "method", "path", "status", "duration_ms"} <= line.keys()
    assert line["level"] == "info"
    assert isinstance(line["duration_ms"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    loggers = {entry["logger"] for entry in server.log_lines()}
    assert "uvicorn.access" not in loggers
    assert "uvicorn.error" in loggers  # uvicorn's own lines come through the same formatter
    # a start that migrates nothing says nothing about migrations
    assert not [entry for entry in server.log_lines() if entry["logger"].startswith("alembic")]


def query_in_background(server: ServeProcess, credentials: Credentials, rows: int) -> Callable[[], Any]:
    """Start the slow query over HTTP in a thread; returns a call that waits for
    (response, when it arrived)."""
    token = get_token(server.url, credentials)
    answer: dict[str, Any] = {}

    def run() -> None:
        response = httpx.post(f"{server.url}/v1/workspaces/{credentials.workspace_id}/query",
                              json={"query": SLOW_QUERY.format(rows=rows)},
                              headers={"Authorization": f"Bearer {token}"}, timeout=120)  # fmt: skip
        answer.update(response=response, at=time.monotonic())

    client = threading.Thread(target=run)
    client.start()
    time.sleep(0.5)  # the query is running now

    def result() -> tuple[httpx.Response, float]:
        client.join(timeout=120)
        assert "response" in answer, server.output()
        return answer["response"], answer["at"]

    return result


def refused_at(url: str, timeout: float = 10) -> float:
    """When the server stopped accepting connections (polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=5)
        except httpx.ConnectError:
            return time.monotonic()
        except httpx.TransportError:
            pass  # accepted just before the listener closed, then closed by the shutdown: poll again
        time.sleep(0.02)
    pytest.fail(f"{url} still accepted connections {timeout} s after SIGTERM")


def test_sigterm_lets_a_running_query_finish_then_exits_0(tmp_path: Path) -> None:
    credentials = provision(tmp_path / "data")
    server = start_serve(tmp_path, tmp_path / "data", log_format="text", shutdown_grace="60")
    try:
        result = query_in_background(server, credentials, SLOW_ROWS)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        refused = refused_at(server.url)
        response, arrived = result()
        assert signalled < refused < arrived, "new connections must be refused while the query runs"
        assert response.status_code == 200, response.text
        assert response.json()["tables"][0]["rows"] == [[SLOW_ROWS]]
        assert server.stop() == 0
    finally:
        server.stop(signal.SIGKILL)
    logs = server.stderr.read_text()
    assert "SIGTERM received" in logs
    assert re.search(r" INFO watchkeeper\.access POST /v1/workspaces/\S+/query 200 ", logs)
    assert "stopped; stores closed" in logs


def test_a_query_outliving_the_shutdown_grace_gets_503_and_the_process_still_exits_0(tmp_path: Path) -> None:
    credentials = provision(tmp_path / "data")
    server = start_serve(tmp_path, tmp_path / "data", log_format="json", shutdown_grace="1")
    try:
        result = query_in_background(server, credentials, 1000 * SLOW_ROWS)  # minutes of work
        signalled = time.monotonic()
        assert server.stop(signal.SIGINT) == 0
        assert time.monotonic() - signalled < 10, "the running query was not interrupted"
        response, _ = result()
    finally:
        server.stop(signal.SIGKILL)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "ServiceUnavailable"
    assert server.access_line(response.headers["x-ms-request-id"])["status"] == 503
    assert not [line for line in server.log_lines() if "Traceback" in line.get("exception", "")]


def test_tls_serves_https_with_a_ca_under_the_data_dir_reused_on_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_serve(tmp_path, data_dir, "--tls", "--loopback-http-port", "0")
    try:
        ca, cert = data_dir / "tls" / "ca.pem", data_dir / "tls" / "server.pem"
        assert first.url.startswith("https://127.0.0.1:")
        assert f"REQUESTS_CA_BUNDLE={ca.resolve()}" in first.stdout.read_text()
        trusted = ssl.create_default_context(cafile=str(ca))
        assert httpx.get(f"{first.url}/readyz", verify=trusted).json()["status"] == "ready"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{first.url}/healthz", verify=ssl.create_default_context())
        assert first.loopback_url is not None
        assert first.loopback_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{first.loopback_url}/healthz").status_code == 200
        issued = (ca.read_bytes(), cert.read_bytes())
        assert first.stop() == 0
    finally:
        first.stop(signal.SIGKILL)
    second = start_serve(tmp_path, data_dir, "--tls")
    try:
        assert (ca.read_bytes(), cert.read_bytes()) == issued
        assert httpx.get(f"{second.url}/healthz", verify=trusted).status_code == 200
        assert second.loopback_url is None
    finally:
        second.stop()
