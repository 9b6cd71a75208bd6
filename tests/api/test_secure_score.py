"""Secure score over HTTP, driven by the real msgraph-sdk (v1.0) and msgraph-beta-sdk: snapshots
that move with the data (SigninLogs with and without MFA ingested into a real workspace), their
history newest first, control profiles read and PATCHed (state changes recorded, counted by the next
snapshot, audited); roles, tenant isolation and validation errors in Graph's body with plain httpx."""

from __future__ import annotations

import asyncio
import importlib
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.secure_score_control_profile import SecureScoreControlProfile
from msgraph.generated.models.security_vendor_information import SecurityVendorInformation
from msgraph_beta import GraphRequestAdapter as BetaAdapter
from msgraph_beta import GraphServiceClient as BetaClient
from msgraph_core import GraphClientFactory

from tests.api.conftest import Platform
from watchkeeper.audit import Actor
from watchkeeper.directory import create_app, create_tenant, create_workspace, find_workspace
from watchkeeper.flows.posture import take_snapshot
from watchkeeper.posture import find_control, load_controls

# kiota's generated request builders warn about their own deprecated classes when first imported
_BUILDERS = [f"{package}.generated.security.{module}" for package in ("msgraph", "msgraph_beta") for module in (
    "security_request_builder", "secure_scores.secure_scores_request_builder",
    "secure_scores.item.secure_score_item_request_builder",
    "secure_score_control_profiles.secure_score_control_profiles_request_builder",
    "secure_score_control_profiles.item.secure_score_control_profile_item_request_builder")]  # fmt: skip
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    for _builder in _BUILDERS:
        importlib.import_module(_builder)
    from msgraph.generated.security.secure_scores.secure_scores_request_builder import (
        SecureScoresRequestBuilder,
    )

GRAPH = "https://graph.microsoft.com/.default"
SYSTEM = Actor("system", "tests")
T = TypeVar("T")
MFA_POINTS = find_control("MfaRequiredForSignIns").max_score  # type: ignore[union-attr]


class FixedToken(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


def sdk(platform: Platform, token: str, call: Callable[[Any], Awaitable[T]], *, version: str = "v1.0") -> T:
    """Run ``call`` with a msgraph client (msgraph_beta for ``beta``) on this server: a fresh client per
    event loop, whose transport is closed afterwards so that no socket outlives the loop."""

    async def send() -> T:
        transport = httpx.AsyncHTTPTransport()
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=transport)
        )
        provider = BaseBearerTokenAuthenticationProvider(FixedToken(token))
        beta = version == "beta"
        adapter = (BetaAdapter if beta else GraphRequestAdapter)(provider, client=http)
        adapter.base_url = f"{platform.url}/{version}"
        try:
            return await call((BetaClient if beta else GraphServiceClient)(request_adapter=adapter))
        finally:
            await http.aclose()
            await transport.aclose()

    return asyncio.run(send())


@dataclass
class ScoreTenant:
    """A tenant of its own (other modules' data never moves its score) with a workspace and apps."""

    id: str
    workspace_id: str
    tokens: dict[str, str]
    platform: Platform

    def headers(self, app: str = "writer") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[app]}"}

    def graph(self, call: Callable[[Any], Awaitable[T]], app: str = "writer", version: str = "v1.0") -> T:
        return sdk(self.platform, self.tokens[app], call, version=version)

    def ingest(self, table: str, rows: list[dict[str, Any]]) -> None:
        runtime = self.platform.runtime
        with runtime.database.session() as session:
            record = find_workspace(session, tenant_id=self.id, ref=self.workspace_id)
        assert record is not None
        runtime.workspaces.get(record).ingest(table, rows)

    def snapshot(self, now: datetime | None = None) -> Any:
        return take_snapshot(self.platform.runtime, SYSTEM, self.id, now=now)


def _token(platform: Platform, tenant_id: str, client_id: str, secret: str) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": GRAPH,
    }
    response = httpx.post(f"{platform.url}/{tenant_id}/oauth2/v2.0/token", data=form)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def tenant(platform: Platform) -> ScoreTenant:
    apps = {"writer": ["SecurityEvents.ReadWrite.All"], "reader": ["SecurityEvents.Read.All"],
            "alerts": ["SecurityAlert.ReadWrite.All"]}  # fmt: skip
    with platform.runtime.database.session() as session:
        created = create_tenant(session, name="tenant-score", actor=SYSTEM)
        workspace = create_workspace(session, tenant_id=created.id, name="main", actor=SYSTEM)
        registered = {name: create_app(session, tenant_id=created.id, name=name, roles=roles, actor=SYSTEM)
                      for name, roles in apps.items()}  # fmt: skip
    tokens = {
        name: _token(platform, created.id, app.client_id, app.client_secret)
        for name, app in registered.items()
    }
    return ScoreTenant(created.id, workspace.id, tokens, platform)


