"""Change-notification subscriptions over HTTP on the shared server, with a real receiver on
127.0.0.1: created through httpx and through msgraph-sdk (handshake first), read, renewed, deleted;
a rule alert and a PATCH of it arrive as created and updated with the subscription's clientState; a
receiver that answers the handshake wrongly gets a 400; roles and tenants are enforced."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.subscription import Subscription

from tests.api.conftest import Platform, TenantFixture
from tests.notifications.receiver import Receiver, running_receiver
from tests.notifications.test_delivery import EVENTS_AT, RULE
from watchkeeper.audit import Actor
from watchkeeper.directory import create_app as register_app
from watchkeeper.directory import create_tenant, create_workspace, find_workspace
from watchkeeper.flows.detections import import_rules, run_rules_over

GRAPH = "https://graph.microsoft.com/.default"
ACTOR = Actor("system", "tests")
# msgraph-sdk's generated request builders warn about their own deprecated classes when first imported
pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]
APPS = {"all": ["SecurityAlert.ReadWrite.All", "SecurityIncident.Read.All"],
        "incidents": ["SecurityIncident.Read.All"], "nobody": []}  # fmt: skip


@pytest.fixture(scope="module")
def tenant(platform: Platform) -> Iterator[str]:
    """A tenant of this module's own (its alerts disturb no other test), with http receivers allowed."""
    settings = platform.runtime.settings
    before, settings.notification_http_loopback = settings.notification_http_loopback, True
    with platform.runtime.database.session() as session:
        made = create_tenant(session, name="tenant-notify", actor=ACTOR)
        fixture = TenantFixture(made.id, made.name)
        fixture.workspaces["main"] = create_workspace(session, tenant_id=made.id, name="main", actor=ACTOR).id
        for app, roles in APPS.items():
            fixture.apps[app] = register_app(session, tenant_id=made.id, name=app, roles=roles, actor=ACTOR)
    platform.tenants["notify"] = fixture
    yield "notify"
    settings.notification_http_loopback = before


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _body(url: str, resource: str = "security/alerts_v2", **extra: Any) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    return {"resource": resource, "changeType": "created,updated", "notificationUrl": url,
            "expirationDateTime": expires, "clientState": "s3cret", **extra}  # fmt: skip


def _create(platform: Platform, tenant: str, body: dict[str, Any], app: str = "all") -> httpx.Response:
    return httpx.post(f"{platform.url}/v1.0/subscriptions", json=body,
                      headers=platform.headers(tenant, app, GRAPH), timeout=30)  # fmt: skip


def _raise_alert(platform: Platform, tenant: str, tmp_path: Path, user: str) -> str:
    runtime = platform.runtime
    with runtime.database.session() as session:
        workspace = find_workspace(session, tenant_id=platform.tenants[tenant].id, ref="main")
    assert workspace is not None
    (tmp_path / "rule.yaml").write_text(RULE)
    import_rules(runtime, ACTOR, workspace, "sentinel", tmp_path / "rule.yaml")
    runtime.workspaces.get(workspace).ingest("SecurityEvent", [
        {"TimeGenerated": EVENTS_AT, "EventID": 4625, "TargetUserName": user, "Computer": "dc1"}
    ])  # fmt: skip
    (outcome,) = run_rules_over(runtime, ACTOR, workspace, EVENTS_AT - timedelta(minutes=1),
                                EVENTS_AT + timedelta(minutes=1))  # fmt: skip
    return next(a.id for a in outcome.alerts if any(e.get("Name") == user for e in a.entities))


