"""Graph's alerts over HTTP, driven by the real msgraph-sdk (``security/alerts_v2``) and by plain
httpx (the legacy ``security/alerts``, error bodies): the fields and enums Graph clients read,
evidence picked as the SDK's subclasses, OData options and paging with the SDK's page iterator,
updates and comments (audited, mirrored to ``SecurityAlert``), roles and tenant isolation."""

from __future__ import annotations

import asyncio
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
from msgraph.generated.models.security.alert import Alert
from msgraph.generated.models.security.alert_classification import AlertClassification
from msgraph.generated.models.security.alert_determination import AlertDetermination
from msgraph.generated.models.security.alert_status import AlertStatus
from msgraph.generated.models.security.ip_evidence import IpEvidence
from msgraph.generated.models.security.user_evidence import UserEvidence
from msgraph_core import GraphClientFactory
from msgraph_core.tasks.page_iterator import PageIterator

from tests.api.conftest import Platform
from watchkeeper.audit import Actor
from watchkeeper.cases import raise_alerts
from watchkeeper.detections.alerting import AlertDraft
from watchkeeper.detections.library import find_rule, save_rules
from watchkeeper.detections.models import DetectionRule, IncidentConfiguration, RuleKind
from watchkeeper.detections.scheduler import Window
from watchkeeper.directory import find_workspace

with warnings.catch_warnings():  # kiota's query parameters module warns about itself when imported
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph.generated.security.alerts_v2.alerts_v2_request_builder import Alerts_v2RequestBuilder

# msgraph-sdk's generated request builders warn about their own deprecated classes when first imported
pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]
GRAPH = "https://graph.microsoft.com/.default"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RULES = Actor("system", "tests")
T = TypeVar("T")

ENTITIES = (
    {
        "Type": "account",
        "Name": "alice",
        "UPNSuffix": "contoso.com",
        "NTDomain": "CONTOSO",
        "Sid": "S-1-5-21-1",
    },
    {"Type": "host", "HostName": "dc1", "DnsDomain": "contoso.com", "OSFamily": "Windows"},
    {"Type": "ip", "Address": "203.0.113.7"},
    {"Type": "url", "Url": "http://evil.example/x"},
    {"Type": "file", "Name": "evil.exe", "Directory": "C:\\Temp"},
    {"Type": "filehash", "Algorithm": "SHA256", "Value": "ab" * 32},
    {"Type": "process", "ProcessId": "4242", "CommandLine": "evil.exe -x"},
    {"Type": "registry-key", "Hive": "HKEY_LOCAL_MACHINE", "Key": "Software\\Run"},
    {"Type": "dns", "DomainName": "evil.example"},
)
FOREIGN_EVIDENCE = {"@odata.type": "#microsoft.graph.security.mailboxEvidence", "primaryAddress": "bob@contoso.com",
                    "createdDateTime": "2026-01-05T09:00:00Z", "verdict": "malicious", "remediationStatus": "none",
                    "roles": [], "tags": [], "detailedRoles": []}  # fmt: skip


@dataclass
class Seeded:
    """Alerts raised in tenant a (main workspace) and tenant b, by rule."""

    scheduled: str  # Medium, entities of every kind above, DefenseEvasion / T1564.001
    nrt: str  # High, an NRT rule's
    foreign: str  # from another product (properties), with its own evidence
    bulk: list[str]  # 120 Low alerts of rule "bulk-g2", for paging
    other_tenant: str  # tenant b's


def _rule(rule_id: str, *, kind: RuleKind = RuleKind.SCHEDULED, incident: bool = True) -> DetectionRule:
    return DetectionRule(rule_id=rule_id, name=f"rule {rule_id}", source_format="sentinel", query="SecurityEvent",
                         kind=kind, incident=IncidentConfiguration(create_incident=incident))  # fmt: skip


def _draft(rule: DetectionRule, title: str, severity: str, **extra: Any) -> AlertDraft:
    defaults: dict[str, Any] = {"tactics": ("DefenseEvasion",), "techniques": ("T1564.001",), "entities": ()}
    return AlertDraft(rule=rule, window=Window(NOW - timedelta(hours=1), NOW), title=title, description="seen",
                      severity=severity, rows=1, first_event=NOW - timedelta(minutes=30),
                      last_event=NOW - timedelta(minutes=5), **(defaults | extra))  # fmt: skip


