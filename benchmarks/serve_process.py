"""A real ``python -m watchkeeper serve`` for the benchmarks: started in its own process (its own
GIL) over a data directory, its readiness awaited, its CPU time read, tokens fetched from its token
endpoint, and stopped as an operator would stop it. Shared by ``api_load.py`` and ``ingest.py``."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

import httpx

from watchkeeper.settings import Settings

OK = 200


class AppCredentials(Protocol):
    """An app registration's client credentials within its tenant."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str: ...


def state_settings(data_dir: Path) -> Settings:
    """Settings for this process's own access to the server's state (never a configured database)."""
    return Settings(data_dir=data_dir, database_url=None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """``python -m watchkeeper serve`` in its own process, output to a log file. The environment is
    ours minus every ``WK_*`` variable, plus ``settings``; the working directory is the data
    directory's parent, so no stray ``watchkeeper.toml`` changes what is measured."""

    def __init__(self, data_dir: Path, settings: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("WK_")}
        env |= {f"WK_{name.upper()}": value for name, value in settings.items()}
        command = [sys.executable, "-m", "watchkeeper", "serve", "--data-dir", str(data_dir),
                   "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        self._output = log.open("wb")
        self.process = subprocess.Popen(
            command, stdout=self._output, stderr=subprocess.STDOUT, env=env, cwd=data_dir.parent
        )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until ``/readyz`` answers 200; an exit or a timeout raises with the log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == OK:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server was not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def syslog_port(self, transport: str) -> int:
        """The port a syslog listener bound (``--syslog-*-port 0`` picks one): ``wk serve`` logs
        ``syslog+<transport>://host:port`` once the listener runs, before ``/readyz`` answers."""
        self._output.flush()
        found = re.search(rf"syslog\+{transport}://[^:\s]+:(\d+)", self.log.read_text(errors="replace"))
        if found is None:
            raise RuntimeError(f"the server logged no syslog+{transport} listener:\n{self.log_tail()}")
        return int(found.group(1))

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process so far, all threads (Linux ``/proc``)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        self._output.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Ctrl-C (uvicorn's graceful shutdown, the runtime closes), then a kill after 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._output.close()


def fetch_token(url: str, app: AppCredentials, scope: str) -> str:
    """An access token for ``scope`` from the server's token endpoint (client credentials)."""
    form = {"grant_type": "client_credentials", "client_id": app.client_id,
            "client_secret": app.client_secret, "scope": scope}  # fmt: skip
    response = httpx.post(f"{url}/{app.tenant_id}/oauth2/v2.0/token", data=form, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])