def test_create_read_renew_and_delete_a_subscription(
    platform: Platform, tenant: str, receiver: Receiver
) -> None:
    created = _create(platform, tenant, _body(receiver.url))
    assert created.status_code == 201, created.text
    made = created.json()
    assert (made["resource"], made["changeType"], made["clientState"]) == ("security/alerts_v2", "created,updated",
                                                                           "s3cret")  # fmt: skip
    assert made["applicationId"] == platform.tenants[tenant].apps["all"].client_id
    assert len(receiver.validations) == 1
    assert receiver.validations[0].startswith("Validation: ")
    url, headers = f"{platform.url}/v1.0/subscriptions", platform.headers(tenant, "all", GRAPH)
    assert made["id"] in [s["id"] for s in httpx.get(url, headers=headers).json()["value"]]
    later = (datetime.now(UTC) + timedelta(days=20)).isoformat().replace("+00:00", "Z")
    renewed = httpx.patch(f"{url}/{made['id']}", json={"expirationDateTime": later}, headers=headers)
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"][:19] == later[:19]
    too_far = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    refused = httpx.patch(f"{url}/{made['id']}", json={"expirationDateTime": too_far}, headers=headers)
    assert refused.status_code == 400
    assert "43200 minutes" in refused.json()["error"]["message"]
    assert httpx.delete(f"{url}/{made['id']}", headers=headers).status_code == 204
    gone = httpx.get(f"{url}/{made['id']}", headers=headers)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "itemNotFound")


def test_msgraph_sdk_creates_a_subscription(platform: Platform, tenant: str, receiver: Receiver) -> None:
    token = platform.token(tenant, "all", GRAPH)

    class FixedToken(AccessTokenProvider):
        async def get_authorization_token(
            self, uri: str, additional_authentication_context: Any = None
        ) -> str:
            return token

        def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
            return AllowedHostsValidator(["127.0.0.1"])

    async def create() -> Subscription | None:
        adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(FixedToken()))
        adapter.base_url = f"{platform.url}/v1.0"
        client = GraphServiceClient(request_adapter=adapter)
        try:
            return await client.subscriptions.post(Subscription(
                resource="security/incidents", change_type="updated", notification_url=receiver.url,
                client_state="from-the-sdk", expiration_date_time=datetime.now(UTC) + timedelta(hours=2),
            ))  # fmt: skip
        finally:
            await adapter._http_client.aclose()  # the adapter owns its connection pool and never closes it

    with warnings.catch_warnings():
        # the SDK's transport leaves a socket of this event loop unclosed after a POST (not the server's:
        # plain httpx calls leave none); collected here so that its ResourceWarning is not raised later
        warnings.simplefilter("ignore", ResourceWarning)
        made = asyncio.run(create())
        gc.collect()
    assert made is not None
    assert made.id
    assert (made.resource, made.change_type, made.client_state) == (
        "security/incidents",
        "updated",
        "from-the-sdk",
    )
    assert made.expiration_date_time is not None
    assert made.expiration_date_time > datetime.now(UTC)
    assert len(receiver.validations) == 1


def _arrival(receiver: Receiver, subscription: str, change: str, alert_id: str) -> dict[str, Any]:
    """The ``change`` notification of ``alert_id`` for ``subscription``, once the server's background
    sender has delivered it (others the receiver got are not this test's business)."""
    deadline = time.monotonic() + 15
    while True:
        for note in receiver.notifications():
            if (note["subscriptionId"], note["changeType"], note["resourceData"]["id"]) == (
                subscription, change, alert_id):  # fmt: skip
                return note
        assert time.monotonic() < deadline, f"no {change} notification: {receiver.notifications()}"
        time.sleep(0.05)


def test_a_rule_alert_and_its_patch_arrive_as_created_and_updated(
    platform: Platform, tenant: str, receiver: Receiver, tmp_path: Path
) -> None:
    made = _create(platform, tenant, _body(receiver.url)).json()
    alert_id = _raise_alert(platform, tenant, tmp_path, "alice")
    created = _arrival(receiver, made["id"], "created", alert_id)
    assert (created["clientState"], created["resource"]) == ("s3cret", f"security/alerts_v2/{alert_id}")
    headers = platform.headers(tenant, "all", GRAPH)
    patched = httpx.patch(f"{platform.url}/v1.0/security/alerts_v2/{alert_id}", json={"status": "inProgress"},
                          headers=headers)  # fmt: skip
    assert patched.status_code == 200, patched.text
    updated = _arrival(receiver, made["id"], "updated", alert_id)
    assert updated["clientState"] == "s3cret"
    history = httpx.get(f"{platform.url}/api/subscriptions/{made['id']}/deliveries", headers=headers).json()
    delivered = [(d["changeType"], d["state"], d["attempts"]) for d in history["value"]]
    assert {("updated", "delivered", 1), ("created", "delivered", 1)} <= set(delivered), delivered
    assert history["value"][0]["history"][0]["status"] == 202


