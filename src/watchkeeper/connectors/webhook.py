"""The generic webhook provider: products with outbound webhooks post their alerts to
``POST /api/providers/{name}/alerts`` (bearer token with ``SecurityAlert.ReadWrite.All`` in the
provider's tenant). The body is one alert object, or ``{"value": [...]}`` with 1 to
:data:`MAX_ALERTS` of them. An alert object:

=========================  ========  ===================================================================
field                      required  value
=========================  ========  ===================================================================
``providerAlertId``        yes       the alert's id in the product (1-256 characters); posting the same
                                     id again updates status/classification/determination/assignedTo
                                     and otherwise changes nothing (idempotent)
``title``                  yes       1-256 characters
``severity``               yes       ``informational``, ``low``, ``medium`` or ``high`` (any case)
``description``                      text, up to 10,000 characters
``createdDateTime``                  ISO 8601 with an offset (``2026-01-05T10:00:00Z``); default: now
``firstActivityDateTime``            ISO 8601 with an offset
``lastActivityDateTime``             ISO 8601 with an offset
``category``                         text, e.g. ``CommandAndControl``
``mitreTechniques``                  list of technique ids, ``T1059`` or ``T1059.001``
``detectorId``                       the product's rule or detector id
``productName``                      default: the provider's name
``alertWebUrl``                      ``http(s)`` link to the alert in the product
``status``                           ``new``, ``inProgress`` or ``resolved``
``classification``                   ``unknown``, ``falsePositive``, ``truePositive``,
                                     ``informationalExpectedActivity``
``determination``                    a Graph ``alertDetermination`` value
``assignedTo``                       text
``entities``                         list of Sentinel entities: objects with ``Type`` (``ip``, ``host``,
                                     ``account``, ``url``, ``file``, ``process``...) and its identifiers
``evidence``                         list of Graph evidence objects, each with an ``@odata.type`` of
                                     ``#microsoft.graph.security.<name>Evidence``, kept verbatim
``groupKey``                         alerts of the provider with the same key within 5 hours share an
                                     incident (default: the title)
=========================  ========  ===================================================================

Unknown fields are refused (a typo must not pass unnoticed); every error is a 400 naming the
field (``value[3].severity: ...``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from watchkeeper.connectors.base import ProviderAlert, ProviderConfig, Pulled
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state import utc_now

__all__ = ["MAX_ALERTS", "WebhookAlert", "WebhookConnector", "WebhookProvider", "webhook_alerts"]

MAX_ALERTS = 100
_EVIDENCE_TYPE = "#microsoft.graph.security."


def _evidence(item: dict[str, Any]) -> dict[str, Any]:
    kind = item.get("@odata.type")
    if not isinstance(kind, str) or not kind.startswith(_EVIDENCE_TYPE) or not kind.endswith("Evidence"):
        raise ValueError(f"@odata.type must be {_EVIDENCE_TYPE}<name>Evidence, not {kind!r}")
    return item


def _entity(item: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(item.get("Type"), str) or not item["Type"] or len(item) < 2:
        raise ValueError("an entity needs a Type (ip, host, account, ...) and at least one identifier")
    return item


Text256 = Annotated[str, Field(min_length=1, max_length=256)]


class WebhookAlert(BaseModel):
    """One posted alert (see the module's table)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    providerAlertId: Text256
    title: Text256
    severity: Annotated[str, AfterValidator(lambda s: _choice(s, ("informational", "low", "medium", "high")))]
    description: Annotated[str, Field(max_length=10_000)] = ""
    createdDateTime: AwareDatetime | None = None
    firstActivityDateTime: AwareDatetime | None = None
    lastActivityDateTime: AwareDatetime | None = None
    category: Annotated[str, Field(max_length=256)] = ""
    mitreTechniques: Annotated[
        list[Annotated[str, Field(pattern=r"^T\d{4}(\.\d{3})?$")]], Field(max_length=64)
    ] = []
    detectorId: Annotated[str, Field(max_length=64)] = ""
    productName: Annotated[str, Field(max_length=256)] = ""
    alertWebUrl: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = None
    status: Literal["new", "inProgress", "resolved"] | None = None
    classification: (
        Literal["unknown", "falsePositive", "truePositive", "informationalExpectedActivity"] | None
    ) = None
    determination: Annotated[str, Field(max_length=64)] | None = None
    assignedTo: Annotated[str, Field(max_length=256)] | None = None
    entities: Annotated[list[Annotated[dict[str, Any], AfterValidator(_entity)]], Field(max_length=500)] = []
    evidence: Annotated[
        list[Annotated[dict[str, Any], AfterValidator(_evidence)]], Field(max_length=500)
    ] = []
    groupKey: Annotated[str, Field(max_length=256)] | None = None

    def provider_alert(self, provider: str) -> ProviderAlert:
        """The alert in watchkeeper's terms."""
        return ProviderAlert(
            provider_alert_id=self.providerAlertId, title=self.title, severity=self.severity.title(),
            created=self.createdDateTime or utc_now(), description=self.description, detector_id=self.detectorId,
            category=self.category, techniques=tuple(self.mitreTechniques), entities=tuple(self.entities),
            evidence=tuple(self.evidence), first_activity=self.firstActivityDateTime,
            last_activity=self.lastActivityDateTime, web_url=self.alertWebUrl or "", service_source="unknown",
            detection_source="unknown", product_name=self.productName or provider, status=self.status,
            classification=self.classification, determination=self.determination, assigned_to=self.assignedTo,
            group_by=(self.groupKey,) if self.groupKey else (),
        )  # fmt: skip


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    if value.lower() not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return value.lower()


def webhook_alerts(body: Any, *, provider: str) -> list[ProviderAlert]:
    """The alerts of a posted body (one object or ``{"value": [...]}``); InvalidRequestError naming
    the first field in error."""
    if isinstance(body, dict) and set(body) == {"value"}:
        items, prefix = body["value"], "value"
        if not isinstance(items, list) or not items:
            raise InvalidRequestError("value: a list of 1 to 100 alert objects is expected")
    elif isinstance(body, dict):
        items, prefix = [body], ""
    else:
        raise InvalidRequestError('the body must be an alert object or {"value": [alert objects]}')
    if len(items) > MAX_ALERTS:
        raise InvalidRequestError(f"value: at most {MAX_ALERTS} alerts per call, got {len(items)}")
    return [
        _parsed(item, f"{prefix}[{index}]" if prefix else "", provider) for index, item in enumerate(items)
    ]


def _parsed(item: Any, where: str, provider: str) -> ProviderAlert:
    try:
        return WebhookAlert.model_validate(item).provider_alert(provider)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        field = f"{where}.{path}" if where and path else (where or path or "alert")
        raise InvalidRequestError(f"{field}: {error['msg']}") from None


class WebhookProvider:
    """Alerts arrive by ``POST``; there is nothing to pull."""

    kind = "webhook"

    def __init__(self, name: str) -> None:
        self.name = name

    def pull(self, checkpoint: str | None) -> Pulled:
        return Pulled([], checkpoint)


class WebhookConnector:
    """Builds webhook providers (no settings)."""

    name = "webhook"

    def build(self, config: ProviderConfig) -> WebhookProvider:
        return WebhookProvider(config.name)
