"""A Microsoft Graph Security tenant as an alert provider: its ``security/alerts_v2`` (and the
``security/incidents`` they belong to) pulled with msgraph-sdk, signed in with azure-identity's
``ClientSecretCredential`` (tenant id, client id, client secret; the app needs
``SecurityAlert.ReadWrite.All`` and ``SecurityIncident.Read.All``), and status changes made here
pushed back with ``PATCH security/alerts_v2/{id}``, as Graph does for its providers.

Settings: ``tenantId``, ``clientId`` (required), ``authority`` (default
``https://login.microsoftonline.com``), ``graphUrl`` (default ``https://graph.microsoft.com/v1.0``:
another Graph-shaped server, such as another watchkeeper, works by changing it), ``caBundle`` (a
PEM file to trust for a server with a private CA), ``overlap`` (seconds, default 5). Secret:
``clientSecret``.

Checkpoint: the newest ``lastUpdateDateTime`` seen, and whether the pull stopped with pages left.
A pull after one that caught up asks for ``lastUpdateDateTime gt <newest - overlap>`` ordered by
it (the overlap takes an alert stored late with a slightly older time); a pull after one that
stopped early asks for ``lastUpdateDateTime ge <newest>`` (without the overlap: with more alerts
in the overlap than one pull holds, it would read the same pages for ever). It follows
``@odata.nextLink`` up to :data:`MAX_PAGES` pages, and further while every alert read is no newer
than the checkpoint (many alerts updated in one instant), so each pull moves forward. The intake
makes the repeats harmless (an alert already held only takes the provider's newer status,
classification, determination and assignee). Alerts of one Graph incident share one incident here. Evidence is kept verbatim (with its ``@odata.type``), so
the Graph API here renders it as the source did.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from watchkeeper.cases import AlertRead
from watchkeeper.connectors.base import ProviderAlert, ProviderConfig, Pulled
from watchkeeper.errors import InvalidRequestError

if TYPE_CHECKING:
    from msgraph.generated.models.security.alert import Alert
    from msgraph.graph_service_client import GraphServiceClient

__all__ = ["MAX_PAGES", "GraphConnector", "GraphProvider", "GraphSettings", "graph_alert"]

MAX_PAGES = 20
PAGE = 100
TIMEOUT = 30.0  # seconds for one Graph request
# azure-core retries a token request 3 times with backoff (about 6 s to fail on a refused
# connection); one retry is enough here: a pull that fails is tried again on the provider's next
# run, and a push runs inside an analyst's PATCH, which should not wait long
TOKEN_RETRIES = 1
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SEVERITIES = {"informational": "Informational", "low": "Low", "medium": "Medium", "high": "High"}
_STATUSES = ("new", "inProgress", "resolved")


@cache
def _sdk() -> SimpleNamespace:
    """msgraph-sdk and azure-identity, imported on first use (they are large, and kiota and the
    generated request builders warn of their own deprecated classes on import: not ours to fix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        # the SDK imports each request builder on first use (the first three lines): imported now,
        # under this filter, their warnings are not raised later in the middle of a pull
        import msgraph.generated.security.alerts_v2.item.alert_item_request_builder
        import msgraph.generated.security.incidents.item.incident_item_request_builder
        import msgraph.generated.security.security_request_builder  # noqa: F401
        from azure.identity import ClientSecretCredential
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter
        from msgraph.generated.models.security.alert import Alert
        from msgraph.generated.models.security.alert_classification import AlertClassification
        from msgraph.generated.models.security.alert_determination import AlertDetermination
        from msgraph.generated.models.security.alert_status import AlertStatus
        from msgraph.generated.security.alerts_v2.alerts_v2_request_builder import Alerts_v2RequestBuilder
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory
    return SimpleNamespace(
        ClientSecretCredential=ClientSecretCredential,
        AzureIdentityAuthenticationProvider=AzureIdentityAuthenticationProvider,
        JsonSerializationWriter=JsonSerializationWriter,
        GraphRequestAdapter=GraphRequestAdapter,
        GraphServiceClient=GraphServiceClient,
        Alert=Alert,
        AlertClassification=AlertClassification,
        AlertDetermination=AlertDetermination,
        AlertStatus=AlertStatus,
        Alerts_v2RequestBuilder=Alerts_v2RequestBuilder,
        RequestConfiguration=RequestConfiguration,
        GraphClientFactory=GraphClientFactory,
    )


class GraphSettings:
    """A Graph provider's validated settings."""

    def __init__(self, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> None:
        self.tenant_id = _text(settings, "tenantId")
        self.client_id = _text(settings, "clientId")
        self.authority = str(settings.get("authority") or "https://login.microsoftonline.com").rstrip("/")
        self.graph_url = str(settings.get("graphUrl") or "https://graph.microsoft.com/v1.0").rstrip("/")
        self.ca_bundle = settings.get("caBundle") or None
        self.overlap = timedelta(seconds=float(settings.get("overlap", 5)))
        if not secrets.get("clientSecret"):
            raise InvalidRequestError("clientSecret: a Graph provider needs its app's client secret")
        self.secret = secrets["clientSecret"]
        for name, url in (("authority", self.authority), ("graphUrl", self.graph_url)):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise InvalidRequestError(f"{name}: an http(s) URL, not {url!r}")

    def __repr__(self) -> str:  # the secret never reaches a log line
        return f"GraphSettings(tenant={self.tenant_id}, client={self.client_id}, graph={self.graph_url})"


def _text(settings: Mapping[str, Any], key: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{key}: required for a Graph provider")
    return value.strip()


class GraphConnector:
    """Builds Graph providers."""

    name = "graph"

    def build(self, config: ProviderConfig) -> GraphProvider:
        return GraphProvider(config.name, GraphSettings(config.settings, config.secrets))


class GraphProvider:
    """One Microsoft Graph Security tenant."""

    kind = "graph"

    def __init__(self, name: str, settings: GraphSettings) -> None:
        self.name = name
        self.settings = settings

    def pull(self, checkpoint: str | None) -> Pulled:
        since, stopped_early = _read_checkpoint(checkpoint)
        if since is None:
            condition = f"lastUpdateDateTime gt {_odata_time(_EPOCH)}"
        elif stopped_early:
            condition = f"lastUpdateDateTime ge {_odata_time(since)}"
        else:
            condition = f"lastUpdateDateTime gt {_odata_time(since - self.settings.overlap)}"
        alerts, incidents, more = asyncio.run(self._pull(condition, since))
        newest = max((a.last_update_date_time for a in alerts if a.last_update_date_time), default=since)
        pulled = [graph_alert(a, incidents.get(a.incident_id or "")) for a in alerts]
        return Pulled(pulled, _checkpoint(newest, more) if newest else checkpoint, more=more)

    def push_status(self, alert: AlertRead) -> None:
        remote = alert.properties.get("providerAlertId")
        if not isinstance(remote, str) or not remote:
            raise InvalidRequestError(f"alert {alert.id} has no providerAlertId to push to")
        asyncio.run(self._patch(remote, _change(alert)))

    async def _patch(self, remote: str, change: Alert) -> None:
        async with self._graph() as client:
            await client.security.alerts_v2.by_alert_id(remote).patch(change)

    async def _pull(self, condition: str, since: datetime | None) -> tuple[list[Alert], dict[str, Any], bool]:
        async with self._graph() as client:
            query = _sdk().Alerts_v2RequestBuilder.Alerts_v2RequestBuilderGetQueryParameters(
                filter=condition, orderby=["lastUpdateDateTime asc"], top=PAGE
            )
            page = await client.security.alerts_v2.get(request_configuration=_config(query))
            alerts, pages = list(page.value or []) if page else [], 1
            while (
                page is not None and page.odata_next_link and (pages < MAX_PAGES or not _past(alerts, since))
            ):
                page = await client.security.alerts_v2.with_url(page.odata_next_link).get(_config())
                alerts += list(page.value or []) if page else []
                pages += 1
            incidents = await self._incidents(client, {a.incident_id for a in alerts if a.incident_id})
        return alerts, incidents, bool(page is not None and page.odata_next_link)

    async def _incidents(self, client: GraphServiceClient, wanted: set[str]) -> dict[str, Any]:
        """The Graph incidents the alerts belong to (display name, for the incident here)."""
        found: dict[str, Any] = {}
        for incident_id in sorted(wanted):
            try:
                found[incident_id] = await client.security.incidents.by_incident_id(incident_id).get(
                    _config()
                )
            except Exception:  # an incident we may not read leaves the alert as it is
                continue
        return found

    @asynccontextmanager
    async def _graph(self) -> AsyncIterator[GraphServiceClient]:
        """A Graph client for one pull or push; its connections and credential are closed after it
        (the SDK's middleware wraps the transport, so the transport is closed itself too)."""
        s, sdk = self.settings, _sdk()
        verify = ssl.create_default_context(cafile=s.ca_bundle) if s.ca_bundle else True
        transport = httpx.AsyncHTTPTransport(verify=verify)
        http = sdk.GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=transport, timeout=TIMEOUT)
        )
        extra: dict[str, Any] = {"connection_verify": s.ca_bundle} if s.ca_bundle else {}
        credential = sdk.ClientSecretCredential(s.tenant_id, s.client_id, s.secret, authority=s.authority,
                                                disable_instance_discovery=True, retry_total=TOKEN_RETRIES,
                                                **extra)  # fmt: skip
        auth = sdk.AzureIdentityAuthenticationProvider(
            credential, scopes=[GRAPH_SCOPE], allowed_hosts=[urlsplit(s.graph_url).hostname or ""]
        )
        adapter = sdk.GraphRequestAdapter(auth, client=http)
        adapter.base_url = s.graph_url
        try:
            yield sdk.GraphServiceClient(request_adapter=adapter)
        finally:
            await http.aclose()
            await transport.aclose()
            credential.close()


def _read_checkpoint(checkpoint: str | None) -> tuple[datetime | None, bool]:
    """(newest lastUpdateDateTime seen, whether that pull stopped with pages left)."""
    if not checkpoint:
        return None, False
    saved = json.loads(checkpoint)
    return datetime.fromisoformat(saved["lastUpdate"]), bool(saved.get("more"))


def _checkpoint(newest: datetime, more: bool) -> str:
    return json.dumps({"lastUpdate": newest.isoformat(), "more": more})


def _past(alerts: list[Alert], since: datetime | None) -> bool:
    """Whether the alerts read so far go beyond the checkpoint (a pull that does not may not stop)."""
    return since is None or any(a.last_update_date_time and a.last_update_date_time > since for a in alerts)


def _change(alert: AlertRead) -> Alert:
    """The PATCH body: the alert's status, and its classification, determination and assignee
    when it has them (an unset one is left as the provider has it)."""
    sdk = _sdk()
    change: Alert = sdk.Alert(status=sdk.AlertStatus(alert.status), assigned_to=alert.assigned_to)
    if alert.classification is not None:
        change.classification = sdk.AlertClassification(alert.classification)
    if alert.determination is not None:
        change.determination = sdk.AlertDetermination(alert.determination)
    return change


def _config(query: Any = None) -> Any:
    """A request's configuration: ``query`` and ``Prefer: include-unknown-enum-members``, without
    which Graph hides the members added to an enum after v1.0 (``microsoftSentinel``,
    ``nrtAlerts``, ...) behind ``unknownFutureValue``."""
    config = _sdk().RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", "include-unknown-enum-members")
    return config


def graph_alert(alert: Alert, incident: Any = None) -> ProviderAlert:
    """A Graph ``security.alert`` (msgraph-sdk object) as an alert here."""
    created = alert.created_date_time or alert.last_update_date_time or datetime.now(UTC)
    status = _enum(alert.status)
    extra: dict[str, Any] = {"providerIncidentId": alert.incident_id, "tenantId": alert.tenant_id,
                             "lastUpdateDateTime": _odata_time(alert.last_update_date_time)}  # fmt: skip
    if incident is not None:
        extra["providerIncidentName"] = incident.display_name
    return ProviderAlert(
        provider_alert_id=str(alert.id), title=(alert.title or "Graph alert")[:256],
        severity=_SEVERITIES.get(_enum(alert.severity) or "", "Informational"), created=created,
        description=alert.description or "", detector_id=alert.detector_id or "", category=alert.category or "",
        techniques=tuple(alert.mitre_techniques or ()), evidence=tuple(_json(e) for e in alert.evidence or ()),
        first_activity=alert.first_activity_date_time, last_activity=alert.last_activity_date_time,
        web_url=alert.alert_web_url or "", service_source=_enum(alert.service_source) or "unknown",
        detection_source=_enum(alert.detection_source) or "unknown", product_name=alert.product_name or "",
        status=status if status in _STATUSES else None, classification=_enum(alert.classification),
        determination=_enum(alert.determination), assigned_to=alert.assigned_to,
        group_by=(f"incident:{alert.incident_id}",) if alert.incident_id else (), extra=extra,
    )  # fmt: skip


def _enum(value: Any) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    return None if text == "unknownFutureValue" else text


def _json(model: Any) -> dict[str, Any]:
    writer = _sdk().JsonSerializationWriter()
    writer.write_object_value(None, model)
    value = json.loads(writer.get_serialized_content().decode())
    return value if isinstance(value, dict) else {}


def _odata_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
