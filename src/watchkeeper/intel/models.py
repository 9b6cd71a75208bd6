"""Threat indicators in the state database: the Graph ``tiIndicator`` resource
(``../shared/specs/graph-security-api.md`` section 6), stored for later threat-intelligence work
(matching rules, TAXII, MISP feeds).

The properties callers filter and match on have their own columns; the rest of an indicator's
Graph properties are kept in ``details`` under their Graph names. An indicator belongs to the app
that created it (``owner_app``, Graph's ``ThreatIndicators.ReadWrite.OwnedBy``) in its tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, new_id, utc_now
from watchkeeper.state.db import UtcDateTime

__all__ = ["COLUMNS", "DEFENDER", "SENTINEL", "IndicatorRead", "TiIndicatorRecord"]

SENTINEL = "Azure Sentinel"
DEFENDER = "Microsoft Defender ATP"

# Graph property -> the column holding it (every other property lives in ``details``)
COLUMNS: dict[str, str] = {
    "action": "action", "threatType": "threat_type", "targetProduct": "target_product", "tlpLevel": "tlp_level",
    "description": "description", "externalId": "external_id", "confidence": "confidence", "severity": "severity",
    "diamondModel": "diamond_model", "isActive": "is_active", "passiveOnly": "passive_only",
    "expirationDateTime": "expiration", "lastReportedDateTime": "last_reported", "domainName": "domain_name",
    "url": "url", "networkIPv4": "network_ipv4", "networkIPv6": "network_ipv6",
    "networkSourceIPv4": "network_source_ipv4", "networkSourceIPv6": "network_source_ipv6",
    "networkDestinationIPv4": "network_destination_ipv4", "networkDestinationIPv6": "network_destination_ipv6",
    "fileHashType": "file_hash_type", "fileHashValue": "file_hash_value",
    "emailSenderAddress": "email_sender_address", "tags": "tags", "killChain": "kill_chain",
    "activityGroupNames": "activity_group_names", "malwareFamilyNames": "malware_family_names",
}  # fmt: skip


class TiIndicatorRecord(Base):
    """A threat indicator an app submitted."""

    __tablename__ = "ti_indicators"
    __table_args__ = (
        Index("ix_ti_indicators_owner", "tenant_id", "owner_app"),
        Index("ix_ti_indicators_external", "tenant_id", "external_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    owner_app: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    threat_type: Mapped[str | None] = mapped_column(String(32), default=None)
    target_product: Mapped[str] = mapped_column(String(32))
    tlp_level: Mapped[str | None] = mapped_column(String(16), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    external_id: Mapped[str | None] = mapped_column(String(256), default=None)
    confidence: Mapped[int | None] = mapped_column(Integer, default=None)
    severity: Mapped[int] = mapped_column(Integer, default=3)
    diamond_model: Mapped[str | None] = mapped_column(String(16), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    passive_only: Mapped[bool] = mapped_column(Boolean, default=False)
    expiration: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    last_reported: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    domain_name: Mapped[str | None] = mapped_column(String(256), default=None)
    url: Mapped[str | None] = mapped_column(Text, default=None)
    network_ipv4: Mapped[str | None] = mapped_column(String(64), default=None)
    network_ipv6: Mapped[str | None] = mapped_column(String(64), default=None)
    network_source_ipv4: Mapped[str | None] = mapped_column(String(64), default=None)
    network_source_ipv6: Mapped[str | None] = mapped_column(String(64), default=None)
    network_destination_ipv4: Mapped[str | None] = mapped_column(String(64), default=None)
    network_destination_ipv6: Mapped[str | None] = mapped_column(String(64), default=None)
    file_hash_type: Mapped[str | None] = mapped_column(String(32), default=None)
    file_hash_value: Mapped[str | None] = mapped_column(String(256), default=None)
    email_sender_address: Mapped[str | None] = mapped_column(String(256), default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    kill_chain: Mapped[list[str]] = mapped_column(JSON, default=list)
    activity_group_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    malware_family_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ingested_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class IndicatorRead(BaseModel):
    """An indicator as callers see it: ``properties`` holds its Graph properties (camelCase, JSON
    values, times as ISO 8601 text) apart from the ones the server sets."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant_id: str
    owner_app: str
    action: str
    target_product: str
    external_id: str | None
    expiration: datetime | None
    is_active: bool  # as stored; an expired indicator is inactive whatever this says (see ``active_at``)
    ingested_at: datetime
    updated_at: datetime
    properties: dict[str, Any]

    def active_at(self, now: datetime) -> bool:
        """Whether the indicator is in force at ``now``: active and not expired."""
        return self.is_active and (self.expiration is None or self.expiration > now)

    def to_graph(self, now: datetime) -> dict[str, Any]:
        """The Graph ``tiIndicator`` body, as of ``now`` (an expired indicator reads ``isActive: false``)."""
        return {
            "@odata.type": "#microsoft.graph.tiIndicator",
            "id": self.id,
            "azureTenantId": self.tenant_id,
            **self.properties,
            "isActive": self.active_at(now),
            "ingestedDateTime": iso(self.ingested_at),
        }


def iso(moment: datetime | None) -> str | None:
    """A time as Graph writes it: ISO 8601 in UTC with a ``Z``."""
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
