"""The sender: validation handshakes, and delivery of the outbox with retries.

Wire contract (``graph-security-api.md`` section 7): a new subscription's URL must answer
``POST {url}?validationToken=<token>`` within 10 s with 200, ``text/plain`` and the token; deliveries
are ``POST {url}`` with ``{"value": [changeNotification, ...]}`` (several notifications for one URL
in one request), each carrying the subscription's ``clientState`` so that the receiver can discard
what it did not ask for. Any 2xx is delivered; anything else (another status, no answer within the
timeout, no connection) is retried with exponential backoff until the retry period (Graph: 4 h) has
passed since the change, then dropped. Every attempt is kept in the delivery's history.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from watchkeeper.errors import InvalidRequestError
from watchkeeper.notifications.models import DeliveryRecord, SubscriptionRecord

__all__ = [
    "HANDSHAKE_TIMEOUT",
    "Attempt",
    "Batch",
    "RetryPolicy",
    "claim_due",
    "post_batch",
    "record_attempt",
    "validate_endpoint",
]

HANDSHAKE_TIMEOUT = 10.0  # seconds a receiver has to answer the validation request (Graph's limit)
BATCH_SIZE = 100  # notifications in one POST
CLAIM_LIMIT = 1000  # notifications one pass sends at most; the rest wait for the next pass


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a failed delivery is retried: ``base`` after the first failure, doubling
    up to ``cap``, while the next attempt falls within ``period`` of the change."""

    period: timedelta
    base: timedelta
    cap: timedelta = timedelta(minutes=30)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        doubled: timedelta = self.base * (2 ** min(attempts - 1, 16))
        return min(doubled, self.cap)


@dataclass(frozen=True)
class Batch:
    """Notifications for one URL, sent in one request."""

    url: str
    ids: tuple[str, ...]
    body: dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    """What one POST came to: the HTTP status, or the reason there was none."""

    status: int | None
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _with_query(url: str, name: str, value: str) -> str:
    """``url`` with one more query parameter; a query already on it is kept (Graph does)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{name}={quote(value, safe='')}"


def validate_endpoint(url: str, *, field: str, timeout: float = HANDSHAKE_TIMEOUT) -> None:
    """The validation handshake; InvalidRequestError saying what the receiver did wrong."""
    token = f"Validation: {secrets.token_urlsafe(24)}"
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(_with_query(url, "validationToken", token), headers=headers, content=b"")
    except httpx.TimeoutException:
        raise InvalidRequestError(f"{field} validation failed: no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise InvalidRequestError(
            f"{field} validation failed: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    problem = _handshake_problem(response, token)
    if problem is not None:
        raise InvalidRequestError(f"{field} validation failed: {problem}")


def _handshake_problem(response: httpx.Response, token: str) -> str | None:
    if response.status_code != 200:
        return f"the receiver answered HTTP {response.status_code}, not 200"
    if not response.headers.get("content-type", "").lower().startswith("text/plain"):
        return "the receiver's answer is not text/plain"
    if response.text != token:
        return "the receiver's answer is not the validationToken it was sent"
    return None


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _notification(delivery: DeliveryRecord, subscription: SubscriptionRecord) -> dict[str, Any]:
    return {
        "id": delivery.id, "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": _iso(subscription.expires_at), "changeType": delivery.change_type,
        "clientState": subscription.client_state, "resource": delivery.resource,
        "resourceData": delivery.resource_data, "tenantId": delivery.tenant_id,
    }  # fmt: skip


def claim_due(session: Session, *, now: datetime, lease: timedelta) -> list[Batch]:
    """The pending deliveries due at ``now``, batched by URL and held for ``lease`` (another sender
    skips them meanwhile; if this one dies they come due again). Deliveries whose subscription
    expired are closed as expired, never sent."""
    query = (
        select(DeliveryRecord, SubscriptionRecord)
        .join(SubscriptionRecord, DeliveryRecord.subscription_id == SubscriptionRecord.id)
        .where(DeliveryRecord.state == "pending", DeliveryRecord.next_attempt_at <= now)
        .order_by(DeliveryRecord.created_at, DeliveryRecord.id)
        .limit(CLAIM_LIMIT)
        .with_for_update(skip_locked=True, of=DeliveryRecord)
    )
    grouped: dict[str, list[tuple[DeliveryRecord, SubscriptionRecord]]] = defaultdict(list)
    for delivery, subscription in session.execute(query):
        if subscription.expires_at <= now:
            _close(delivery, "expired", now, {"at": _iso(now), "error": "the subscription expired"})
            continue
        if _hold(session, delivery, until=now + lease):
            grouped[subscription.notification_url].append((delivery, subscription))
    return [batch for url, pairs in grouped.items() for batch in _batches(url, pairs)]


def _hold(session: Session, delivery: DeliveryRecord, *, until: datetime) -> bool:
    """Take the delivery for this sender until ``until``: one conditional UPDATE, so that of two
    senders that read it pending (SQLite has no SKIP LOCKED) only one sends it."""
    taken = session.execute(
        update(DeliveryRecord)
        .where(
            DeliveryRecord.id == delivery.id,
            DeliveryRecord.state == "pending",
            DeliveryRecord.next_attempt_at == delivery.next_attempt_at,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        session.expunge(delivery)
        return False
    session.refresh(delivery)
    return True


def _batches(url: str, pairs: list[tuple[DeliveryRecord, SubscriptionRecord]]) -> Iterable[Batch]:
    for start in range(0, len(pairs), BATCH_SIZE):
        part = pairs[start : start + BATCH_SIZE]
        body = {"value": [_notification(d, s) for d, s in part]}
        yield Batch(url, tuple(d.id for d, _ in part), body)


def post_batch(client: httpx.Client, batch: Batch) -> Attempt:
    """POST one batch; never raises (a failure is an :class:`Attempt` with its reason)."""
    started = time.perf_counter()
    try:
        response = client.post(batch.url, json=batch.body)
    except httpx.TimeoutException:
        return Attempt(None, "no answer within the timeout", time.perf_counter() - started)
    except httpx.HTTPError as exc:
        return Attempt(None, f"{type(exc).__name__}: {str(exc)[:200]}", time.perf_counter() - started)
    status = response.status_code
    error = None if 200 <= status < 300 else f"HTTP {status}"
    return Attempt(status, error, time.perf_counter() - started)


def record_attempt(
    session: Session, batch: Batch, attempt: Attempt, *, now: datetime, policy: RetryPolicy
) -> None:
    """Add the attempt to each delivery's history; delivered, retried later, or dropped past the period."""
    entry = {"at": _iso(now), "status": attempt.status, "error": attempt.error,
             "durationMs": round(attempt.seconds * 1000)}  # fmt: skip
    rows = session.scalars(select(DeliveryRecord).where(DeliveryRecord.id.in_(batch.ids)))
    for delivery in rows:  # a delivery of a subscription deleted meanwhile is gone: nothing to record
        if delivery.state != "pending":
            continue
        delivery.attempts += 1
        if attempt.delivered:
            _close(delivery, "delivered", now, entry)
            continue
        retry_at = now + policy.delay(delivery.attempts)
        if retry_at > delivery.created_at + policy.period:
            _close(delivery, "dropped", now, {**entry, "dropped": "the retry period is over"})
        else:
            delivery.next_attempt_at = retry_at
            delivery.history = [*delivery.history, entry]


def _close(delivery: DeliveryRecord, state: str, now: datetime, entry: dict[str, Any]) -> None:
    delivery.state, delivery.finished_at = state, now
    delivery.next_attempt_at = now
    delivery.history = [*delivery.history, entry]
