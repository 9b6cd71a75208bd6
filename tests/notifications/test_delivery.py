"""Change notifications end to end on a real runtime (state database, DuckDB workspace) and a real
receiver on 127.0.0.1: a rule raising an alert writes the outbox, a delivery pass sends it with the
subscription's clientState, failures are retried with backoff on a controllable clock until the retry
period ends, and neither a dead nor a slow receiver delays raising."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.notifications.receiver import Receiver, running_receiver
from watchkeeper.audit import Actor
from watchkeeper.directory import WorkspaceRead, create_tenant, create_workspace
from watchkeeper.flows.cases import change_alert
from watchkeeper.flows.detections import import_rules, run_rules_over
from watchkeeper.flows.notifications import deliver_due, subscribe
from watchkeeper.notifications import DeliveryRecord, Owner, SubscriptionCreate, SubscriptionRead
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings
from watchkeeper.state import utc_now

ACTOR = Actor("cli", "operator")
EVENTS_AT = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
RULE = """\
id: 6c1b2d3e-0000-4000-8000-0000000000aa
name: Failed logons
kind: Scheduled
description: Several failed logons for one account.
severity: Medium
requiredDataConnectors: []
queryFrequency: 1h
queryPeriod: 1h
triggerOperator: gt
triggerThreshold: 0
tactics: [CredentialAccess]
relevantTechniques: [T1110]
query: |
  SecurityEvent
  | where EventID == 4625
  | summarize Failures = count() by TargetUserName
entityMappings:
  - entityType: Account
    fieldMappings: [{identifier: Name, columnName: TargetUserName}]
eventGroupingSettings: {aggregationKind: AlertPerResult}
incidentConfiguration:
  createIncident: true
  groupingConfiguration: {enabled: false, reopenClosedIncident: false, lookbackDuration: PT5H,
                          matchingMethod: AllEntities}
