"""The demo opens on work to do: its analytics rules, run over the demo's days, raise alerts for the
hidden attacks, grouped into incidents, and registering the demo again never doubles them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from watchkeeper.audit import Actor
from watchkeeper.cases import list_alerts, list_incidents
from watchkeeper.demo import Manifest, build_demo
from watchkeeper.directory import WorkspaceRead, authenticate_user, find_workspace
from watchkeeper.flows import DEMO_CREDENTIALS, provision_demo, saved_demo_access
from watchkeeper.flows.demo import enable_demo_detections
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings

ACTOR = Actor("cli", "operator")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data = tmp_path_factory.mktemp("data")
    made = Runtime(Settings(data_dir=data))
    yield made
    made.close()


@pytest.fixture(scope="module")
def demo(runtime: Runtime) -> tuple[WorkspaceRead, Manifest]:
    folder = Path("workspaces") / "demo"
    build = build_demo(runtime.settings.data_dir / folder, scale=0.05)
    access = provision_demo(runtime, ACTOR, folder.as_posix())
    with runtime.database.session() as session:
        workspace = find_workspace(session, tenant_id=access.tenant_id, ref=access.workspace_id)
    assert workspace is not None
    return workspace, build.manifest


def test_the_demo_rules_raise_alerts_for_the_hidden_attacks(
    runtime: Runtime, demo: tuple[WorkspaceRead, Manifest]
) -> None:
    workspace, manifest = demo
    outcomes = enable_demo_detections(runtime, ACTOR, workspace, manifest.start, manifest.end)
    assert len(outcomes) == 6
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    silent = [o.rule.rule.name for o in outcomes if not o.alerts]
    assert silent == [], "every demo rule finds its attack"
    with runtime.database.session() as session:
        alerts = list_alerts(session, tenant_id=workspace.tenant_id)
        incidents = list_incidents(session, tenant_id=workspace.tenant_id)
    addresses = {e.get("Address") for a in alerts for e in a.entities if e["Type"] == "ip"}
    assert {"203.0.113.45", "203.0.113.77"} <= addresses  # the outsider and the password sprayer
    assert 0 < len(incidents) < len(alerts)  # grouped
    # registering the demo again refreshes the rules and raises nothing twice
    assert enable_demo_detections(runtime, ACTOR, workspace, manifest.start, manifest.end) == []
    with runtime.database.session() as session:
        assert len(list_alerts(session, tenant_id=workspace.tenant_id)) == len(alerts)


def test_the_demo_comes_with_a_console_user_whose_password_is_kept_with_the_app_secret(
    runtime: Runtime, demo: tuple[WorkspaceRead, Manifest]
) -> None:
    workspace, _ = demo
    access = saved_demo_access(runtime)
    assert access is not None
    assert access.console_user == "analyst"
    assert len(access.console_password) >= 12
    with runtime.database.session() as session:
        user = authenticate_user(session, tenant_id=workspace.tenant_id, username=access.console_user,
                                 password=access.console_password)  # fmt: skip
    assert user is not None
    assert "SecurityIncident.ReadWrite.All" in user.roles
    credentials = runtime.settings.data_dir / DEMO_CREDENTIALS
    assert credentials.stat().st_mode & 0o077 == 0  # owner-only, as the app secret
