"""Nothing acknowledged is lost, nothing is stored twice: a sender posts batches to the Logs
Ingestion route of a real ``wk serve`` without pause, the server is killed with SIGKILL mid-stream,
restarted on the same data directory, and the sender then does what an Azure SDK client does with
a request that got no answer: sends it again with the same ``x-ms-client-request-id``. It also
resends one batch that *was* acknowledged, as a client whose answer was lost would.

Afterwards every record of every acknowledged batch is in the workspace exactly once, and so is
every record of the batches sent again; nothing else is.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.api.test_server_process import Credentials, ServeProcess, start_serve
from watchkeeper.audit import Actor
from watchkeeper.directory import create_app, create_tenant, create_workspace
from watchkeeper.ingest.rules import StreamRoute, create_rule
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

INGEST = "https://monitor.azure.com/.default"
QUERY = "https://api.loganalytics.io/.default"
RECORDS_PER_BATCH = 200
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Sender:
    """Posts numbered batches until told to stop or the server stops answering."""

    url: str
    rule: str
    token: str
    acknowledged: list[int] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def post(self, client: httpx.Client, batch: int) -> httpx.Response:
        records = [{"TimeGenerated": WHEN.isoformat(), "Computer": "crash", "SyslogMessage": f"{batch}-{n}"}
                   for n in range(RECORDS_PER_BATCH)]  # fmt: skip
        return client.post(
            f"{self.url}/dataCollectionRules/{self.rule}/streams/Microsoft-Syslog?api-version=2023-01-01",
            json=records,
            headers={"Authorization": f"Bearer {self.token}", "x-ms-client-request-id": f"batch-{batch}"},
        )

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            batch = 0
            while not self.stop.is_set():
                try:
                    response = self.post(client, batch)
                except httpx.TransportError:
                    self.unanswered.append(batch)  # the server went away with this one in flight
                    return
                assert response.status_code == 204, response.text
                self.acknowledged.append(batch)
                batch += 1


def provision(data_dir: Path) -> tuple[Credentials, str]:
    actor = Actor("system", "tests")
    with Runtime(Settings(data_dir=data_dir)) as runtime, runtime.database.session() as session:
        tenant = create_tenant(session, name="ops", actor=actor)
        workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=actor)
        app = create_app(session, tenant_id=tenant.id, name="shipper", roles=["Logs.Ingest", "Data.Read"],
                         actor=actor)  # fmt: skip
        rule = create_rule(session, tenant_id=tenant.id, workspace_id=workspace.id, name="syslog", actor=actor,
                           streams=[StreamRoute(stream="Microsoft-Syslog", table="Syslog")])  # fmt: skip
    return Credentials(tenant.id, workspace.id, app.client_id, app.client_secret), rule.immutable_id


def token(url: str, credentials: Credentials, scope: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": credentials.client_id,
            "client_secret": credentials.client_secret, "scope": scope}  # fmt: skip
    answer = httpx.post(f"{url}/{credentials.tenant_id}/oauth2/v2.0/token", data=form)
    assert answer.status_code == 200, answer.text
    issued: str = answer.json()["access_token"]
    return issued


def stored_messages(server: ServeProcess, credentials: Credentials) -> list[str]:
    answer = httpx.post(
        f"{server.url}/v1/workspaces/{credentials.workspace_id}/query",
        json={"query": 'Syslog | where Computer == "crash" | project SyslogMessage'},
        headers={"Authorization": f"Bearer {token(server.url, credentials, QUERY)}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return [row[0] for row in answer.json()["tables"][0]["rows"]]


def test_acknowledged_batches_survive_kill_9_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    credentials, rule = provision(data)
    server = start_serve(tmp_path, data, query_row_limit="1000000")
    sender = Sender(server.url, rule, token(server.url, credentials, INGEST))
    thread = threading.Thread(target=sender.run)
    thread.start()
    deadline = time.monotonic() + 60
    while len(sender.acknowledged) < 20 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop(signal.SIGKILL)  # mid-stream: the sender has a batch in flight or about to be
    sender.stop.set()
    thread.join(timeout=60)
    assert len(sender.acknowledged) >= 20, server.output()

    restarted = start_serve(tmp_path, data)
    try:
        # the journal is stored at startup, before the server answers: every acknowledged record is there
        recovered = set(stored_messages(restarted, credentials))
        acknowledged = {f"{batch}-{n}" for batch in sender.acknowledged for n in range(RECORDS_PER_BATCH)}
        assert acknowledged <= recovered
        again = Sender(restarted.url, rule, token(restarted.url, credentials, INGEST))
        with httpx.Client(timeout=30) as client:
            # what a client does with requests that got no answer, and with one whose answer was lost
            for batch in [*sender.unanswered, sender.acknowledged[-1]]:
                assert again.post(client, batch).status_code == 204
        sent = sorted({*sender.acknowledged, *sender.unanswered})
        expected = sorted(f"{batch}-{n}" for batch in sent for n in range(RECORDS_PER_BATCH))
        # what was acknowledged before the kill is stored before the server answers; the batches
        # sent again are in its journal, and queryable once its writer has stored them
        deadline = time.monotonic() + 30
        stored = stored_messages(restarted, credentials)
        while len(stored) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.2)
            stored = stored_messages(restarted, credentials)
    finally:
        restarted.stop()
    assert sorted(stored) == expected  # every record once: none lost, none twice, nothing else