def raise_in(platform: Platform, tenant: str, rule: DetectionRule, drafts: list[AlertDraft]) -> list[str]:
    """Store ``rule`` in the tenant's main workspace and raise ``drafts`` for it; the alert ids."""
    with platform.runtime.database.session() as session:
        workspace = find_workspace(session, tenant_id=platform.tenants[tenant].id, ref="main")
        assert workspace is not None
        save_rules(
            session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, rules=[rule], actor=RULES
        )
        stored = find_rule(
            session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, ref=rule.rule_id
        )
        assert stored is not None
        raised = raise_alerts(session, tenant_id=workspace.tenant_id, workspace_id=workspace.id, rule_ref=stored.id,
                              drafts=drafts, actor=RULES, now=NOW)  # fmt: skip
    return [a.id for a in raised]


@pytest.fixture(scope="module")
def seeded(platform: Platform) -> Seeded:
    scheduled = _rule("sched-g2")
    (first,) = raise_in(
        platform, "a", scheduled, [_draft(scheduled, "Hidden files", "Medium", entities=ENTITIES)]
    )
    nrt = _rule("nrt-g2", kind=RuleKind.NRT)
    (second,) = raise_in(platform, "a", nrt, [_draft(nrt, "NRT hit", "High")])
    foreign_rule = _rule("suricata-g2")
    props = {"serviceSource": "microsoftDefenderForEndpoint", "detectionSource": "antivirus",
             "productName": "Suricata", "providerAlertId": "suri-1", "evidence": [FOREIGN_EVIDENCE]}  # fmt: skip
    (third,) = raise_in(
        platform, "a", foreign_rule, [_draft(foreign_rule, "IDS alert", "Low", dynamic_properties=props)]
    )
    bulk_rule = _rule("bulk-g2", incident=False)
    bulk = raise_in(platform, "a", bulk_rule, [_draft(bulk_rule, f"bulk {i}", "Low") for i in range(120)])
    theirs = _rule("sched-g2-b")
    (other,) = raise_in(platform, "b", theirs, [_draft(theirs, "Tenant b only", "High")])
    return Seeded(first, second, third, bulk, other)


class FixedToken(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


def graph(
    platform: Platform, call: Callable[[GraphServiceClient], Awaitable[T]], *, tenant: str = "a", app: str = "all",
    version: str = "v1.0",
) -> T:  # fmt: skip
    """Run ``call`` with a msgraph client on this server (a fresh client per event loop)."""

    async def run() -> T:
        # the SDK's middleware wraps the transport; close that transport itself so no socket outlives the loop
        transport = httpx.AsyncHTTPTransport()
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=transport)
        )
        provider = BaseBearerTokenAuthenticationProvider(FixedToken(platform.token(tenant, app, GRAPH)))
        adapter = GraphRequestAdapter(provider, client=http)
        adapter.base_url = f"{platform.url}/{version}"
        try:
            return await call(GraphServiceClient(request_adapter=adapter))
        finally:
            await http.aclose()
            await transport.aclose()

    return asyncio.run(run())


def options(
    **query: Any,
) -> RequestConfiguration[Alerts_v2RequestBuilder.Alerts_v2RequestBuilderGetQueryParameters]:
    return RequestConfiguration(
        query_parameters=Alerts_v2RequestBuilder.Alerts_v2RequestBuilderGetQueryParameters(**query)
    )


def headers(platform: Platform, tenant: str = "a", app: str = "all", **extra: str) -> dict[str, str]:
    return {**platform.headers(tenant, app, GRAPH), **extra}


# ---------------------------------------------------------------------------- reading with the SDK