def profile(client: Any, control_id: str) -> Any:
    return client.security.secure_score_control_profiles.by_secure_score_control_profile_id(control_id)


def signins(users: list[str], *, mfa: bool) -> list[dict[str, Any]]:
    when = datetime.now(UTC) - timedelta(hours=2)
    requirement = "multiFactorAuthentication" if mfa else "singleFactorAuthentication"
    return [{"TimeGenerated": when, "UserPrincipalName": user, "ResultType": "0", "ClientAppUsed": "Browser",
             "AuthenticationRequirement": requirement} for user in users]  # fmt: skip


def mfa_score(snapshot: Any) -> float:
    return next(c.score for c in snapshot.control_scores if c.control_name == "MfaRequiredForSignIns")


def test_scores_move_with_the_data_and_keep_their_history(tenant: ScoreTenant) -> None:
    today = datetime.now(UTC)
    tenant.ingest("SigninLogs", signins(["ana@contoso.com", "bob@contoso.com", "cy@contoso.com"], mfa=False))
    tenant.ingest("SigninLogs", signins(["dee@contoso.com"], mfa=True))
    yesterday = tenant.snapshot(today - timedelta(days=1))
    tenant.ingest("SigninLogs", signins(["ana@contoso.com", "bob@contoso.com"], mfa=True))
    tenant.snapshot(today)  # the daily snapshot, then a second one the same day replaces it
    tenant.ingest("SigninLogs", signins(["eve@contoso.com"], mfa=True))
    tenant.snapshot(today)

    found = tenant.graph(lambda c: c.security.secure_scores.get())
    assert found is not None
    assert found.value is not None
    latest, earlier = found.value
    assert [latest.id, earlier.id] == [f"{tenant.id}_{today.date()}", yesterday.id]
    # yesterday 1 of 4 users had MFA on every sign-in; now dee and eve of 5 (ana and bob also signed in without)
    assert mfa_score(earlier) == MFA_POINTS / 4
    assert mfa_score(latest) == MFA_POINTS * 2 / 5
    assert latest.current_score > earlier.current_score
    assert latest.max_score == sum(c.max_score for c in load_controls())
    assert latest.active_user_count == 5
    assert latest.azure_tenant_id == tenant.id
    assert "AzureAD" in (latest.enabled_services or [])
    assert latest.vendor_information.provider == "SecureScore"
    described = {c.control_name: c.description for c in latest.control_scores}
    assert described["SecurityEventsCollected"].startswith("0 of 1 workspaces")
    assert "No active threat indicators" in described["NoStaleIndicators"]
    average = latest.average_comparative_scores[0]
    assert average.basis == "TenantHistory"
    assert average.average_score == round((latest.current_score + earlier.current_score) / 2, 2)


def test_top_pages_newest_first_and_one_snapshot_is_found_by_id(tenant: ScoreTenant) -> None:
    tenant.snapshot(datetime.now(UTC) - timedelta(days=3))
    query = RequestConfiguration(
        query_parameters=SecureScoresRequestBuilder.SecureScoresRequestBuilderGetQueryParameters(top=1)
    )
    page = tenant.graph(lambda c: c.security.secure_scores.get(request_configuration=query))
    assert page is not None
    assert page.value is not None
    assert len(page.value) == 1
    assert page.value[0].id.endswith(str(datetime.now(UTC).date()))
    assert page.odata_next_link
    one = tenant.graph(lambda c: c.security.secure_scores.by_secure_score_id(page.value[0].id).get())
    assert one is not None
    assert one.current_score == page.value[0].current_score
    response = httpx.get(page.odata_next_link, headers=tenant.headers("reader"))
    assert response.status_code == 200
    assert response.json()["value"][0]["id"] != page.value[0].id


def test_profiles_are_listed_and_patched_through_the_sdk(tenant: ScoreTenant) -> None:
    profiles = tenant.graph(lambda c: c.security.secure_score_control_profiles.get())
    assert profiles is not None
    assert [p.id for p in profiles.value] == [c.id for c in load_controls()]
    audit = next(p for p in profiles.value if p.id == "SecurityEventsCollected")
    assert audit.control_category == "Device"
    assert audit.max_score == 8
    assert audit.azure_tenant_id == tenant.id
    body = SecureScoreControlProfile(
        vendor_information=SecurityVendorInformation(provider="SecureScore", vendor="Microsoft"),
        additional_data={
            "state": "ThirdParty",
            "assignedTo": "ana@contoso.com",
            "comment": "EDR forwards them",
        },
    )
    assert tenant.graph(lambda c: profile(c, "SecurityEventsCollected").patch(body)) is None  # 204
    changed = tenant.graph(lambda c: profile(c, "SecurityEventsCollected").get())
    assert changed is not None
    assert changed.control_state_updates[-1].state == "ThirdParty"
    assert changed.control_state_updates[-1].assigned_to == "ana@contoso.com"
    assert changed.control_state_updates[-1].updated_by.startswith("app:")
    # the next snapshot counts it: resolved through a third party earns the control's points
    snapshot = tenant.snapshot()
    scored = next(c for c in snapshot.control_scores if c["control"] == "SecurityEventsCollected")
    assert (scored["score"], scored["state"]) == (8, "ThirdParty")


