"""The Graph Security connector end to end: a second watchkeeper, on its own real uvicorn server
over https (its own data directory, a self-signed CA trusted through the provider's ``caBundle``),
poses as Microsoft Graph. Its tenant has an app holding SecurityAlert.ReadWrite.All and
SecurityIncident.ReadWrite.All, and alerts raised by a rule. The local instance has a ``graph``
provider with the remote's tenant id, client id, secret, authority and Graph URL; azure-identity
signs in at the remote's token endpoint and msgraph-sdk reads its ``security/alerts_v2``.

What a user sees: the remote's alerts arrive with their sources and evidence and keep their remote
incidents together; a second run takes nothing twice; a new remote alert comes with the next run;
a status change made here reaches the remote alert; a remote that is down is reported on the run,
keeps the checkpoint, and the next run catches up; the server's timer runs providers by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.api.conftest import free_port, serve
from tests.connectors.conftest import OPERATOR, Place
from watchkeeper.api import create_app
from watchkeeper.api.tls import ensure_certificates
from watchkeeper.audit import list_entries
from watchkeeper.cases import AlertRead, find_alert, list_alerts, raise_alerts
from watchkeeper.connectors import graph as graph_connector
from watchkeeper.connectors.models import ProviderRead
from watchkeeper.connectors.service import checkpoint_of
from watchkeeper.detections.alerting import AlertDraft
from watchkeeper.detections.models import DetectionRule, GroupingConfiguration, IncidentConfiguration
from watchkeeper.detections.scheduler import Window
from watchkeeper.directory import AppCreated, WorkspaceRead, create_tenant, create_workspace
from watchkeeper.directory import create_app as register_app
from watchkeeper.flows.cases import change_alert
from watchkeeper.flows.providers import add_provider, run_provider
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings
from watchkeeper.state import utc_now

GRAPH = "https://graph.microsoft.com/.default"
ROLES = ["SecurityAlert.ReadWrite.All", "SecurityIncident.ReadWrite.All"]
EVIDENCE = {"@odata.type": "#microsoft.graph.security.mailboxEvidence", "primaryAddress": "bob@contoso.com",
            "createdDateTime": "2026-01-05T09:00:00Z", "verdict": "malicious", "remediationStatus": "none",
            "roles": [], "tags": [], "detailedRoles": []}  # fmt: skip
ENTITIES = (
    {"Type": "ip", "Address": "203.0.113.7"},
    {"Type": "host", "HostName": "dc1", "DnsDomain": "contoso.com"},
)
# alerts of this rule with the same host share one remote incident
RULE = DetectionRule(
    rule_id="remote-rule", name="remote rule", source_format="sentinel", query="SecurityEvent",
    severity="Medium", incident=IncidentConfiguration(create_incident=True, grouping=GroupingConfiguration(
        enabled=True, matching_method="Selected", group_by_entities=("Host",))),
)  # fmt: skip


@dataclass
class Remote:
    """The other watchkeeper: its runtime, tenant, workspace, Graph app, and https server."""

    runtime: Runtime
    workspace: WorkspaceRead
    app: AppCreated
    ca_cert: Path
    port: int
    asgi: Any = None
    tls: dict[str, str] = field(default_factory=dict)
    server: tuple[uvicorn.Server, threading.Thread] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = serve(self.asgi, self.port, **self.tls)

    def stop(self) -> None:
        assert self.server is not None
        server, thread = self.server
        # azure-identity keeps the connection of a refused token request open after its credential
        # is closed (test_a_wrong_secret...): a graceful shutdown would wait for it
        server.should_exit = server.force_exit = True
        thread.join(timeout=15)
        self.server = None

    def raise_alerts(self, *titles: str, host: str = "dc1", **props: Any) -> list[AlertRead]:
        entities = tuple({**e, "HostName": host} if e["Type"] == "host" else e for e in ENTITIES)
        now = utc_now()
        drafts = [AlertDraft(rule=RULE, window=Window(now - timedelta(hours=1), now), title=title,
                             description=f"{title} seen", severity="Medium", tactics=("InitialAccess",),
                             techniques=("T1566",), entities=entities, rows=1, first_event=now - timedelta(minutes=9),
                             last_event=now - timedelta(minutes=1), dynamic_properties=props)
                  for title in titles]  # fmt: skip
        with self.runtime.database.session() as session:
            return raise_alerts(session, tenant_id=self.workspace.tenant_id, workspace_id=self.workspace.id,
                                rule_ref=None, drafts=drafts, actor=OPERATOR)  # fmt: skip

    def alert(self, alert_id: str) -> AlertRead:
        with self.runtime.database.session() as session:
            found = find_alert(session, tenant_id=self.workspace.tenant_id, alert_id=alert_id)
        assert found is not None
        return found


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    data_dir = tmp_path_factory.mktemp("remote-graph")
    runtime = Runtime(Settings(data_dir=data_dir, detection_tick=0, notification_tick=0, provider_tick=0))
    with runtime.database.session() as session:
        tenant = create_tenant(session, name="remote", actor=OPERATOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="soc", actor=OPERATOR)
        app = register_app(session, tenant_id=tenant.id, name="connector", roles=ROLES, actor=OPERATOR)
    tls = ensure_certificates(data_dir)
    made = Remote(runtime, workspace, app, tls.ca_cert, free_port(), create_app(runtime=runtime),
                  {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)})  # fmt: skip
    made.start()
    yield made
    if made.server is not None:
        made.stop()
    runtime.close()


def graph_settings(remote: Remote) -> dict[str, Any]:
    return {"tenantId": remote.workspace.tenant_id, "clientId": remote.app.client_id, "authority": remote.url,
            "graphUrl": f"{remote.url}/v1.0", "caBundle": str(remote.ca_cert)}  # fmt: skip


def configure(
    runtime: Runtime, workspace: WorkspaceRead, remote: Remote, name: str = "upstream"
) -> ProviderRead:
    return add_provider(runtime, OPERATOR, workspace, name=name, kind="graph", settings=graph_settings(remote),
                        secrets={"clientSecret": remote.app.client_secret})  # fmt: skip


def local_alerts(place: Place) -> dict[str, AlertRead]:
    """The local alerts of the place's tenant by the remote's alert id."""
    with place.runtime.database.session() as session:
        found = list_alerts(session, tenant_id=place.workspace.tenant_id, limit=1000)
    return {str(a.properties["providerAlertId"]): a for a in found}


def test_remote_alerts_arrive_with_sources_evidence_and_incidents_once(remote: Remote, place: Place) -> None:
    first, second = remote.raise_alerts("Phish A", "Phish B", evidence=[EVIDENCE])
    assert first.incident_id == second.incident_id is not None
    provider = configure(place.runtime, place.workspace, remote)

    run = run_provider(place.runtime, OPERATOR, provider)
    assert (run.error, run.created) == (None, 2)
    taken = local_alerts(place)
    assert set(taken) == {first.id, second.id}
    mine = taken[first.id]
    assert (mine.title, mine.severity, mine.status, mine.techniques) == (
        "Phish A",
        "Medium",
        "new",
        ["T1566"],
    )
    props = mine.properties
    assert (props["serviceSource"], props["detectionSource"], props["productName"]) == (
        "microsoftSentinel", "scheduledAlerts", "watchkeeper")  # fmt: skip
    assert props["providerIncidentId"] == first.incident_id
    kinds = [e["@odata.type"] for e in props["evidence"]]
    # the remote renders evidence from its entities first, then the product's own, verbatim
    assert kinds == ["#microsoft.graph.security.ipEvidence", "#microsoft.graph.security.deviceEvidence",
                     "#microsoft.graph.security.mailboxEvidence"]  # fmt: skip
    assert props["evidence"][0]["ipAddress"] == "203.0.113.7"
    assert props["evidence"][2]["primaryAddress"] == "bob@contoso.com"
    # one remote incident, one incident here
    assert mine.incident_id is not None
    assert mine.incident_id == taken[second.id].incident_id

    again = run_provider(place.runtime, OPERATOR, provider)
    assert (again.error, again.created) == (None, 0)
    assert len(local_alerts(place)) == 2

    (third,) = remote.raise_alerts("Phish C", host="ws9")
    later = run_provider(place.runtime, OPERATOR, provider)
    assert (later.error, later.created) == (None, 1)
    assert local_alerts(place)[third.id].title == "Phish C"
    assert local_alerts(place)[third.id].incident_id != mine.incident_id


def test_a_status_change_here_is_pushed_to_the_remote_alert(remote: Remote, place: Place) -> None:
    (theirs,) = remote.raise_alerts("Beacon", host="ws1")
    provider = configure(place.runtime, place.workspace, remote)
    assert run_provider(place.runtime, OPERATOR, provider).created >= 1
    mine = local_alerts(place)[theirs.id]

    changes = {"status": "resolved", "classification": "truePositive", "determination": "malware",
               "assignedTo": "analyst@contoso.com"}  # fmt: skip
    changed = change_alert(place.runtime, OPERATOR, place.workspace, mine.id, changes)
    assert changed is not None
    assert changed.status == "resolved"

    there = remote.alert(theirs.id)
    assert (there.status, there.classification, there.determination, there.assigned_to) == (
        "resolved", "truePositive", "malware", "analyst@contoso.com")  # fmt: skip
    with place.runtime.database.session() as session:
        stored = find_alert(session, tenant_id=place.workspace.tenant_id, alert_id=mine.id)
    assert stored is not None
    assert stored.properties["providerSync"]["accepted"] is True


def test_a_status_alone_is_pushed_and_a_rule_alert_here_is_never_sent(remote: Remote, place: Place) -> None:
    (theirs,) = remote.raise_alerts("Recon", host="ws2")
    provider = configure(place.runtime, place.workspace, remote)
    run_provider(place.runtime, OPERATOR, provider)
    mine = local_alerts(place)[theirs.id]
    change_alert(place.runtime, OPERATOR, place.workspace, mine.id, {"status": "inProgress"})
    there = remote.alert(theirs.id)
    assert (there.status, there.classification, there.determination) == (
        "inProgress", theirs.classification, theirs.determination)  # fmt: skip

    # the next pull finds the remote alert changed (by the push) and changes nothing here
    again = run_provider(place.runtime, OPERATOR, provider)
    assert (again.error, again.created, again.updated) == (None, 0, 0)

    # an alert of a rule here goes nowhere
    ours = Remote(place.runtime, place.workspace, remote.app, remote.ca_cert, 0).raise_alerts("Local rule")[0]
    change_alert(place.runtime, OPERATOR, place.workspace, ours.id, {"status": "resolved"})
    with place.runtime.database.session() as session:
        pushes = list_entries(session, tenant_id=place.workspace.tenant_id, action="provider.push").entries
        stored = find_alert(session, tenant_id=place.workspace.tenant_id, alert_id=ours.id)
    assert [e.target for e in pushes] == [mine.id]
    assert stored is not None
    assert "providerSync" not in stored.properties


def test_a_remote_that_is_down_is_reported_and_the_next_run_catches_up(remote: Remote, place: Place) -> None:
    (before,) = remote.raise_alerts("Before the outage", host="ws3")
    provider = configure(place.runtime, place.workspace, remote)
    assert run_provider(place.runtime, OPERATOR, provider).error is None
    with place.runtime.database.session() as session:
        checkpoint = checkpoint_of(session, provider_id=provider.id)
    mine = local_alerts(place)[before.id]

    remote.stop()
    try:
        (during,) = remote.raise_alerts("During the outage", host="ws4")
        down = run_provider(place.runtime, OPERATOR, provider)
        changed = change_alert(place.runtime, OPERATOR, place.workspace, mine.id, {"status": "inProgress"})
    finally:
        remote.start()
    assert down.error is not None
    assert down.created == 0
    with place.runtime.database.session() as session:
        assert checkpoint_of(session, provider_id=provider.id) == checkpoint
        failures = list_entries(session, tenant_id=place.workspace.tenant_id, action="provider.pull").entries
        stored = find_alert(session, tenant_id=place.workspace.tenant_id, alert_id=mine.id)
    assert [(e.outcome, e.detail["provider"]) for e in failures] == [("failure", "upstream")]
    # the analyst's change stands; the refused push is recorded on the alert
    assert changed is not None
    assert stored is not None
    assert stored.status == "inProgress"
    assert stored.properties["providerSync"]["accepted"] is False
    assert stored.properties["providerSync"]["error"]
    assert remote.alert(before.id).status == "new"

    after = run_provider(place.runtime, OPERATOR, provider)
    assert (after.error, after.created) == (None, 1)
    assert local_alerts(place)[during.id].title == "During the outage"


def test_a_remote_with_more_than_one_run_holds_is_taken_page_by_page(
    remote: Remote, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.raise_alerts("Spray 1", "Spray 2", "Spray 3", host="ws6")
    with remote.runtime.database.session() as session:
        held = {a.id for a in list_alerts(session, tenant_id=remote.workspace.tenant_id)}
    # pages of 2 alerts, 2 pages a pull: the remote's nextLink is followed, and the run pulls again
    monkeypatch.setattr(graph_connector, "PAGE", 2)
    monkeypatch.setattr(graph_connector, "MAX_PAGES", 2)
    provider = configure(place.runtime, place.workspace, remote)
    run = run_provider(place.runtime, OPERATOR, provider)
    assert run.error is None
    assert run.pulls >= len(held) // 4
    assert set(local_alerts(place)) == held


def test_a_wrong_secret_is_reported_without_the_secret(remote: Remote, place: Place) -> None:
    wrong = "not-the-secret-" + remote.app.client_secret[::-1]
    provider = add_provider(place.runtime, OPERATOR, place.workspace, name="wrong", kind="graph",
                            settings=graph_settings(remote), secrets={"clientSecret": wrong})  # fmt: skip
    run = run_provider(place.runtime, OPERATOR, provider)
    assert run.error is not None
    assert "ClientAuthenticationError" in run.error
    with place.runtime.database.session() as session:
        (entry,) = list_entries(session, tenant_id=place.workspace.tenant_id, action="provider.pull").entries
        assert checkpoint_of(session, provider_id=provider.id) is None
    assert wrong not in run.error
    assert wrong not in str(entry.detail)
    assert local_alerts(place) == {}


@pytest.fixture
def server_here(tmp_path: Path) -> Iterator[tuple[str, Runtime, WorkspaceRead, AppCreated]]:
    """A local watchkeeper server whose timer runs providers every 0.3 s: (url, runtime, workspace,
    an app that may change alerts)."""
    runtime = Runtime(Settings(data_dir=tmp_path, detection_tick=0, notification_tick=0, provider_tick=0.3))
    with runtime.database.session() as session:
        tenant = create_tenant(session, name="local", actor=OPERATOR)
        workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=OPERATOR)
        app = register_app(session, tenant_id=tenant.id, name="analyst", roles=ROLES, actor=OPERATOR)
    port = free_port()
    server, thread = serve(create_app(runtime=runtime), port)
    yield f"http://127.0.0.1:{port}", runtime, workspace, app
    server.should_exit = True
    thread.join(timeout=15)
    runtime.close()


def wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_the_server_runs_providers_on_its_timer_and_its_graph_patch_reaches_the_remote(
    remote: Remote, server_here: tuple[str, Runtime, WorkspaceRead, AppCreated]
) -> None:
    url, runtime, workspace, app = server_here
    (theirs,) = remote.raise_alerts("Lateral movement", host="ws5")
    configure(runtime, workspace, remote)
    place = Place(runtime, workspace)
    mine = wait_for(lambda: local_alerts(place).get(theirs.id))
    assert mine is not None, "the timer did not take the remote alert in"

    form = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret,
            "scope": GRAPH}  # fmt: skip
    token = httpx.post(f"{url}/{workspace.tenant_id}/oauth2/v2.0/token", data=form).json()["access_token"]
    answer = httpx.patch(f"{url}/v1.0/security/alerts_v2/{mine.id}", json={"status": "inProgress"},
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "inProgress"
    assert remote.alert(theirs.id).status == "inProgress"