def test_the_sdk_reads_an_alert_with_graph_fields_and_typed_evidence(
    platform: Platform, seeded: Seeded
) -> None:
    alert = graph(platform, lambda c: c.security.alerts_v2.by_alert_id(seeded.scheduled).get())
    assert alert is not None
    assert alert.id == seeded.scheduled
    assert (alert.title, alert.severity.value, alert.status.value) == ("Hidden files", "medium", "new")
    assert alert.detector_id == "sched-g2"
    assert alert.category == "DefenseEvasion"
    assert alert.mitre_techniques == ["T1564.001"]
    assert alert.incident_id is not None
    assert alert.alert_web_url == f"{platform.url}/console/alerts/{seeded.scheduled}"
    assert alert.created_date_time == NOW
    assert alert.tenant_id == platform.tenants["a"].id
    kinds = [type(e).__name__ for e in alert.evidence or []]
    assert kinds == ["UserEvidence", "DeviceEvidence", "IpEvidence", "UrlEvidence", "FileEvidence",
                     "FileHashEvidence", "ProcessEvidence", "RegistryKeyEvidence", "DnsEvidence"]  # fmt: skip
    user, ip = alert.evidence[0], alert.evidence[2]  # type: ignore[index]
    assert isinstance(user, UserEvidence)
    assert user.user_account.user_principal_name == "alice@contoso.com"
    assert isinstance(ip, IpEvidence)
    assert ip.ip_address == "203.0.113.7"
    assert alert.evidence[5].algorithm.value == "sha256"  # type: ignore[index, attr-defined]
    assert alert.evidence[6].process_id == 4242  # type: ignore[index, attr-defined]


def test_evolvable_enum_members_only_for_callers_that_ask(
    platform: Platform, seeded: Seeded, client: httpx.Client
) -> None:
    url = f"/v1.0/security/alerts_v2/{seeded.nrt}"
    plain = client.get(url, headers=headers(platform)).json()
    assert (plain["serviceSource"], plain["detectionSource"]) == ("unknownFutureValue", "unknownFutureValue")
    asked = client.get(url, headers=headers(platform, Prefer="include-unknown-enum-members")).json()
    assert (asked["serviceSource"], asked["detectionSource"]) == ("microsoftSentinel", "nrtAlerts")
    scheduled = client.get(f"/beta/security/alerts_v2/{seeded.scheduled}",
                           headers=headers(platform, Prefer="include-unknown-enum-members")).json()  # fmt: skip
    assert scheduled["detectionSource"] == "scheduledAlerts"
    assert scheduled["productName"] == "watchkeeper"


def test_an_alert_of_another_product_keeps_its_sources_and_evidence(
    platform: Platform, seeded: Seeded
) -> None:
    alert = graph(platform, lambda c: c.security.alerts_v2.by_alert_id(seeded.foreign).get())
    assert alert is not None
    assert (alert.service_source.value, alert.detection_source.value) == (
        "microsoftDefenderForEndpoint",
        "antivirus",
    )
    assert (alert.product_name, alert.provider_alert_id) == ("Suricata", "suri-1")
    (mailbox,) = alert.evidence or []
    assert type(mailbox).__name__ == "MailboxEvidence"
    assert mailbox.primary_address == "bob@contoso.com"


def test_filter_orderby_select_and_count(platform: Platform, seeded: Seeded) -> None:
    found = graph(
        platform,
        lambda c: c.security.alerts_v2.get(
            options(
                filter="severity eq 'high' and detectorId eq 'nrt-g2'",
                select=["id", "title", "severity"],
                count=True,
            )
        ),
    )
    assert found is not None
    assert [a.id for a in found.value or []] == [seeded.nrt]
    assert found.value[0].title == "NRT hit"
    assert found.value[0].evidence is None
    assert found.odata_count == 1
    ordered = graph(
        platform,
        lambda c: c.security.alerts_v2.get(
            options(filter="detectorId in ('sched-g2', 'nrt-g2', 'suricata-g2')", orderby=["severity desc"])
        ),
    )
    assert ordered is not None
    assert [a.severity.value for a in ordered.value or []] == ["high", "medium", "low"]  # type: ignore[union-attr]


def test_the_page_iterator_walks_every_alert_once(platform: Platform, seeded: Seeded) -> None:
    async def walk(client: GraphServiceClient) -> list[str]:
        first = await client.security.alerts_v2.get(options(filter="detectorId eq 'bulk-g2'", top=50))
        seen: list[str] = []

        def keep(alert: Alert) -> bool:
            seen.append(alert.id or "")
            return True

        iterator = PageIterator(first, client.request_adapter)
        await iterator.iterate(keep)
        return seen

    seen = graph(platform, walk)
    assert sorted(seen) == sorted(seeded.bulk)
    assert len(seen) == 120


