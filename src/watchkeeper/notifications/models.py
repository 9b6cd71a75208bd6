"""Change-notification subscriptions and their delivery outbox in the state database.

A subscription is Graph's ``subscription`` resource (``graph-security-api.md`` section 7): a tenant's
app watches alerts or incidents and names the URL that receives the changes. Every change to a watched
object writes one :class:`DeliveryRecord` per matching subscription in the same transaction as the
change (the outbox), so nothing is lost and nothing on the change's path waits for the network; the
sender drains the outbox in the background and keeps each attempt in the row's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from watchkeeper.state import Base, new_id, utc_now
from watchkeeper.state.db import UtcDateTime

__all__ = [
    "DELIVERY_STATES",
    "DeliveryRead",
    "DeliveryRecord",
    "SubscriptionCreate",
    "SubscriptionRead",
    "SubscriptionRecord",
    "SubscriptionRenewal",
]

# pending: waiting for its (next) attempt; delivered: a 2xx came back; dropped: retried for the whole
# retry period without success; expired: its subscription expired or was deleted before delivery
DELIVERY_STATES = ("pending", "delivered", "dropped", "expired")


class SubscriptionRecord(Base):
    """One app's subscription to the changes of a tenant's alerts or incidents."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    application_id: Mapped[str] = mapped_column(String(64))  # the creating app's client id
    creator_id: Mapped[str] = mapped_column(String(64))  # its service principal's object id
    resource: Mapped[str] = mapped_column(Text)  # as the caller wrote it, with any ?$filter=
    collection: Mapped[str] = mapped_column(String(32))  # security/alerts_v2 | security/alerts | ...
    filter: Mapped[str | None] = mapped_column(Text, default=None)
    change_types: Mapped[list[str]] = mapped_column(JSON)
    notification_url: Mapped[str] = mapped_column(Text)
    lifecycle_notification_url: Mapped[str | None] = mapped_column(Text, default=None)
    client_state: Mapped[str | None] = mapped_column(String(128), default=None)
    latest_supported_tls_version: Mapped[str | None] = mapped_column(String(16), default=None)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class DeliveryRecord(Base):
    """One change notification for one subscription: pending, delivered, dropped or expired, with
    every attempt (time, HTTP status or error, duration) in ``history``."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)  # changeNotification id
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    change_type: Mapped[str] = mapped_column(String(16))
    resource: Mapped[str] = mapped_column(Text)  # e.g. security/alerts_v2/{id}
    resource_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


class SubscriptionCreate(BaseModel):
    """A ``subscription`` as a caller posts it (Graph's camelCase names)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    resource: str = PydanticField(min_length=1, max_length=2048)
    change_type: str = PydanticField(alias="changeType", min_length=1, max_length=64)
    notification_url: str = PydanticField(alias="notificationUrl", min_length=1, max_length=2048)
    expiration: datetime = PydanticField(alias="expirationDateTime")
    client_state: str | None = PydanticField(default=None, alias="clientState")
    lifecycle_notification_url: str | None = PydanticField(
        default=None, alias="lifecycleNotificationUrl", max_length=2048
    )
    latest_supported_tls_version: str | None = PydanticField(default=None, alias="latestSupportedTlsVersion")
    include_resource_data: bool | None = PydanticField(default=None, alias="includeResourceData")
    encryption_certificate: str | None = PydanticField(default=None, alias="encryptionCertificate")


class SubscriptionRenewal(BaseModel):
    """A PATCH of a subscription: only its expiration can change."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    expiration: datetime = PydanticField(alias="expirationDateTime")


class SubscriptionRead(BaseModel):
    """A stored subscription."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    application_id: str
    creator_id: str
    resource: str
    collection: str
    filter: str | None
    change_types: list[str]
    notification_url: str
    lifecycle_notification_url: str | None
    client_state: str | None
    latest_supported_tls_version: str | None
    expires_at: datetime
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        """Graph's ``subscription`` (section 7): clientState is echoed to its owner as Graph does."""
        return {
            "@odata.type": "#microsoft.graph.subscription", "id": self.id, "resource": self.resource,
            "applicationId": self.application_id, "changeType": ",".join(self.change_types),
            "clientState": self.client_state, "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_notification_url,
            "expirationDateTime": _iso(self.expires_at), "creatorId": self.creator_id,
            "includeResourceData": False, "latestSupportedTlsVersion": self.latest_supported_tls_version or "v1_2",
            "encryptionCertificate": None, "encryptionCertificateId": None, "notificationQueryOptions": None,
            "notificationUrlAppId": None,
        }  # fmt: skip


class DeliveryRead(BaseModel):
    """One notification's delivery: its state and every attempt."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    subscription_id: str
    change_type: str
    resource: str
    state: str
    attempts: int
    next_attempt_at: datetime
    history: list[dict[str, Any]]
    created_at: datetime
    finished_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """camelCase, ISO 8601 times; ``nextAttemptDateTime`` only while pending."""
        return {
            "id": self.id, "subscriptionId": self.subscription_id, "changeType": self.change_type,
            "resource": self.resource, "state": self.state, "attempts": self.attempts,
            "nextAttemptDateTime": _iso(self.next_attempt_at) if self.state == "pending" else None,
            "createdDateTime": _iso(self.created_at), "finishedDateTime": _iso(self.finished_at),
            "history": self.history,
        }  # fmt: skip
