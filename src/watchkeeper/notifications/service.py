"""Subscriptions (create, read, renew, delete: tenant- and app-scoped, audited) and the outbox hook
that turns changes of alerts and incidents into pending deliveries.

Limits follow Graph (``graph-security-api.md`` section 7): ``clientState`` at most 128 characters,
``expirationDateTime`` at most 43200 minutes ahead, changeType ``created``/``updated`` (alerts and
incidents are never deleted, so ``deleted`` is refused rather than accepted and never sent), https
notification URLs (plain http only to this machine, when the server allows it, for local receivers).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor, record
from watchkeeper.cases import AlertRead, IncidentRead
from watchkeeper.errors import InvalidRequestError, WatchkeeperError
from watchkeeper.notifications.filters import check_filter, matching_ids
from watchkeeper.notifications.models import (
    DeliveryRead,
    DeliveryRecord,
    SubscriptionCreate,
    SubscriptionRead,
    SubscriptionRecord,
)
from watchkeeper.notifications.resources import COLLECTIONS, WatchedResource, parse_resource
from watchkeeper.state import utc_now

__all__ = [
    "MAX_CLIENT_STATE",
    "MAX_LIFETIME",
    "Owner",
    "check_new_subscription",
    "check_url",
    "create_subscription",
    "delete_subscription",
    "enqueue_changes",
    "find_subscription",
    "list_deliveries",
    "list_subscriptions",
    "renew_subscription",
]

log = logging.getLogger(__name__)

MAX_LIFETIME = timedelta(minutes=43200)  # Graph's maximum for security alerts
MAX_CLIENT_STATE = 128
CHANGE_TYPES = ("created", "updated")


@dataclass(frozen=True)
class Owner:
    """Who owns a subscription: an app (client id, service principal object id) of a tenant."""

    tenant_id: str
    application_id: str
    creator_id: str


def check_url(url: str, *, field: str, allow_http_loopback: bool) -> None:
    """An https URL with a host, or (when allowed) plain http to a loopback address; else 400."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        if allow_http_loopback:
            return
        raise InvalidRequestError(
            f"{field} must use https (plain http to this machine is turned off on this server)"
        )
    raise InvalidRequestError(f"{field} must be an absolute https URL; got {url[:200]!r}")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _change_types(text: str) -> list[str]:
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    if "deleted" in kinds:
        raise InvalidRequestError(
            "changeType 'deleted' is not supported: alerts and incidents are never deleted"
        )
    unknown = [k for k in kinds if k not in CHANGE_TYPES]
    if unknown or not kinds:
        raise InvalidRequestError(
            f"changeType must be a comma-separated list of created, updated; got {text!r}"
        )
    return sorted(set(kinds), key=kinds.index)


def _expiration(moment: datetime, now: datetime) -> datetime:
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if moment <= now:
        raise InvalidRequestError("expirationDateTime must be in the future")
    if moment > now + MAX_LIFETIME:
        raise InvalidRequestError("expirationDateTime can be at most 43200 minutes (30 days) in the future")
    return moment.astimezone(UTC)


def check_new_subscription(
    spec: SubscriptionCreate, *, now: datetime, allow_http_loopback: bool
) -> WatchedResource:
    """Every field of a new subscription checked (400 naming the field); the watched resource."""
    watched = parse_resource(spec.resource)
    _change_types(spec.change_type)
    _expiration(spec.expiration, now)
    if spec.client_state is not None and len(spec.client_state) > MAX_CLIENT_STATE:
        raise InvalidRequestError(f"clientState can be at most {MAX_CLIENT_STATE} characters")
    if spec.include_resource_data or spec.encryption_certificate:
        raise InvalidRequestError("includeResourceData (rich notifications) is not supported; notifications "
                                  "carry the changed object's id, read it with GET")  # fmt: skip
    check_url(spec.notification_url, field="notificationUrl", allow_http_loopback=allow_http_loopback)
    if spec.lifecycle_notification_url is not None:
        check_url(spec.lifecycle_notification_url, field="lifecycleNotificationUrl",
                  allow_http_loopback=allow_http_loopback)  # fmt: skip
    if watched.filter is not None:
        check_filter(watched.collection, watched.filter)
    return watched