def test_bad_options_and_missing_alerts_are_odata_errors(platform: Platform, seeded: Seeded) -> None:
    with pytest.raises(ODataError) as missing:
        graph(platform, lambda c: c.security.alerts_v2.by_alert_id("no-such-alert").get())
    assert missing.value.response_status_code == 404
    assert missing.value.error.code == "itemNotFound"
    with pytest.raises(ODataError) as invalid:
        graph(platform, lambda c: c.security.alerts_v2.get(options(filter="severity eq")))
    assert invalid.value.response_status_code == 400
    assert invalid.value.error.code == "invalidRequest"


# ---------------------------------------------------------------------------- changing


def test_patch_an_alert_with_the_sdk_is_audited_and_mirrored(
    platform: Platform, seeded: Seeded, client: httpx.Client
) -> None:
    change = Alert(status=AlertStatus.InProgress, classification=AlertClassification.TruePositive,
                   determination=AlertDetermination.Malware, assigned_to="ana@contoso.com")  # fmt: skip
    updated = graph(platform, lambda c: c.security.alerts_v2.by_alert_id(seeded.scheduled).patch(change))
    assert updated is not None
    assert updated.status == AlertStatus.InProgress
    assert (updated.classification, updated.determination) == (
        AlertClassification.TruePositive,
        AlertDetermination.Malware,
    )
    assert updated.assigned_to == "ana@contoso.com"
    audit = client.get(
        "/api/audit", params={"action": "alert.update"}, headers=platform.headers("a", "all", GRAPH)
    )
    assert any(e["target"] == seeded.scheduled for e in audit.json()["value"])
    rows = _query(platform, f"SecurityAlert | where SystemAlertId == '{seeded.scheduled}' | project Status")
    assert "InProgress" in [r[0] for r in rows]


def _query(platform: Platform, kql: str) -> list[list[Any]]:
    response = httpx.post(f"{platform.url}/v1/workspaces/{platform.workspace('a')}/query",
                          json={"query": kql}, headers=platform.headers("a", "reader"))  # fmt: skip
    response.raise_for_status()
    return list(response.json()["tables"][0]["rows"])


def test_a_bad_value_names_the_property(platform: Platform, seeded: Seeded, client: httpx.Client) -> None:
    response = client.patch(f"/v1.0/security/alerts_v2/{seeded.nrt}", json={"status": "closed"},
                            headers=headers(platform))  # fmt: skip
    assert response.status_code == 400
    assert "status must be one of" in response.json()["error"]["message"]
    response = client.patch(
        f"/v1.0/security/alerts_v2/{seeded.nrt}", json={"title": "x"}, headers=headers(platform)
    )
    assert response.status_code == 400
    assert "'title' cannot be updated" in response.json()["error"]["message"]


def test_comments_are_added_and_listed(platform: Platform, seeded: Seeded, client: httpx.Client) -> None:
    body = {"@odata.type": "microsoft.graph.security.alertComment", "comment": "looking at it"}
    response = client.post(
        f"/v1.0/security/alerts_v2/{seeded.nrt}/comments", json=body, headers=headers(platform)
    )
    assert response.status_code == 200
    (comment,) = response.json()["value"]
    assert comment["comment"] == "looking at it"
    assert comment["createdByDisplayName"].startswith("app:")
    assert comment["createdDateTime"].endswith("Z")
    alert = graph(platform, lambda c: c.security.alerts_v2.by_alert_id(seeded.nrt).get())
    assert alert is not None
    assert [c.comment for c in alert.comments or []] == ["looking at it"]
    empty = client.post(
        f"/v1.0/security/alerts_v2/{seeded.nrt}/comments", json={"comment": " "}, headers=headers(platform)
    )
    assert empty.status_code == 400
    assert "1 to 30,000" in empty.json()["error"]["message"]


# ---------------------------------------------------------------------------- legacy alerts


