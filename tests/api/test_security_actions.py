"""Security actions (beta) over HTTP, driven by the real msgraph-beta-sdk: create, get, list with
OData, cancel; the built-in provider's blocklist download; status as the provider reports it (a
scripted provider, the in-memory twin, runs, completes and fails); validation errors, roles and
tenant isolation with plain httpx."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph_beta import GraphRequestAdapter, GraphServiceClient
from msgraph_beta.generated.models.key_value_pair import KeyValuePair
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_beta.generated.models.operation_status import OperationStatus
from msgraph_beta.generated.models.security_action import SecurityAction
from msgraph_beta.generated.models.security_vendor_information import SecurityVendorInformation
from msgraph_core import GraphClientFactory

from tests.api.conftest import Platform
from watchkeeper.automation import InMemoryActionProvider, ResultInfo
from watchkeeper.directory import find_workspace
from watchkeeper.flows.actions import action_providers

with warnings.catch_warnings():
    # kiota's query parameter module warns about its own deprecated class when imported
    warnings.simplefilter("ignore", DeprecationWarning)
    # the beta SDK's generated request builders declare deprecated classes: import the ones used
    from msgraph_beta.generated.security import security_request_builder  # noqa: F401
    from msgraph_beta.generated.security.security_actions.item import security_action_item_request_builder  # noqa: F401
    from msgraph_beta.generated.security.security_actions.item.cancel_security_action import (
        cancel_security_action_request_builder,  # noqa: F401
    )
    from msgraph_beta.generated.security.security_actions.security_actions_request_builder import (
        SecurityActionsRequestBuilder,
    )

GRAPH = "https://graph.microsoft.com/.default"
ACTIONS = "/beta/security/securityActions"
# the beta SDK warns on every securityActions call that Graph's legacy security API is deprecated
pytestmark = pytest.mark.filterwarnings(
    "ignore:The legacy Graph Security API is deprecated:DeprecationWarning"
)
T = TypeVar("T")


class FixedToken(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


def call(platform: Platform, tenant: str, request: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
    """One SDK request as an app of ``tenant`` holding every role, on a client of its own (the SDK's
    HTTP client belongs to the event loop it was made in; it is closed after the request)."""

    async def send() -> T:
        # the SDK's default transport (the msgraph middleware's) outlives aclose(); a transport of
        # our own is closed after, so no socket outlives the loop
        transport = httpx.AsyncHTTPTransport()
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=transport)
        )
        token = FixedToken(platform.token(tenant, "all", GRAPH))
        adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(token), client=http)
        adapter.base_url = f"{platform.url}/beta"
        try:
            return await request(GraphServiceClient(request_adapter=adapter))
        finally:
            await http.aclose()
            await transport.aclose()

    return asyncio.run(send())


def block(ip: str, **extra: Any) -> SecurityAction:
    return SecurityAction(name="blockIp", parameters=[KeyValuePair(name="IP", value=ip)], **extra)


@pytest.fixture(scope="module")
def twins(platform: Platform) -> Iterator[dict[str, InMemoryActionProvider]]:
    """Two scripted providers installed in the server: one runs for two polls then completes, one
    fails as it starts."""
    providers = action_providers(platform.runtime)
    slow = InMemoryActionProvider(name="slow", actions=("isolateHost",), script=("Running", "Completed"))
    broken = InMemoryActionProvider(name="broken", actions=("quarantineFile",),
                                    fail_with=ResultInfo(code=503, message="the EDR is unreachable"))  # fmt: skip
    for twin in (slow, broken):
        providers.add(twin)
    yield {"slow": slow, "broken": broken}
    for twin in (slow, broken):
        providers.remove(twin.name)


def blocklist(client: httpx.Client, platform: Platform, tenant: str = "a") -> list[str]:
    response = client.get("/api/blocklist", headers=platform.headers(tenant, "all", GRAPH))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text.splitlines()


def test_block_ip_with_the_sdk_completes_and_the_address_is_on_the_blocklist(
    platform: Platform, client: httpx.Client
) -> None:
    created = call(platform, "a", lambda g: g.security.security_actions.post(block("203.0.113.50", action_reason="seen in phishing",
                                                             client_context="ticket-42")))  # fmt: skip
    assert created is not None
    assert created.id
    assert created.status == OperationStatus.Completed
    assert created.name == "blockIp"
    assert created.app_id == platform.tenants["a"].apps["all"].client_id
    assert created.azure_tenant_id == platform.tenants["a"].id
    assert created.vendor_information is not None
    assert created.vendor_information.provider == "watchkeeper"
    assert [s.status for s in created.states or []] == [
        OperationStatus.NotStarted, OperationStatus.Running, OperationStatus.Completed]  # fmt: skip
    assert created.completed_date_time is not None
    assert created.client_context == "ticket-42"
    assert "203.0.113.50" in blocklist(client, platform)
    fetched = call(
        platform, "a", lambda g: g.security.security_actions.by_security_action_id(created.id).get()
    )
    assert fetched is not None
    assert fetched.action_reason == "seen in phishing"
    assert fetched.parameters is not None
    assert [(p.name, p.value) for p in fetched.parameters] == [("IP", "203.0.113.50")]


def test_cancel_with_the_sdk_lifts_the_block_and_the_action_ends_failed_as_cancelled(
    platform: Platform, client: httpx.Client
) -> None:
    created = call(platform, "a", lambda g: g.security.security_actions.post(block("2001:db8::51")))
    assert created is not None
    assert created.id
    assert "2001:db8::51" in blocklist(client, platform)
    call(
        platform,
        "a",
        lambda g: g.security.security_actions.by_security_action_id(created.id).cancel_security_action.post(),
    )
    assert "2001:db8::51" not in blocklist(client, platform)
    after = call(platform, "a", lambda g: g.security.security_actions.by_security_action_id(created.id).get())
    assert after is not None
    assert after.status == OperationStatus.Failed
    assert after.error_info is not None
    assert after.error_info.code == 499
    assert "cancelled" in (after.error_info.message or "")
    # a second cancellation changes nothing
    again = client.post(
        f"{ACTIONS}/{created.id}/cancelSecurityAction", headers=platform.headers("a", "all", GRAPH)
    )
    assert again.status_code == 204


def test_allow_ip_lifts_a_block(platform: Platform, client: httpx.Client) -> None:
    call(platform, "a", lambda g: g.security.security_actions.post(block("198.51.100.52")))
    assert "198.51.100.52" in blocklist(client, platform)
    allowed = call(platform, "a", lambda g: g.security.security_actions.post(
        SecurityAction(name="AllowIp", parameters=[KeyValuePair(name="ip", value="198.51.100.52")])))  # fmt: skip
    assert allowed is not None
    assert allowed.status == OperationStatus.Completed
    assert allowed.name == "allowIp"
    assert "198.51.100.52" not in blocklist(client, platform)


def test_block_indicators_reach_the_workspaces_for_rules_to_join(
    platform: Platform, client: httpx.Client
) -> None:
    created = call(platform, "a", lambda g: g.security.security_actions.post(block("198.51.100.60")))
    assert created is not None
    assert created.id
    with platform.runtime.database.session() as session:
        found = find_workspace(session, tenant_id=platform.tenants["a"].id, ref="main")
    assert found is not None
    ws = platform.runtime.workspaces.get(found)
    query = (
        "ThreatIntelligenceIndicator | where NetworkDestinationIP == '198.51.100.60' "
        "| order by TimeGenerated asc | project Active, Action"
    )
    assert ws.query(query).rows == [(True, "block")]
    call(
        platform,
        "a",
        lambda g: g.security.security_actions.by_security_action_id(created.id).cancel_security_action.post(),
    )
    assert ws.query(query).rows == [(True, "block"), (False, "block")]


def test_blocklist_as_json_and_per_tenant(platform: Platform, client: httpx.Client) -> None:
    call(platform, "b", lambda g: g.security.security_actions.post(block("192.0.2.53")))
    response = client.get(
        "/api/blocklist", params={"format": "json"}, headers=platform.headers("b", "all", GRAPH)
    )
    assert response.status_code == 200
    [entry] = [e for e in response.json()["value"] if e["address"] == "192.0.2.53"]
    assert entry["expirationDateTime"].endswith("Z")
    assert "192.0.2.53" not in blocklist(client, platform, "a")


def test_a_running_action_reports_what_its_provider_says_on_each_read(
    platform: Platform, twins: dict[str, InMemoryActionProvider]
) -> None:
    created = call(platform, "a", lambda g: g.security.security_actions.post(SecurityAction(
        name="isolateHost", parameters=[KeyValuePair(name="Host", value="dc1")])))  # fmt: skip
    assert created is not None
    assert created.id
    assert created.status == OperationStatus.Running
    assert created.vendor_information is not None
    assert created.vendor_information.provider == "slow"
    assert twins["slow"].started == [created.id]
    action_id = created.id
    first = call(platform, "a", lambda g: g.security.security_actions.by_security_action_id(action_id).get())
    assert first is not None
    assert first.status == OperationStatus.Running
    done = call(platform, "a", lambda g: g.security.security_actions.by_security_action_id(action_id).get())
    assert done is not None
    assert done.status == OperationStatus.Completed
    assert done.completed_date_time
    assert [s.status for s in done.states or []][-1] == OperationStatus.Completed


def test_a_failing_provider_fails_the_action_with_its_error(
    platform: Platform, twins: dict[str, InMemoryActionProvider]
) -> None:
    created = call(platform, "a", lambda g: g.security.security_actions.post(SecurityAction(
        name="quarantineFile", parameters=[KeyValuePair(name="Sha256", value="ab" * 32)])))  # fmt: skip
    assert created is not None
    assert created.status == OperationStatus.Failed
    assert created.error_info is not None
    assert (created.error_info.code, created.error_info.message) == (503, "the EDR is unreachable")


def test_the_caller_can_name_the_provider(platform: Platform, client: httpx.Client,
                                          twins: dict[str, InMemoryActionProvider]) -> None:  # fmt: skip
    named = block("192.0.2.54", vendor_information=SecurityVendorInformation(provider="slow"))
    with pytest.raises(ODataError) as refused:
        call(platform, "a", lambda g: g.security.security_actions.post(named))
    assert refused.value.response_status_code == 400
    assert refused.value.error is not None
    assert "unknown security action 'blockIp'" in (refused.value.error.message or "")


def test_list_with_filter_orderby_top_and_count(platform: Platform) -> None:
    async def create_three(g: GraphServiceClient) -> None:
        for ip in ("192.0.2.60", "192.0.2.61", "192.0.2.62"):
            await g.security.security_actions.post(block(ip, client_context="listing"))

    call(platform, "a", create_three)
    params = SecurityActionsRequestBuilder.SecurityActionsRequestBuilderGetQueryParameters(
        filter="clientContext eq 'listing' and status eq 'completed'", orderby=["createdDateTime desc"], top=2,
        count=True)  # fmt: skip
    page = call(
        platform,
        "a",
        lambda g: g.security.security_actions.get(RequestConfiguration(query_parameters=params)),
    )
    assert page is not None
    assert page.odata_count == 3
    assert page.odata_next_link
    assert [a.parameters[0].value for a in page.value or [] if a.parameters] == ["192.0.2.62", "192.0.2.61"]


def test_list_sees_only_the_callers_tenant(platform: Platform, client: httpx.Client) -> None:
    call(
        platform,
        "b",
        lambda g: g.security.security_actions.post(block("192.0.2.70", client_context="tenant-b")),
    )
    response = client.get(ACTIONS, params={"$filter": "clientContext eq 'tenant-b'"},
                          headers=platform.headers("a", "all", GRAPH))  # fmt: skip
    assert response.status_code == 200
    assert response.json()["value"] == []


def test_another_tenants_action_is_not_found(platform: Platform, client: httpx.Client) -> None:
    created = call(platform, "b", lambda g: g.security.security_actions.post(block("192.0.2.71")))
    assert created is not None
    with pytest.raises(ODataError) as missing:
        call(
            platform, "a", lambda g: g.security.security_actions.by_security_action_id(created.id or "").get()
        )
    assert missing.value.response_status_code == 404
    cancel = client.post(
        f"{ACTIONS}/{created.id}/cancelSecurityAction", headers=platform.headers("a", "all", GRAPH)
    )
    assert cancel.status_code == 404
    assert cancel.json()["error"]["message"] == client.get(
        f"{ACTIONS}/no-such-id", headers=platform.headers("a", "all", GRAPH)).json()["error"]["message"].replace(
        "no-such-id", str(created.id))  # fmt: skip
    assert "192.0.2.71" in blocklist(
        client, platform, "b"
    )  # still blocked: the other tenant could not cancel it


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "nukeSite", "parameters": [{"name": "IP", "value": "1.2.3.4"}]},
         "unknown security action 'nukeSite'; known actions: ['allowIp', 'blockIp'"),
        ({"name": "blockIp"}, "'parameters' is required"),
        ({"name": "blockIp", "parameters": [{"name": "IP", "value": "300.1.2.3"}]},
         "'300.1.2.3' is not an IPv4 or IPv6 address"),
        ({"name": "blockIp", "parameters": [{"name": "IP", "value": "1.2.3.4"}, {"name": "ip", "value": "1.2.3.5"}]},
         "given more than once"),
        ({"name": "blockIp", "parameters": [{"name": "IP", "value": "1.2.3.4"}], "clientContext": "x" * 257},
         "'clientContext' is 257 characters; at most 256"),
        ({"name": "blockIp", "parameters": [{"name": "IP", "value": "1.2.3.4"}], "appId": "someone-else"},
         "['appId'] are set by the server"),
        ({"name": "blockIp", "parameters": [{"name": "IP", "value": "1.2.3.4"}], "vendorInformation": {"provider": "acme"}},
         "'acme' is not a provider here"),
        ([1, 2], "must be a securityAction JSON object"),
    ],
)  # fmt: skip
def test_invalid_requests_get_a_graph_error_naming_the_problem(
    platform: Platform, client: httpx.Client, body: Any, message: str
) -> None:
    response = client.post(ACTIONS, json=body, headers=platform.headers("a", "all", GRAPH))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalidRequest"
    assert message in response.json()["error"]["message"]


def test_bad_odata_options_are_refused(platform: Platform, client: httpx.Client) -> None:
    response = client.get(
        ACTIONS, params={"$filter": "color eq 'red'"}, headers=platform.headers("a", "all", GRAPH)
    )
    assert response.status_code == 400
    assert "color" in response.json()["error"]["message"]


def test_roles_are_checked(platform: Platform, client: httpx.Client) -> None:
    nobody = platform.headers("a", "nobody", GRAPH)
    assert client.get(ACTIONS, headers=nobody).status_code == 403
    assert client.get("/api/blocklist", headers=nobody).status_code == 403
    body = {"name": "blockIp", "parameters": [{"name": "IP", "value": "192.0.2.99"}]}
    assert client.post(ACTIONS, json=body, headers=nobody).status_code == 403
    assert client.post(ACTIONS, json=body).status_code == 401
    assert "192.0.2.99" not in blocklist(client, platform)
