"""Threat indicators (beta) over HTTP, driven by the real msgraph-beta-sdk: create, get, list with
OData, update, delete and the batch actions; plain httpx for refused bodies (400), partial
failures (206), roles, and ownership (another app's or tenant's indicator is 404); the mirror
rows read with KQL."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
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
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_beta.generated.models.ti_action import TiAction
from msgraph_beta.generated.models.ti_indicator import TiIndicator
from msgraph_beta.generated.models.tlp_level import TlpLevel
from msgraph_core import GraphClientFactory

from tests.api.conftest import Platform
from watchkeeper.audit import Actor
from watchkeeper.directory import create_app as register_app
from watchkeeper.directory import find_workspace

with warnings.catch_warnings():
    # the beta SDK's generated request builders declare deprecated classes: import the ones used
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph_beta.generated.security import security_request_builder  # noqa: F401
    from msgraph_beta.generated.security.ti_indicators.delete_ti_indicators import (
        delete_ti_indicators_request_builder,  # noqa: F401
    )
    from msgraph_beta.generated.security.ti_indicators.delete_ti_indicators.delete_ti_indicators_post_request_body import (
        DeleteTiIndicatorsPostRequestBody,
    )
    from msgraph_beta.generated.security.ti_indicators.item import ti_indicator_item_request_builder  # noqa: F401
    from msgraph_beta.generated.security.ti_indicators.submit_ti_indicators import (
        submit_ti_indicators_request_builder,  # noqa: F401
    )
    from msgraph_beta.generated.security.ti_indicators.submit_ti_indicators.submit_ti_indicators_post_request_body import (
        SubmitTiIndicatorsPostRequestBody,
    )
    from msgraph_beta.generated.security.ti_indicators.ti_indicators_request_builder import (
        TiIndicatorsRequestBuilder,
    )

GRAPH = "https://graph.microsoft.com/.default"
PATH = "/beta/security/tiIndicators"
ROLE = "ThreatIndicators.ReadWrite.OwnedBy"
T = TypeVar("T")
# the beta SDK warns on every tiIndicators call that Microsoft deprecated the resource upstream
pytestmark = pytest.mark.filterwarnings(
    "ignore:The legacy Graph Security API is deprecated:DeprecationWarning"
)
EXPIRES = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)


class FixedToken(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


def with_sdk(platform: Platform, call: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
    """Run ``call`` with a beta msgraph client of tenant a's ``all`` app on this server (a fresh
    client per event loop; its transport is closed after, so no socket outlives the loop)."""

    async def run() -> T:
        transport = httpx.AsyncHTTPTransport()
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=transport)
        )
        provider = BaseBearerTokenAuthenticationProvider(FixedToken(platform.token("a", "all", GRAPH)))
        adapter = GraphRequestAdapter(provider, client=http)
        adapter.base_url = f"{platform.url}/beta"
        try:
            return await call(GraphServiceClient(request_adapter=adapter))
        finally:
            await http.aclose()
            await transport.aclose()

    return asyncio.run(run())


def headers(platform: Platform, tenant: str = "a", app: str = "all") -> dict[str, str]:
    return platform.headers(tenant, app, GRAPH)


def sentinel(**extra: Any) -> TiIndicator:
    return TiIndicator(target_product="Azure Sentinel", action=TiAction.Block, description="phishing site",
                       expiration_date_time=EXPIRES, threat_type="Phishing", tlp_level=TlpLevel.Amber, **extra)  # fmt: skip


def body(**extra: Any) -> dict[str, Any]:
    return {"targetProduct": "Azure Sentinel", "action": "alert", "description": "from the feed",
            "expirationDateTime": EXPIRES.isoformat(), "threatType": "C2", "tlpLevel": "green", **extra}  # fmt: skip


@pytest.fixture(scope="module")
def feeds(platform: Platform) -> Platform:
    """A second app with the indicator role in tenant a (``feed``), and one in tenant b."""
    with platform.runtime.database.session() as session:
        for tenant in ("a", "b"):
            platform.tenants[tenant].apps["feed"] = register_app(
                session,
                tenant_id=platform.tenants[tenant].id,
                name="feed",
                roles=[ROLE],
                actor=Actor("system", "t"),
            )
    return platform


def test_the_sdk_creates_reads_lists_and_updates_an_indicator(feeds: Platform) -> None:
    async def drive(
        client: GraphServiceClient,
    ) -> tuple[TiIndicator | None, TiIndicator | None, list[TiIndicator]]:
        made = await client.security.ti_indicators.post(
            sentinel(domain_name="login-contoso.example", tags=["sdk"])
        )
        assert made is not None
        assert made.id
        got = await client.security.ti_indicators.by_ti_indicator_id(made.id).get()
        await client.security.ti_indicators.by_ti_indicator_id(made.id).patch(
            TiIndicator(severity=5, confidence=90)
        )
        query = TiIndicatorsRequestBuilder.TiIndicatorsRequestBuilderGetQueryParameters(
            filter="domainName eq 'login-contoso.example' and severity ge 4", select=["id", "severity", "confidence"],
            top=10)  # fmt: skip
        listed = await client.security.ti_indicators.get(RequestConfiguration(query_parameters=query))
        return made, got, (listed.value or []) if listed else []

    made, got, listed = with_sdk(feeds, drive)
    assert made is not None
    assert got is not None
    assert (made.azure_tenant_id, made.is_active, made.severity, made.tlp_level) == (
        feeds.tenants["a"].id, True, 3, TlpLevel.Amber)  # fmt: skip
    assert (got.domain_name, got.expiration_date_time, got.tags) == (
        "login-contoso.example",
        EXPIRES,
        ["sdk"],
    )
    assert [(i.id, i.severity, i.confidence, i.domain_name) for i in listed] == [(made.id, 5, 90, None)]


def test_the_sdk_submits_a_batch_and_deletes_it(feeds: Platform) -> None:
    async def drive(client: GraphServiceClient) -> tuple[list[TiIndicator], list[int | None], int | None]:
        batch = [sentinel(network_i_pv4=f"192.0.2.{n}", external_id=f"sdk-batch-{n}") for n in range(3)]
        submitted = await client.security.ti_indicators.submit_ti_indicators.post(
            SubmitTiIndicatorsPostRequestBody(value=batch))  # fmt: skip
        made = (submitted.value or []) if submitted else []
        deleted = await client.security.ti_indicators.delete_ti_indicators.post(
            DeleteTiIndicatorsPostRequestBody(value=[i.id for i in made if i.id]))  # fmt: skip
        try:
            await client.security.ti_indicators.by_ti_indicator_id(made[0].id or "").get()
        except ODataError as missing:
            return (
                made,
                [r.code for r in (deleted.value or [])] if deleted else [],
                missing.response_status_code,
            )
        return made, [], None

    made, codes, status = with_sdk(feeds, drive)
    assert [i.network_i_pv4 for i in made] == ["192.0.2.0", "192.0.2.1", "192.0.2.2"]
    assert codes == [200, 200, 200]
    assert status == 404


def test_indicators_belong_to_the_app_and_tenant_that_made_them(
    feeds: Platform, client: httpx.Client
) -> None:
    made = client.post(PATH, json=body(url="http://owned.example/x"), headers=headers(feeds)).json()
    where = f"{PATH}/{made['id']}"
    for tenant, app in (("a", "feed"), ("b", "feed"), ("b", "all")):
        other = headers(feeds, tenant, app)
        for method, extra in (("GET", {}), ("PATCH", {"json": {"severity": 1}}), ("DELETE", {})):
            answer = client.request(method, where, headers=other, **extra)
            assert answer.status_code == 404, (tenant, app, method)
            assert answer.json()["error"]["code"] == "itemNotFound"
        listed = client.get(PATH, params={"$filter": "url eq 'http://owned.example/x'"}, headers=other).json()
        assert listed["value"] == []
        gone = client.post(f"{PATH}/deleteTiIndicators", json={"value": [made["id"]]}, headers=other)
        assert gone.status_code == 206
        assert gone.json()["value"][0]["code"] == 404
    assert client.get(where, headers=headers(feeds)).json()["severity"] == 3


def test_roles_are_required(feeds: Platform, client: httpx.Client) -> None:
    assert client.get(PATH).status_code == 401
    denied = client.post(PATH, json=body(url="http://x.example"), headers=headers(feeds, "a", "nobody"))
    assert denied.status_code == 403
    assert ROLE in denied.json()["error"]["message"]


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        (body(), "observable"),
        (body(url="http://x.example", description="d" * 101), "'description' is longer than 100"),
        (body(url="http://x.example", confidence=300), "'confidence': 300 is outside 0..100"),
        (body(url="http://x.example", tlpLevel="purple"), "'tlpLevel'"),
        (body(url="http://x.example", expirationDateTime=None), "'expirationDateTime'"),
        ({"targetProduct": "Microsoft Defender ATP", "action": "block"}, "needs one of domainName"),
        ([body(url="http://x.example")], "must be a JSON object"),
    ],
)
def test_invalid_indicators_are_refused_naming_the_property(
    feeds: Platform, client: httpx.Client, sent: Any, named: str
) -> None:
    answer = client.post(PATH, json=sent, headers=headers(feeds))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalidRequest"
    assert named in answer.json()["error"]["message"]


def test_a_body_that_is_not_json_is_refused(feeds: Platform, client: httpx.Client) -> None:
    answer = client.post(f"{PATH}/submitTiIndicators", content=b"{value: [", headers={
        **headers(feeds), "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalidRequest"
    too_many = client.post(f"{PATH}/submitTiIndicators", json={"value": [body(url="http://x.example")] * 101},
                           headers=headers(feeds))  # fmt: skip
    assert too_many.status_code == 400
    assert "at most 100" in too_many.json()["error"]["message"]


def test_a_batch_with_failures_answers_206_with_a_result_per_entry(
    feeds: Platform, client: httpx.Client
) -> None:
    sent = [body(url="http://ok.example", externalId="p-1"), body(externalId="p-2"), "not an object"]
    answer = client.post(
        f"{PATH}/submitTiIndicators", json={"value": sent}, headers=headers(feeds, "a", "feed")
    )
    assert answer.status_code == 206
    ok, failed, junk = answer.json()["value"]
    assert ok["url"] == "http://ok.example"
    assert ok["externalId"] == "p-1"
    assert failed["externalId"] == "p-2"
    assert "observable" in failed["error"]["message"]
    assert junk["error"]["code"] == "invalidRequest"
    changes = [{"id": ok["id"], "expirationDateTime": EXPIRES.isoformat(), "targetProduct": "Azure Sentinel",
                "severity": 0}, {"id": "no-such", "expirationDateTime": EXPIRES.isoformat(),
                                 "targetProduct": "Azure Sentinel"}]  # fmt: skip
    updated = client.post(
        f"{PATH}/updateTiIndicators", json={"value": changes}, headers=headers(feeds, "a", "feed")
    )
    assert updated.status_code == 206
    changed, missing = updated.json()["value"]
    assert (changed["severity"], missing["error"]["code"]) == (0, "itemNotFound")
    lacking = client.post(f"{PATH}/updateTiIndicators", json={"value": [{"id": ok["id"], "severity": 1}]},
                          headers=headers(feeds, "a", "feed"))  # fmt: skip
    assert lacking.status_code == 400
    assert "expirationDateTime and targetProduct" in lacking.json()["error"]["message"]
    by_external = client.post(f"{PATH}/deleteTiIndicatorsByExternalId", json={"value": ["p-1", "p-9"]},
                              headers=headers(feeds, "a", "feed"))  # fmt: skip
    assert by_external.status_code == 206
    assert [(r["code"], r["subcode"]) for r in by_external.json()["value"]] == [(200, 0), (404, 0)]


def test_patch_answers_204_or_the_indicator_and_refuses_fixed_properties(
    feeds: Platform, client: httpx.Client
) -> None:
    made = client.post(PATH, json=body(domainName="patch.example"), headers=headers(feeds)).json()
    where = f"{PATH}/{made['id']}"
    assert client.patch(where, json={"tags": ["x"]}, headers=headers(feeds)).status_code == 204
    shown = client.patch(
        where, json={"isActive": False}, headers={**headers(feeds), "Prefer": "return=representation"}
    )
    assert shown.status_code == 200
    assert (shown.json()["isActive"], shown.json()["tags"]) == (False, ["x"])
    fixed = client.patch(where, json={"domainName": "other.example"}, headers=headers(feeds))
    assert fixed.status_code == 400
    assert "'domainName' cannot be changed" in fixed.json()["error"]["message"]
    assert client.delete(where, headers=headers(feeds)).status_code == 204
    assert client.delete(where, headers=headers(feeds)).status_code == 404


def test_expired_indicators_read_inactive_and_filter_so(feeds: Platform, client: httpx.Client) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    made = client.post(
        PATH, json=body(url="http://expired.example", expirationDateTime=past), headers=headers(feeds)
    )
    assert made.status_code == 201
    assert made.json()["isActive"] is False
    url = "url eq 'http://expired.example'"
    active = client.get(
        PATH, params={"$filter": f"{url} and isActive eq true"}, headers=headers(feeds)
    ).json()
    inactive = client.get(PATH, params={"$filter": f"{url} and isActive eq false", "$count": "true"},
                          headers=headers(feeds)).json()  # fmt: skip
    assert active["value"] == []
    assert [i["id"] for i in inactive["value"]] == [made.json()["id"]]
    assert inactive["@odata.count"] == 1


def test_the_mirror_rows_are_queried_with_kql(feeds: Platform, client: httpx.Client) -> None:
    made = client.post(
        PATH, json=body(networkIPv4="198.51.100.77", externalId="kql-1"), headers=headers(feeds, "b", "feed")
    )
    assert made.status_code == 201
    with feeds.runtime.database.session() as session:
        workspace = find_workspace(session, tenant_id=feeds.tenants["b"].id, ref="main")
    assert workspace is not None
    latest = "ThreatIntelligenceIndicator | summarize arg_max(TimeGenerated, *) by IndicatorId " \
             "| where ExternalIndicatorId == 'kql-1' | project IndicatorId, NetworkIP, Active, IndicatorProvider"  # fmt: skip
    rows = feeds.runtime.workspaces.get(workspace).query(latest).to_dicts()
    assert rows == [{"IndicatorId": made.json()["id"], "NetworkIP": "198.51.100.77", "Active": True,
                     "IndicatorProvider": feeds.tenants["b"].apps["feed"].client_id}]  # fmt: skip
    client.delete(f"{PATH}/{made.json()['id']}", headers=headers(feeds, "b", "feed"))
    assert feeds.runtime.workspaces.get(workspace).query(latest).to_dicts()[0]["Active"] is False