def create_subscription(
    session: Session, *, owner: Owner, spec: SubscriptionCreate, actor: Actor, now: datetime | None = None
) -> SubscriptionRead:
    """Store a subscription whose fields :func:`check_new_subscription` accepted; audited."""
    now = now or utc_now()
    watched = parse_resource(spec.resource)
    found = SubscriptionRecord(
        tenant_id=owner.tenant_id, application_id=owner.application_id, creator_id=owner.creator_id,
        resource=spec.resource.strip(), collection=watched.collection.path, filter=watched.filter,
        change_types=_change_types(spec.change_type), notification_url=spec.notification_url,
        lifecycle_notification_url=spec.lifecycle_notification_url, client_state=spec.client_state,
        latest_supported_tls_version=spec.latest_supported_tls_version,
        expires_at=_expiration(spec.expiration, now), created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(found)
    session.flush()
    record(session, actor=actor, action="subscription.create", outcome="success", target=found.id,
           tenant_id=owner.tenant_id, detail={"resource": found.resource, "changeType": found.change_types,
                                              "notificationUrl": _origin(found.notification_url)})  # fmt: skip
    return SubscriptionRead.model_validate(found)


def _origin(url: str) -> str:
    """The scheme and host of a URL: its path or query may carry a receiver's secret, kept out of the audit log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _owned(session: Session, owner: Owner, subscription_id: str) -> SubscriptionRecord | None:
    found = session.get(SubscriptionRecord, subscription_id)
    if found is None or (found.tenant_id, found.application_id) != (owner.tenant_id, owner.application_id):
        return None  # another tenant's or app's subscription is not found, as a missing one
    return found


def find_subscription(session: Session, *, owner: Owner, subscription_id: str) -> SubscriptionRead | None:
    """The owner's subscription, or None (also for another tenant's or app's)."""
    found = _owned(session, owner, subscription_id)
    return SubscriptionRead.model_validate(found) if found is not None else None


def list_subscriptions(session: Session, *, owner: Owner) -> list[SubscriptionRead]:
    """The subscriptions the owner created (expired ones too, until deleted), oldest first."""
    query = select(SubscriptionRecord).where(SubscriptionRecord.tenant_id == owner.tenant_id,
                                             SubscriptionRecord.application_id == owner.application_id)  # fmt: skip
    ordered = query.order_by(SubscriptionRecord.created_at, SubscriptionRecord.id)
    return [SubscriptionRead.model_validate(s) for s in session.scalars(ordered)]


def renew_subscription(
    session: Session, *, owner: Owner, subscription_id: str, expiration: datetime, actor: Actor,
    now: datetime | None = None,
) -> SubscriptionRead | None:  # fmt: skip
    """Move the owner's subscription's expiration (at most 43200 minutes ahead); audited. None if not found."""
    now = now or utc_now()
    found = _owned(session, owner, subscription_id)
    if found is None:
        return None
    found.expires_at, found.updated_at = _expiration(expiration, now), now
    record(session, actor=actor, action="subscription.renew", outcome="success", target=found.id,
           tenant_id=owner.tenant_id, detail={"expirationDateTime": found.expires_at.isoformat()})  # fmt: skip
    return SubscriptionRead.model_validate(found)


def delete_subscription(session: Session, *, owner: Owner, subscription_id: str, actor: Actor) -> bool:
    """Delete the owner's subscription and its deliveries (pending ones are never sent); audited."""
    found = _owned(session, owner, subscription_id)
    if found is None:
        return False
    session.execute(delete(DeliveryRecord).where(DeliveryRecord.subscription_id == found.id))
    session.delete(found)
    record(session, actor=actor, action="subscription.delete", outcome="success", target=subscription_id,
           tenant_id=owner.tenant_id)  # fmt: skip
    return True


def list_deliveries(
    session: Session, *, owner: Owner, subscription_id: str, limit: int = 100
) -> list[DeliveryRead] | None:
    """The subscription's deliveries, newest first (None if the owner has no such subscription)."""
    if _owned(session, owner, subscription_id) is None:
        return None
    query = select(DeliveryRecord).where(DeliveryRecord.subscription_id == subscription_id)
    ordered = query.order_by(DeliveryRecord.created_at.desc(), DeliveryRecord.id).limit(limit)
    return [DeliveryRead.model_validate(d) for d in session.scalars(ordered)]


def enqueue_changes(
    session: Session, *, tenant_id: str, change_type: str, alerts: Sequence[AlertRead] = (),
    incidents: Sequence[IncidentRead] = (), now: datetime | None = None,
) -> int:  # fmt: skip
    """One pending delivery per (live subscription of the tenant watching the change, changed object
    its filter selects), in the caller's transaction: a change and its notifications commit together.
    No network here. Returns the deliveries written."""
    now = now or utc_now()
    changed = {"alert": [a.id for a in alerts], "incident": [i.id for i in incidents]}
    if not any(changed.values()):
        return 0
    written = 0
    for subscription in _live(session, tenant_id, now):
        collection = COLLECTIONS[subscription.collection]
        ids = changed[collection.kind]
        if not ids or change_type not in subscription.change_types:
            continue
        if subscription.filter is not None:
            ids = _selected(session, subscription, ids)
        for object_id in ids:
            session.add(DeliveryRecord(
                subscription_id=subscription.id, tenant_id=tenant_id, change_type=change_type,
                resource=f"{collection.path}/{object_id}", resource_data=collection.resource_data(object_id),
                next_attempt_at=now, created_at=now, history=[], attempts=0, state="pending",
            ))  # fmt: skip
        written += len(ids)
    return written


def _selected(session: Session, subscription: SubscriptionRecord, ids: list[str]) -> list[str]:
    """The ids the subscription's filter selects. A filter that no longer evaluates (checked at
    creation, so only after an upgrade changed the field map) notifies nothing and is logged: it must
    never fail the change that is being made."""
    collection = COLLECTIONS[subscription.collection]
    try:
        selected = matching_ids(session, collection, subscription.filter or "", ids)
    except WatchkeeperError as exc:
        log.warning("subscription %s: its filter cannot be evaluated: %s", subscription.id, exc)
        return []
    return [i for i in ids if i in selected]


def _live(session: Session, tenant_id: str, now: datetime) -> list[SubscriptionRecord]:
    query = select(SubscriptionRecord).where(SubscriptionRecord.tenant_id == tenant_id,
                                             SubscriptionRecord.expires_at > now)  # fmt: skip
    return list(session.scalars(query))
