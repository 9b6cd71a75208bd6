"""A real server for the console's browser tests (uvicorn on 127.0.0.1 in a thread, plain http and
TLS, as the API tests start theirs) with two tenants, console users in each and incidents raised by rules, and
Playwright driving the distribution's Chromium (``chromium`` package; no browser download).

Users (password :data:`PASSWORD`): tenant ``a``: ``analyst`` (SecurityIncident.ReadWrite.All),
``viewer`` (SecurityIncident.Read.All), ``locked`` (for the lockout test); tenant ``b``:
``analyst``; tenant ``busy``: ``analyst`` (read only); the analysts of a and b may also query (Data.Read).
Events (:data:`EVENTS`): tenant a has 60 SecurityEvent logons over the last day, tenant b one row of
``TenantBSecret_CL``. Incidents: tenant a has five (one with entities, one 10 days old), tenant b one titled "Tenant b secret", tenant busy :data:`BUSY`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import free_port, serve
from watchkeeper.api import create_app
from watchkeeper.api.tls import ensure_certificates
from watchkeeper.audit import Actor
from watchkeeper.cases import raise_alerts
from watchkeeper.detections.alerting import AlertDraft
from watchkeeper.detections.library import find_rule, save_rules
from watchkeeper.detections.models import DetectionRule, IncidentConfiguration
from watchkeeper.detections.scheduler import Window
from watchkeeper.directory import create_tenant, create_user, create_workspace
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).parent / "artifacts"
NOW = datetime.now(UTC).replace(microsecond=0)
ACTOR = Actor("system", "tests")
USERS = {
    "a": {"analyst": ["SecurityIncident.ReadWrite.All", "Data.Read"], "viewer": ["SecurityIncident.Read.All"],
          "locked": ["SecurityIncident.ReadWrite.All"]},
    "b": {"analyst": ["SecurityIncident.ReadWrite.All", "Data.Read"]},
    "busy": {"analyst": ["SecurityIncident.Read.All"]},
}  # fmt: skip
ENTITIES = (
    {"Type": "account", "Name": "alice", "UPNSuffix": "contoso.com", "NTDomain": "CONTOSO"},
    {"Type": "host", "HostName": "dc1", "DnsDomain": "contoso.com"},
    {"Type": "ip", "Address": "203.0.113.7"},
)
OLD, OLD_AGE = "Phishing mail reported", timedelta(days=10)  # the one incident raised long ago
# tenant -> (title, severity, entities) per incident (one rule each, so one incident each)
INCIDENTS: dict[str, list[tuple[str, str, tuple[dict[str, Any], ...]]]] = {
    "a": [
        ("Credential dumping on dc1", "High", ENTITIES),
        ("Beaconing to rare domain", "Medium", ()),
        ("Password spray", "Low", ()),
        ("Hidden files created", "Medium", ()),
        ("Phishing mail reported", "Low", ()),
    ],
    "b": [("Tenant b secret", "High", ())],
    "busy": [],
}
# tenant -> (table, rows) the hunting page queries: in tenant a, 1 to 4 logons in each of the last 24 hours
EVENTS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "a": ("SecurityEvent", [{"TimeGenerated": NOW - timedelta(hours=h, minutes=5 + n), "Computer": f"host{(h + n) % 3}",
                             "EventID": 4625 if n % 2 else 4624, "Account": "CONTOSO\\alice"}
                            for h in range(24) for n in range(1 + h % 4)]),
    "b": ("TenantBSecret_CL", [{"TimeGenerated": NOW, "SecretValue_s": "tenant b only"}]),
}  # fmt: skip
ROW_LIMIT = 2_000  # rows a hunting query may return here; more are cut, and the page says so
BUSY = 205  # incidents of tenant "busy": more than the queue's first 200 rows  # fmt: skip


@dataclass
class Console:
    url: str
    https_url: str
    ca_cert: Path
    runtime: Runtime
    tenants: dict[str, str] = field(default_factory=dict)  # key -> tenant name
    incidents: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> title -> incident id


def _raise(runtime: Runtime, tenant_id: str, workspace_id: str, number: int, title: str, severity: str,
           entities: tuple[dict[str, Any], ...], at: datetime = NOW, copies: int = 1) -> str:  # fmt: skip
    """Raise ``copies`` alerts (one incident each) of a new rule; the first one's incident id."""
    rule = DetectionRule(rule_id=f"console-{number}", name=title, source_format="sentinel", query="SecurityEvent",
                         incident=IncidentConfiguration(create_incident=True))  # fmt: skip
    draft = AlertDraft(rule=rule, window=Window(at - timedelta(hours=1), at), title=title, description=f"{title}: seen",
                       severity=severity, rows=1, first_event=at - timedelta(minutes=30), last_event=at,
                       tactics=("CredentialAccess",), techniques=("T1003",), entities=entities)  # fmt: skip
    with runtime.database.session() as session:
        save_rules(session, tenant_id=tenant_id, workspace_id=workspace_id, rules=[rule], actor=ACTOR)
        stored = find_rule(session, tenant_id=tenant_id, workspace_id=workspace_id, ref=rule.rule_id)
        assert stored is not None
        drafts = [replace(draft, title=f"{title} {n}" if copies > 1 else title) for n in range(copies)]
        alert, *_ = raise_alerts(session, tenant_id=tenant_id, workspace_id=workspace_id, rule_ref=stored.id,
                                 drafts=drafts, actor=ACTOR, now=at)  # fmt: skip
    assert alert.incident_id is not None
    return alert.incident_id


def _provision(runtime: Runtime, console: Console) -> None:
    number = 0
    for key, users in USERS.items():
        with runtime.database.session() as session:
            tenant = create_tenant(session, name=f"console-{key}", actor=ACTOR)
            workspace = create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
            for name, roles in users.items():
                create_user(
                    session, tenant_id=tenant.id, username=name, password=PASSWORD, roles=roles, actor=ACTOR
                )
        console.tenants[key] = tenant.name
        if key in EVENTS:
            runtime.workspaces.get(workspace).ingest(*EVENTS[key])
        console.incidents[key] = {}
        for title, severity, entities in INCIDENTS[key]:
            number += 1
            at = NOW - OLD_AGE if title == OLD else NOW
            console.incidents[key][title] = _raise(
                runtime, tenant.id, workspace.id, number, title, severity, entities, at
            )
        if key == "busy":
            _raise(runtime, tenant.id, workspace.id, 100, "Port scan", "Low", (), copies=BUSY)


@pytest.fixture(scope="package")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    data_dir = tmp_path_factory.mktemp("console")
    runtime = Runtime(
        Settings(
            data_dir=data_dir,
            detection_tick=0,
            notification_tick=0,
            provider_tick=0,
            query_row_limit=ROW_LIMIT,
        )
    )
    port, tls_port = free_port(), free_port()
    tls = ensure_certificates(data_dir)
    found = Console(f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls_port}", tls.ca_cert, runtime)
    _provision(runtime, found)
    app = create_app(runtime=runtime)
    servers = [serve(app, port), serve(app, tls_port, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key))]
    yield found
    for server, _ in servers:
        server.should_exit = True
    for _, thread in servers:
        thread.join(timeout=15)
    runtime.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("the chromium package is not installed (.ci/run installs it): no browser to drive")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280x800, the laptop width the console is built for."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Save the page as a test artifact under tests/console/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