def test_an_alert_posted_by_another_product_arrives_as_created(
    platform: Platform, tenant: str, receiver: Receiver
) -> None:
    from watchkeeper.flows.providers import add_provider

    with platform.runtime.database.session() as session:
        workspace = find_workspace(session, tenant_id=platform.tenants[tenant].id, ref="main")
    assert workspace is not None
    add_provider(platform.runtime, ACTOR, workspace, name="edr", kind="webhook", settings={}, secrets={})
    made = _create(platform, tenant, _body(receiver.url)).json()
    alert = {"providerAlertId": "edr-1", "title": "Ransomware behaviour", "severity": "high"}
    posted = httpx.post(f"{platform.url}/api/providers/edr/alerts", json=alert,
                        headers=platform.headers(tenant, "all", GRAPH))  # fmt: skip
    assert posted.status_code == 201, posted.text
    # only this subscription's: an earlier test's subscription may name a port this receiver reuses
    deadline = time.monotonic() + 15
    while not (arrived := [n for n in receiver.notifications() if n["subscriptionId"] == made["id"]]):
        assert time.monotonic() < deadline, "the notification did not arrive"
        time.sleep(0.05)
    alert_id = posted.json()["value"][0]["id"]
    assert [(n["changeType"], n["resource"]) for n in arrived] == [
        ("created", f"security/alerts_v2/{alert_id}")
    ]


def test_a_failed_handshake_refuses_the_subscription(
    platform: Platform, tenant: str, receiver: Receiver
) -> None:
    receiver.wrong_token = True
    refused = _create(platform, tenant, _body(receiver.url))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalidRequest"
    assert "not the validationToken" in refused.json()["error"]["message"]
    listed = httpx.get(f"{platform.url}/v1.0/subscriptions", headers=platform.headers(tenant, "all", GRAPH))
    assert receiver.url not in [s["notificationUrl"] for s in listed.json()["value"]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"changeType": "deleted"}, "'deleted' is not supported"),
        ({"clientState": "x" * 129}, "clientState can be at most 128"),
        ({"resource": "security/secureScores"}, "cannot be watched"),
        ({"notificationUrl": "http://example.com/hook"}, "must be an absolute https URL"),
        ({"resource": "security/alerts_v2?$filter=nosuch eq 1"}, "nosuch"),
        ({"includeResourceData": True}, "includeResourceData"),
    ],
)
def test_invalid_subscriptions_are_refused_with_the_reason(
    platform: Platform, tenant: str, change: dict[str, Any], message: str
) -> None:
    refused = _create(platform, tenant, _body("http://127.0.0.1:9/never", **change))
    assert refused.status_code == 400
    assert message in refused.json()["error"]["message"]


def test_the_watched_resource_decides_the_role(platform: Platform, tenant: str, receiver: Receiver) -> None:
    denied = _create(platform, tenant, _body(receiver.url), app="incidents")
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "accessDenied")
    assert _create(platform, tenant, _body(receiver.url), app="nobody").status_code == 403
    allowed = _create(platform, tenant, _body(receiver.url, "security/incidents"), app="incidents")
    assert allowed.status_code == 201
    assert receiver.validations
    assert len(receiver.validations) == 1


def test_another_tenant_sees_no_subscription_and_hears_no_change(
    platform: Platform, tenant: str, receiver: Receiver, tmp_path: Path
) -> None:
    mine = _create(platform, tenant, _body(receiver.url)).json()
    url = f"{platform.url}/v1.0/subscriptions/{mine['id']}"
    for verb in ("GET", "DELETE"):
        answer = httpx.request(verb, url, headers=platform.headers("b", "all", GRAPH))
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "itemNotFound")
    with running_receiver() as theirs:
        assert _create(platform, "b", _body(theirs.url)).status_code == 201
        _raise_alert(platform, tenant, tmp_path, "mallory")
        receiver.wait_for(1)
        assert theirs.posts == 0