def test_patch_with_prefer_returns_the_profile_and_is_audited(
    tenant: ScoreTenant, platform: Platform
) -> None:
    url = f"{platform.url}/beta/security/secureScoreControlProfiles/NoStaleIndicators"
    body = {"comment": "reviewed weekly", "state": "reviewed",
            "vendorInformation": {"provider": "SecureScore", "vendor": "watchkeeper"}}  # fmt: skip
    headers = tenant.headers() | {"Prefer": "return=representation"}
    response = httpx.patch(url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["controlStateUpdates"][-1]["state"] == "Reviewed"
    with platform.runtime.database.session() as session:
        from watchkeeper.audit import list_entries

        entries = list_entries(session, tenant_id=tenant.id, limit=20, action="score.control").entries
    assert entries[0].target == "NoStaleIndicators"
    assert entries[0].detail["state"] == "Reviewed"


def test_beta_serves_the_same_profiles(tenant: ScoreTenant) -> None:
    found = tenant.graph(lambda c: profile(c, "AuditLoggingEnabled").get(), app="reader", version="beta")
    assert found is not None
    assert found.title == "Turn on audit logging"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"state": "Ignored"}, "vendorInformation with provider and vendor is required"),
        (
            {"state": "Ignored", "vendorInformation": {"provider": "ASC", "vendor": "x"}},
            "must be 'SecureScore'",
        ),
        (
            {"state": "Sleeping", "vendorInformation": {"provider": "SecureScore", "vendor": "x"}},
            "state must be one of",
        ),
        (
            {"maxScore": 100, "vendorInformation": {"provider": "SecureScore", "vendor": "x"}},
            "read-only or unknown properties: maxScore",
        ),
        ({"vendorInformation": {"provider": "SecureScore", "vendor": "x"}}, "nothing to change"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_invalid_patches_get_graph_s_error_body(tenant: ScoreTenant, body: Any, message: str) -> None:
    url = f"{tenant.platform.url}/v1.0/security/secureScoreControlProfiles/AuditLoggingEnabled"
    response = httpx.patch(url, json=body, headers=tenant.headers())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalidRequest"
    assert message in error["message"]


def test_invalid_query_options_are_refused(tenant: ScoreTenant) -> None:
    base = f"{tenant.platform.url}/v1.0/security"
    for path, expected in ((f"{base}/secureScores?$top=5000", "exceeds the maximum of 1000"),
                           (f"{base}/secureScores?$orderby=nothing", "unknown property 'nothing'"),
                           (f"{base}/secureScoreControlProfiles?$filter=rank eq 1", "not supported"),
                           (f"{base}/secureScoreControlProfiles?$select=nope", "unknown property 'nope'")):  # fmt: skip
        response = httpx.get(path, headers=tenant.headers("reader"))
        assert response.status_code == 400, path
        assert expected in response.json()["error"]["message"], path


def test_roles_are_enforced(tenant: ScoreTenant) -> None:
    base = f"{tenant.platform.url}/v1.0/security"
    assert httpx.get(f"{base}/secureScores", headers=tenant.headers("alerts")).status_code == 403
    body = {"state": "Ignored", "vendorInformation": {"provider": "SecureScore", "vendor": "x"}}
    response = httpx.patch(
        f"{base}/secureScoreControlProfiles/AuditLoggingEnabled", json=body, headers=tenant.headers("reader")
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "accessDenied"
    assert httpx.get(f"{base}/secureScores").status_code == 401


def test_another_tenant_sees_neither_the_scores_nor_the_states(
    tenant: ScoreTenant, platform: Platform
) -> None:
    mine = tenant.snapshot()
    other = platform.headers("b", "all", GRAPH)
    base = f"{platform.url}/v1.0/security"
    listed = httpx.get(f"{base}/secureScores", headers=other)
    assert listed.status_code == 200
    assert mine.id not in {s["id"] for s in listed.json()["value"]}
    token = platform.token("b", "all", GRAPH)
    with pytest.raises(ODataError) as missing:
        sdk(platform, token, lambda c: c.security.secure_scores.by_secure_score_id(mine.id).get())
    assert missing.value.response_status_code == 404
    profile = httpx.get(f"{base}/secureScoreControlProfiles/SecurityEventsCollected", headers=other).json()
    assert profile["azureTenantId"] == platform.tenants["b"].id
    assert profile["controlStateUpdates"] == []
    assert httpx.get(f"{base}/secureScoreControlProfiles/NoSuchControl", headers=other).status_code == 404
