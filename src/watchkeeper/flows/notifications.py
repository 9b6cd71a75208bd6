"""Change notifications across the layers: subscribing (checks, the validation handshake, then the
stored subscription) and one delivery pass of the outbox, which the server runs every
``notification_tick`` seconds in the background; the network is touched only here, never on the
path that changes an alert or incident (that path only writes the outbox, see ``flows.cases``)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.orm import Session

from watchkeeper.audit import Actor
from watchkeeper.cases import AlertRead, IncidentRead
from watchkeeper.notifications import (
    Attempt,
    Batch,
    Owner,
    RetryPolicy,
    SubscriptionCreate,
    SubscriptionRead,
    check_new_subscription,
    claim_due,
    create_subscription,
    enqueue_changes,
    post_batch,
    record_attempt,
    validate_endpoint,
)
from watchkeeper.runtime import Runtime
from watchkeeper.settings import Settings
from watchkeeper.state import utc_now

__all__ = ["DeliveryPass", "deliver_due", "enqueue_raised", "retry_policy", "subscribe"]

SENDERS = 8  # URLs posted to at once in one pass: a slow receiver holds up only its own batches


def subscribe(runtime: Runtime, actor: Actor, owner: Owner, spec: SubscriptionCreate) -> SubscriptionRead:
    """Check the subscription, run the validation handshake on its URL(s), then store it."""
    allow_http = runtime.settings.notification_http_loopback
    check_new_subscription(spec, now=utc_now(), allow_http_loopback=allow_http)
    validate_endpoint(spec.notification_url, field="notificationUrl")
    if spec.lifecycle_notification_url is not None:
        validate_endpoint(spec.lifecycle_notification_url, field="lifecycleNotificationUrl")
    with runtime.database.session() as session:
        return create_subscription(session, owner=owner, spec=spec, actor=actor)


def enqueue_raised(
    session: Session, *, tenant_id: str, alerts: Sequence[AlertRead], incidents: Sequence[IncidentRead | None],
    now: datetime,
) -> None:  # fmt: skip
    """Notifications for alerts just raised at ``now`` (created) and the incidents they joined: created
    when the raise made them, updated when they existed; written in the raise's transaction."""
    placed = [i for i in incidents if i is not None]
    made = [i for i in placed if i.created_at == now]
    grown = [i for i in placed if i.created_at != now]
    enqueue_changes(
        session, tenant_id=tenant_id, change_type="created", alerts=alerts, incidents=made, now=now
    )
    enqueue_changes(session, tenant_id=tenant_id, change_type="updated", incidents=grown, now=now)


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry policy the settings configure."""
    return RetryPolicy(period=timedelta(hours=settings.notification_retry_hours),
                       base=timedelta(seconds=settings.notification_retry_base))  # fmt: skip


@dataclass(frozen=True)
class DeliveryPass:
    """What one pass did: requests sent and how many of them were answered with a 2xx."""

    requests: int
    delivered: int


def deliver_due(runtime: Runtime, *, now: datetime | None = None) -> DeliveryPass:
    """Send every notification due at ``now`` (batched per URL, URLs in parallel) and record each
    attempt. ``now`` is the pass's clock (tests move it to walk through the retry schedule)."""
    now = now or utc_now()
    settings = runtime.settings
    with runtime.database.session() as session:
        batches = claim_due(session, now=now, lease=timedelta(seconds=settings.notification_timeout * 4 + 60))
    if not batches:
        return DeliveryPass(0, 0)
    client = httpx.Client(timeout=settings.notification_timeout, follow_redirects=False)
    with client, ThreadPoolExecutor(max_workers=min(SENDERS, len(batches))) as pool:
        attempts = list(pool.map(lambda batch: post_batch(client, batch), batches))
    _record(runtime, batches, attempts, now)
    return DeliveryPass(len(batches), sum(a.delivered for a in attempts))


def _record(runtime: Runtime, batches: list[Batch], attempts: list[Attempt], now: datetime) -> None:
    policy = retry_policy(runtime.settings)
    with runtime.database.session() as session:
        for batch, attempt in zip(batches, attempts, strict=True):
            record_attempt(session, batch, attempt, now=now, policy=policy)
