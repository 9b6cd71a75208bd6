"""Change notifications (Graph webhooks): subscriptions to a tenant's alerts and incidents, an outbox
of pending deliveries written with each change, and the sender that drains it with retries."""

from watchkeeper.notifications.delivery import (
    Attempt,
    Batch,
    RetryPolicy,
    claim_due,
    post_batch,
    record_attempt,
    validate_endpoint,
)
from watchkeeper.notifications.models import (
    DeliveryRead,
    DeliveryRecord,
    SubscriptionCreate,
    SubscriptionRead,
    SubscriptionRecord,
    SubscriptionRenewal,
)
from watchkeeper.notifications.resources import COLLECTIONS, parse_resource
from watchkeeper.notifications.service import (
    Owner,
    check_new_subscription,
    create_subscription,
    delete_subscription,
    enqueue_changes,
    find_subscription,
    list_deliveries,
    list_subscriptions,
    renew_subscription,
)

__all__ = [
    "COLLECTIONS",
    "Attempt",
    "Batch",
    "DeliveryRead",
    "DeliveryRecord",
    "Owner",
    "RetryPolicy",
    "SubscriptionCreate",
    "SubscriptionRead",
    "SubscriptionRecord",
    "SubscriptionRenewal",
    "check_new_subscription",
    "claim_due",
    "create_subscription",
    "delete_subscription",
    "enqueue_changes",
    "find_subscription",
    "list_deliveries",
    "list_subscriptions",
    "parse_resource",
    "post_batch",
    "record_attempt",
    "renew_subscription",
    "validate_endpoint",
]
