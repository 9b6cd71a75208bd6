"""``wk serve`` with syslog listeners (WK_SYSLOG_UDP_PORT / _TCP_PORT / _WORKSPACE): messages sent
with ``logger`` are stored in the configured workspace, answer over the Log Analytics API, and
every batch is audited; a workspace that does not exist stops the server with a clear error."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.test_server_process import ServeProcess, _environment, get_token, provision, start_serve
from watchkeeper.audit import list_entries
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

pytestmark = pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger is not installed")


def syslog_port(server: ServeProcess, transport: str) -> int:
    found = re.search(rf"syslog\+{transport}://[\d.]+:(\d+)", server.stderr.read_text())
    assert found, server.output()
    return int(found.group(1))


def test_syslog_sent_to_wk_serve_is_stored_queryable_and_audited(tmp_path: Path) -> None:
    data = tmp_path / "data"
    credentials = provision(data)
    server = start_serve(
        tmp_path, data, syslog_udp_port="0", syslog_tcp_port="0", syslog_workspace="ops/main"
    )
    try:
        for transport, flag in (("udp", "-d"), ("tcp", "-T")):
            port = str(syslog_port(server, transport))
            subprocess.run(["logger", "--rfc5424", flag, "-n", "127.0.0.1", "-P", port, "-t", "sshd",
                            "-p", "auth.err", f"served over {transport}"], check=True, timeout=10)  # fmt: skip
        token = get_token(server.url, credentials)
        query = {"query": 'Syslog | where ProcessName == "sshd" | project SyslogMessage, Facility, HostIP'}
        rows: list[list[str]] = []
        deadline = time.monotonic() + 20
        while len(rows) < 2 and time.monotonic() < deadline:
            response = httpx.post(f"{server.url}/v1/workspaces/{credentials.workspace_id}/query", json=query,
                                  headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
            assert response.status_code == 200, response.text
            rows = response.json()["tables"][0]["rows"]
            time.sleep(0.1)
        assert sorted(rows) == [
            ["served over tcp", "auth", "127.0.0.1"],
            ["served over udp", "auth", "127.0.0.1"],
        ]
    finally:
        assert server.stop() == 0, server.output()
    with Runtime(Settings(data_dir=data)) as runtime, runtime.database.session() as session:
        entries = list_entries(session, tenant_id=credentials.tenant_id, action="ingest.batch").entries
    assert entries
    assert {(e.actor_kind, e.actor, e.outcome) for e in entries} == {("system", "syslog", "success")}
    assert sum(e.detail["tables"].get("Syslog", 0) for e in entries) == 2


def test_a_syslog_workspace_that_does_not_exist_stops_the_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    provision(data)
    command = [sys.executable, "-m", "watchkeeper", "serve", "--data-dir", str(data), "--port", "0"]
    env = _environment(syslog_udp_port="0", syslog_workspace="ops/missing")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert result.returncode != 0
    assert "syslog_workspace 'ops/missing': no such tenant and workspace" in result.stderr + result.stdout