def test_legacy_alerts_carry_vendor_and_states(
    platform: Platform, seeded: Seeded, client: httpx.Client
) -> None:
    alert = client.get(f"/v1.0/security/alerts/{seeded.scheduled}", headers=headers(platform)).json()
    assert alert["vendorInformation"]["provider"] == "watchkeeper"
    assert alert["azureTenantId"] == platform.tenants["a"].id
    assert alert["userStates"][0]["userPrincipalName"] == "alice@contoso.com"
    assert alert["hostStates"][0]["fqdn"] == "dc1.contoso.com"
    assert alert["networkConnections"] == [{"destinationAddress": "203.0.113.7"}]
    assert {"fileHash": {"hashType": "sha256", "hashValue": "ab" * 32}} in alert["fileStates"]
    assert alert["processes"][0]["commandLine"] == "evil.exe -x"
    assert alert["severity"] == "medium"
    listed = client.get("/v1.0/security/alerts", headers=headers(platform),
                        params={"$filter": "vendorInformation/provider eq 'Suricata'"}).json()  # fmt: skip
    assert [a["id"] for a in listed["value"]] == [seeded.foreign]


def test_legacy_paging_limits(platform: Platform, seeded: Seeded, client: httpx.Client) -> None:
    too_far = client.get("/v1.0/security/alerts", params={"$skip": "501"}, headers=headers(platform))
    assert too_far.status_code == 400
    assert "$skip=501 exceeds the maximum of 500" in too_far.json()["error"]["message"]
    too_many = client.get("/v1.0/security/alerts", params={"$top": "1001"}, headers=headers(platform))
    assert too_many.status_code == 400
    assert "maximum of 1000" in too_many.json()["error"]["message"]


def test_legacy_patch_needs_the_vendor_and_prefers(
    platform: Platform, seeded: Seeded, client: httpx.Client
) -> None:
    url = f"/v1.0/security/alerts/{seeded.foreign}"
    missing = client.patch(url, json={"status": "resolved"}, headers=headers(platform))
    assert missing.status_code == 400
    assert "vendorInformation" in missing.json()["error"]["message"]
    wrong = client.patch(url, json={"status": "resolved", "vendorInformation": {"provider": "ASC", "vendor": "Microsoft"}},
                         headers=headers(platform))  # fmt: skip
    assert wrong.status_code == 400
    vendor = {"provider": "Suricata", "vendor": "Suricata"}
    quiet = client.patch(
        url, json={"feedback": "benignPositive", "vendorInformation": vendor}, headers=headers(platform)
    )
    assert quiet.status_code == 204
    assert quiet.content == b""
    shown = client.patch(url, json={"status": "resolved", "comments": ["Closed in IPC"], "vendorInformation": vendor},
                         headers=headers(platform, Prefer="return=representation"))  # fmt: skip
    assert shown.status_code == 200
    alert = shown.json()
    assert (alert["status"], alert["feedback"], alert["comments"]) == (
        "resolved",
        "benignPositive",
        ["Closed in IPC"],
    )
    assert alert["closedDateTime"].endswith("Z")
    v2 = client.get(f"/v1.0/security/alerts_v2/{seeded.foreign}", headers=headers(platform)).json()
    assert (v2["status"], v2["classification"]) == ("resolved", "informationalExpectedActivity")


# ---------------------------------------------------------------------------- roles and tenants


def test_another_tenants_alert_is_not_found(platform: Platform, seeded: Seeded, client: httpx.Client) -> None:
    for url in (
        f"/v1.0/security/alerts_v2/{seeded.other_tenant}",
        f"/beta/security/alerts/{seeded.other_tenant}",
    ):
        response = client.get(url, headers=headers(platform))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "itemNotFound"
    patched = client.patch(f"/v1.0/security/alerts_v2/{seeded.other_tenant}", json={"status": "resolved"},
                           headers=headers(platform))  # fmt: skip
    assert patched.status_code == 404
    listed = client.get("/v1.0/security/alerts_v2", params={"$top": "1000"}, headers=headers(platform)).json()
    assert seeded.other_tenant not in {a["id"] for a in listed["value"]}
    theirs = client.get("/v1.0/security/alerts_v2", headers=headers(platform, "b")).json()
    assert seeded.scheduled not in {a["id"] for a in theirs["value"]}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1.0/security/alerts_v2"), ("PATCH", "/v1.0/security/alerts_v2/x"),
    ("POST", "/beta/security/alerts_v2/x/comments"), ("GET", "/v1.0/security/alerts"),
    ("PATCH", "/beta/security/alerts/x"),
])  # fmt: skip
def test_a_token_without_the_role_is_refused(
    platform: Platform, client: httpx.Client, method: str, path: str
) -> None:
    response = client.request(method, path, json={}, headers=headers(platform, "a", "nobody"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "accessDenied"