version: 1.0.0
"""
RETRY_BASE = 10.0  # seconds; the retry period is 0.02 h = 72 s: attempts at 0, 10, 30, 70 s, then dropped


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    made = Runtime(Settings(data_dir=tmp_path / "data", notification_http_loopback=True,
                            notification_retry_base=RETRY_BASE, notification_retry_hours=0.02,
                            notification_timeout=0.5))  # fmt: skip
    yield made
    made.close()


@pytest.fixture
def workspace(runtime: Runtime, tmp_path: Path) -> WorkspaceRead:
    with runtime.database.session() as session:
        tenant = create_tenant(session, name="contoso", actor=ACTOR)
        found = create_workspace(session, tenant_id=tenant.id, name="main", actor=ACTOR)
    (tmp_path / "failed.yaml").write_text(RULE)
    import_rules(runtime, ACTOR, found, "sentinel", tmp_path / "failed.yaml")
    return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _subscribe(runtime: Runtime, workspace: WorkspaceRead, url: str, resource: str = "security/alerts_v2",
               state: str = "secret-state") -> SubscriptionRead:  # fmt: skip
    spec = SubscriptionCreate.model_validate({
        "resource": resource, "changeType": "created,updated", "notificationUrl": url, "clientState": state,
        "expirationDateTime": (utc_now() + timedelta(days=2)).isoformat(),
    })  # fmt: skip
    return subscribe(runtime, ACTOR, Owner(workspace.tenant_id, "app-1", "sp-1"), spec)


def _raise(runtime: Runtime, workspace: WorkspaceRead, *users: str) -> list[str]:
    runtime.workspaces.get(workspace).ingest("SecurityEvent", [
        {"TimeGenerated": EVENTS_AT + timedelta(minutes=i), "EventID": 4625, "TargetUserName": user,
         "Computer": "dc1"} for user in users for i in range(2)
    ])  # fmt: skip
    start = EVENTS_AT - timedelta(hours=1)
    (outcome,) = run_rules_over(runtime, ACTOR, workspace, start, EVENTS_AT + timedelta(hours=1))
    return [a.id for a in outcome.alerts]


def _deliveries(runtime: Runtime) -> list[DeliveryRecord]:
    with runtime.database.session() as session:
        return list(session.scalars(select(DeliveryRecord).order_by(DeliveryRecord.created_at)))


def test_a_raised_alert_and_its_incident_are_notified_as_created_with_the_client_state(
    runtime: Runtime, workspace: WorkspaceRead, receiver: Receiver
) -> None:
    alerts = _subscribe(runtime, workspace, receiver.url)
    incidents = _subscribe(runtime, workspace, receiver.url, "security/incidents", state="incident-state")
    assert len(receiver.validations) == 2  # the handshake ran for each
    (alert_id,) = _raise(runtime, workspace, "alice")
    assert receiver.posts == 0  # raising only wrote the outbox
    assert deliver_due(runtime).requests == 1  # both subscriptions share the URL: one request
    by_state = {n["clientState"]: n for n in receiver.notifications()}
    alert = by_state["secret-state"]
    assert alert["changeType"] == "created"
    assert alert["subscriptionId"] == alerts.id
    assert alert["tenantId"] == workspace.tenant_id
    assert alert["resource"] == f"security/alerts_v2/{alert_id}"
    assert alert["resourceData"] == {"@odata.type": "#microsoft.graph.security.alert",
                                     "@odata.id": f"security/alerts_v2/{alert_id}", "id": alert_id}  # fmt: skip
    assert alert["subscriptionExpirationDateTime"].endswith("Z")
    incident = by_state["incident-state"]
    assert (incident["subscriptionId"], incident["changeType"]) == (incidents.id, "created")
    assert incident["resourceData"]["@odata.type"] == "#microsoft.graph.security.incident"
    assert [(d.state, d.attempts) for d in _deliveries(runtime)] == [("delivered", 1), ("delivered", 1)]
    assert deliver_due(runtime).requests == 0  # delivered once, not again


def test_two_senders_at_once_deliver_each_notification_once(
    runtime: Runtime, workspace: WorkspaceRead, receiver: Receiver
) -> None:
    """Two servers (or two workers) share the state database: each claims its deliveries with a
    conditional update, so a notification both see pending is sent by one of them."""
    _subscribe(runtime, workspace, receiver.url)
    _raise(runtime, workspace, "alice", "bob", "carol")
    start = threading.Barrier(4)

    def send() -> int:
        start.wait()
        return deliver_due(runtime).requests

    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(lambda _: send(), range(4)))
    ids = [n["id"] for n in receiver.notifications()]
    assert len(ids) == len(set(ids)) == 3, receiver.notifications()
    assert sum(sent) >= 1
    assert [d.attempts for d in _deliveries(runtime)] == [1, 1, 1]


def test_an_updated_alert_is_notified_as_updated(
    runtime: Runtime, workspace: WorkspaceRead, receiver: Receiver
) -> None:
    _subscribe(runtime, workspace, receiver.url)
    (alert_id,) = _raise(runtime, workspace, "alice")
    change_alert(runtime, ACTOR, workspace, alert_id, {"status": "inProgress"})
    deliver_due(runtime)
    assert [(n["changeType"], n["resourceData"]["id"]) for n in receiver.notifications()] == [
        ("created", alert_id), ("updated", alert_id)
    ]  # fmt: skip


def test_a_receiver_failing_twice_gets_the_notification_on_the_third_attempt(
    runtime: Runtime, workspace: WorkspaceRead, receiver: Receiver
) -> None:
    _subscribe(runtime, workspace, receiver.url)
    receiver.statuses = [500, 503]
    _raise(runtime, workspace, "alice")
    now = utc_now()
    deliver_due(runtime, now=now)
    assert deliver_due(runtime, now=now + timedelta(seconds=RETRY_BASE / 2)).requests == 0  # backing off
    deliver_due(runtime, now=now + timedelta(seconds=RETRY_BASE))
    assert deliver_due(runtime, now=now + timedelta(seconds=RETRY_BASE * 2)).requests == 0  # doubled
    deliver_due(runtime, now=now + timedelta(seconds=RETRY_BASE * 3))
    assert receiver.posts == 3
    assert [n["changeType"] for n in receiver.notifications()] == ["created"]
    (delivery,) = _deliveries(runtime)
    assert (delivery.state, delivery.attempts) == ("delivered", 3)
    assert [h["status"] for h in delivery.history] == [500, 503, 202]
    assert [h["error"] for h in delivery.history] == ["HTTP 500", "HTTP 503", None]


def test_a_dead_endpoint_delays_nothing_and_is_dropped_after_the_retry_period(
    runtime: Runtime, workspace: WorkspaceRead, receiver: Receiver
) -> None:
    _subscribe(runtime, workspace, receiver.url)
    receiver.delay = 3.0  # from now on the receiver takes longer than the 0.5 s timeout: a dead endpoint
    started = time.perf_counter()
    _raise(runtime, workspace, "alice", "bob")
    assert time.perf_counter() - started < 2.0  # raising never waits for the receiver
    assert receiver.posts == 0  # nothing on the raising path went to the network
    now = utc_now()
    for seconds in (0, 10, 30, 70):
        assert deliver_due(runtime, now=now + timedelta(seconds=seconds)).requests == 1
    assert deliver_due(runtime, now=now + timedelta(hours=5)).requests == 0  # no retries past the period
    deliveries = _deliveries(runtime)
    assert [(d.state, d.attempts) for d in deliveries] == [("dropped", 4), ("dropped", 4)]
    assert all(h["error"] == "no answer within the timeout" for d in deliveries for h in d.history)
    assert deliveries[0].history[-1]["dropped"] == "the retry period is over"


def test_an_expired_subscription_stops_receiving(
    runtime: Runtime, workspace: WorkspaceRead, receiver: Receiver
) -> None:
    subscription = _subscribe(runtime, workspace, receiver.url)
    _raise(runtime, workspace, "alice")
    deliver_due(runtime, now=subscription.expires_at + timedelta(seconds=1))  # the pending one expires
    assert [d.state for d in _deliveries(runtime)] == ["expired"]
    assert receiver.posts == 0


def test_a_filtered_subscription_sees_only_what_its_filter_selects(
    runtime: Runtime, workspace: WorkspaceRead, receiver: Receiver
) -> None:
    _subscribe(
        runtime, workspace, receiver.url, "security/alerts_v2?$filter=severity eq 'high'", state="high"
    )
    _subscribe(
        runtime, workspace, receiver.url, "security/alerts_v2?$filter=severity eq 'medium'", state="medium"
    )
    _raise(runtime, workspace, "alice")
    deliver_due(runtime)
    assert [n["clientState"] for n in receiver.notifications()] == ["medium"]


def test_another_tenants_subscription_hears_nothing(
    runtime: Runtime, workspace: WorkspaceRead, receiver: Receiver
) -> None:
    with runtime.database.session() as session:
        other = create_tenant(session, name="fabrikam", actor=ACTOR)
        elsewhere = create_workspace(session, tenant_id=other.id, name="main", actor=ACTOR)
    _subscribe(runtime, elsewhere, receiver.url)
    _raise(runtime, workspace, "alice")
    assert deliver_due(runtime).requests == 0
    assert _deliveries(runtime) == []
