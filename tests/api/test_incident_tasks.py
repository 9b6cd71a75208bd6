"""An incident's tasks over HTTP (``/api/incidents/{id}/tasks``): add, list, rename, complete and
reopen; each change on the incident's timeline and audited; roles; bad input refused with the
reason; another tenant's incident is not found, as a missing one."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import Platform
from tests.api.test_graph_alerts import _draft, _rule, headers, raise_in
from watchkeeper.audit import Actor, AuditEntry
from watchkeeper.cases import find_alert, incident_timeline
from watchkeeper.directory import create_app as register_app


@dataclass
class Incidents:
    mine: str  # tenant a's
    theirs: str  # tenant b's


def _incident_of(platform: Platform, tenant: str, alert_id: str) -> str:
    with platform.runtime.database.session() as session:
        alert = find_alert(session, tenant_id=platform.tenants[tenant].id, alert_id=alert_id)
    assert alert is not None
    assert alert.incident_id is not None
    return alert.incident_id


@pytest.fixture(scope="module")
def incidents(platform: Platform) -> Incidents:
    mine, theirs = _rule("tasks-a"), _rule("tasks-b")
    (a,) = raise_in(platform, "a", mine, [_draft(mine, "Needs tasks", "Medium")])
    (b,) = raise_in(platform, "b", theirs, [_draft(theirs, "Tenant b tasks", "Low")])
    return Incidents(_incident_of(platform, "a", a), _incident_of(platform, "b", b))


def _url(incident_id: str, task_id: str = "") -> str:
    return f"/api/incidents/{incident_id}/tasks" + (f"/{task_id}" if task_id else "")


def test_add_complete_reopen_and_rename_a_task(
    platform: Platform, client: httpx.Client, incidents: Incidents
) -> None:
    auth = headers(platform)
    added = client.post(_url(incidents.mine), json={"title": "Reset alice's password"}, headers=auth)
    assert added.status_code == 201, added.text
    task = added.json()
    assert (task["title"], task["status"], task["incidentId"]) == (
        "Reset alice's password",
        "New",
        incidents.mine,
    )
    done = client.patch(_url(incidents.mine, task["id"]), json={"status": "Completed"}, headers=auth)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "Completed"
    listed = client.get(_url(incidents.mine), headers=auth).json()["value"]
    assert [(t["id"], t["status"]) for t in listed] == [(task["id"], "Completed")]
    again = client.patch(
        _url(incidents.mine, task["id"]), json={"status": "New", "title": "Reset it"}, headers=auth
    )
    assert (again.json()["status"], again.json()["title"]) == ("New", "Reset it")
    with platform.runtime.database.session() as session:
        timeline = incident_timeline(session, tenant_id=platform.tenants["a"].id, ref=incidents.mine)
        audited = session.scalars(select(AuditEntry.action).where(AuditEntry.target == incidents.mine)).all()
    entries = [e for e in timeline if e["kind"] == "task"]
    assert [e.get("status") for e in entries] == [None, "Completed", None, "New"]
    assert (entries[2]["from"], entries[2]["title"], entries[3]["title"]) == (
        "Reset alice's password",
        "Reset it",
        "Reset it",
    )
    assert "incident.task" in audited
    assert audited.count("incident.task.update") == 2


def test_tasks_are_listed_oldest_first(
    platform: Platform, client: httpx.Client, incidents: Incidents
) -> None:
    auth = headers(platform)
    titles = ["first look", "second look", "third look"]
    for title in titles:
        assert client.post(_url(incidents.mine), json={"title": title}, headers=auth).status_code == 201
    listed = [t["title"] for t in client.get(_url(incidents.mine), headers=auth).json()["value"]]
    assert listed[-3:] == titles


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"title": ""}, "needs a title"),
        ({"title": "x" * 257}, "at most 256"),
        ({"title": 7}, "needs a title"),
        (["title"], "JSON object"),
    ],
)
def test_a_bad_new_task_is_refused_with_the_reason(
    platform: Platform, client: httpx.Client, incidents: Incidents, body: object, reason: str
) -> None:
    answer = client.post(_url(incidents.mine), json=body, headers=headers(platform))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalidRequest"
    assert reason in answer.json()["error"]["message"]


def test_a_bad_change_is_refused_and_changes_nothing(
    platform: Platform, client: httpx.Client, incidents: Incidents
) -> None:
    auth = headers(platform)
    task = client.post(_url(incidents.mine), json={"title": "unchanged"}, headers=auth).json()
    for body, reason in (({"status": "Done"}, "New or Completed"), ({"owner": "bob"}, "cannot be changed"),
                         ({"title": "renamed", "status": "Closed"}, "New or Completed")):  # fmt: skip
        answer = client.patch(_url(incidents.mine, task["id"]), json=body, headers=auth)
        assert answer.status_code == 400
        assert reason in answer.json()["error"]["message"]
    (kept,) = [
        t for t in client.get(_url(incidents.mine), headers=auth).json()["value"] if t["id"] == task["id"]
    ]
    assert (kept["title"], kept["status"]) == ("unchanged", "New")


def test_another_tenants_incident_and_task_are_not_found(
    platform: Platform, client: httpx.Client, incidents: Incidents
) -> None:
    theirs = client.post(_url(incidents.theirs), json={"title": "tenant b's"}, headers=headers(platform, "b"))
    assert theirs.status_code == 201
    auth = headers(platform, "a")
    missing = client.get(_url("no-such-incident"), headers=auth)
    for answer in (
        client.get(_url(incidents.theirs), headers=auth),
        client.post(_url(incidents.theirs), json={"title": "sneaky"}, headers=auth),
        client.patch(_url(incidents.theirs, theirs.json()["id"]), json={"status": "Completed"}, headers=auth),
        # tenant b's task under tenant a's own incident
        client.patch(_url(incidents.mine, theirs.json()["id"]), json={"status": "Completed"}, headers=auth),
    ):
        assert answer.status_code == missing.status_code == 404
        assert answer.json()["error"]["code"] == "itemNotFound"
    listed = client.get(_url(incidents.theirs), headers=headers(platform, "b")).json()["value"]
    assert [(t["title"], t["status"]) for t in listed] == [("tenant b's", "New")]


def test_reading_needs_an_incident_role_and_writing_the_readwrite_one(
    platform: Platform, client: httpx.Client, incidents: Incidents
) -> None:
    with platform.runtime.database.session() as session:
        for name, roles in (
            ("incident-reader", ["SecurityIncident.Read.All"]),
            ("alert-only", ["SecurityAlert.Read.All"]),
        ):
            platform.tenants["a"].apps[name] = register_app(
                session,
                tenant_id=platform.tenants["a"].id,
                name=name,
                roles=roles,
                actor=Actor("system", "tests"),
            )
    reader, other = headers(platform, "a", "incident-reader"), headers(platform, "a", "alert-only")
    assert client.get(_url(incidents.mine), headers=reader).status_code == 200
    assert client.post(_url(incidents.mine), json={"title": "no"}, headers=reader).status_code == 403
    assert client.get(_url(incidents.mine), headers=other).status_code == 403
    assert client.get(_url(incidents.mine)).status_code == 401
